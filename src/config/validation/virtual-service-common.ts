// Rules shared by the networking validators (VirtualService, DestinationRule): Istio's duration
// and percentage checks, proto oneof groups, unsigned counters and the exportTo rules of
// networking objects.
import { parseDuration } from "../../base/duration.ts";
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkDuration, checkExportTo, type DurationRule, type Obj, present } from "./rules.ts";

/**
 * `agent.ValidateDuration`: at least 1ms and a whole number of milliseconds (Envoy's
 * timeouts have millisecond precision). `allowZero` admits an explicit "0s".
 */
export function checkIstioDuration(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  rule: DurationRule = {},
): boolean {
  if (!present(value)) return true;
  if (!checkDuration(ctx, path, value, rule)) return false;
  const parsed = parseDuration(value as string);
  if (parsed.ok && Math.abs(parsed.ms - Math.round(parsed.ms)) > 1e-6) {
    ctx.error(
      path,
      "CREMA_VALIDATION_DURATION",
      `duration ${String(value)} is finer than Istio supports; use whole milliseconds (e.g. "2ms")`,
    );
    return false;
  }
  return true;
}

/**
 * `validatePercentage` for fault injection: 0, or from 0.0001 to 100 (Envoy keeps parts per
 * million, so smaller non-zero values would silently become 0).
 */
export function checkFractionalPercent(
  ctx: ValidationContext,
  path: FieldPath,
  percent: unknown,
): void {
  if (typeof percent !== "object" || percent === null) return;
  const value = (percent as Obj).value;
  if (typeof value !== "number") return;
  if (value < 0 || value > 100 || (value > 0 && value < 0.0001)) {
    ctx.error(
      [...path, "value"],
      "CREMA_VALIDATION_RANGE",
      `percentage ${value} is out of range; use 0 or a number from 0.0001 to 100`,
    );
  }
}

/** Fields of one proto oneof: at most one may be set. Reports at the second one set. */
export function checkOneOf(
  ctx: ValidationContext,
  path: FieldPath,
  obj: Obj,
  fields: readonly string[],
): string | undefined {
  const set = fields.filter((f) => present(obj[f]));
  if (set.length > 1) {
    ctx.error(
      [...path, set[1]!],
      "CREMA_VALIDATION_EXCLUSIVE",
      `only one of ${fields.join(", ")} may be set; found both ${set[0]} and ${set[1]}`,
    );
  }
  return set[0];
}

/** A proto `uint32`/`int32` counter that must not be negative. */
export function checkNonNegative(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  what: string,
): void {
  if (typeof value === "number" && value < 0) {
    ctx.error(path, "CREMA_VALIDATION_RANGE", `${what} must not be negative (got ${value})`);
  }
}

/**
 * exportTo of networking objects: the shared rules, plus Istio's own: "~" is only for
 * ServiceEntry, and "." duplicates the object's own namespace.
 */
export function checkNetworkingExportTo(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
): boolean {
  if (!Array.isArray(value)) return true;
  let ok = checkExportTo(ctx, path, value);
  const namespace = ctx.resource.namespace;
  value.forEach((entry, i) => {
    if (entry === "~") {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_INVALID",
        `exportTo "~" (visible to no one) is only allowed in a ServiceEntry; use "." to keep it in this namespace`,
      );
      ok = false;
    }
  });
  if (namespace && value.includes(".") && value.includes(namespace)) {
    ctx.error(
      [...path, value.indexOf(namespace)],
      "CREMA_VALIDATION_DUPLICATE",
      `exportTo lists both "." and this resource's own namespace ${JSON.stringify(namespace)}`,
    );
    ok = false;
  }
  return ok;
}
