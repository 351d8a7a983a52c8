// The interface every kind's semantic validator implements: read the resource, report
// findings at field paths. Validators are pure: no I/O, no shared state.
import type { ErrorCode } from "../../base/errors.ts";
import type { FieldPath } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";

export interface ValidationContext {
  readonly resource: Resource;
  error(path: FieldPath, code: ErrorCode, message: string): void;
  warn(path: FieldPath, code: ErrorCode, message: string): void;
}

/** Checks one kind's spec (level 2: Istio's validating-webhook rules). */
export type KindValidator = (spec: Record<string, unknown>, ctx: ValidationContext) => void;
