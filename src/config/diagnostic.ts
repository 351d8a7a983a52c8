// A diagnostic is one finding about the input: a code from the error catalogue, a severity,
// the resource and field it concerns, where in the source it is, and a message that says how
// to fix it. Every level (reading, schema, semantics, analysis) produces the same shape.
import type { ErrorCode } from "../base/errors.ts";

export type Severity = "error" | "warning" | "info";

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

export type FieldPath = ReadonlyArray<string | number>;

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export interface ResourceRef {
  kind: string;
  namespace?: string;
  name: string;
}

export interface Diagnostic {
  code: ErrorCode;
  severity: Severity;
  message: string;
  resource?: ResourceRef;
  /** Field path such as `spec.http[0].route[1].weight`; absent for whole-file findings. */
  path?: string;
  position?: SourcePosition;
}

/** Formats a path array as `spec.http[0].route[1].weight`. */
export function formatFieldPath(path: FieldPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out ? `.${segment}` : segment;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function formatResourceRef(ref: ResourceRef): string {
  return ref.namespace ? `${ref.kind} ${ref.namespace}/${ref.name}` : `${ref.kind} ${ref.name}`;
}

/** Stable order for output: file, line, column, then code. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  const fa = a.position?.file ?? "";
  const fb = b.position?.file ?? "";
  if (fa !== fb) return fa < fb ? -1 : 1;
  const la = a.position?.line ?? 0;
  const lb = b.position?.line ?? 0;
  if (la !== lb) return la - lb;
  const ca = a.position?.column ?? 0;
  const cb = b.position?.column ?? 0;
  if (ca !== cb) return ca - cb;
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}
