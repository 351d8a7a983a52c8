// Field-level rules shared by the kind validators: durations, ports, ranges, regexes,
// addresses, selectors, exportTo. Each takes the context, the path and the value, reports
// what is wrong, and returns whether the value is valid.
import { createRequire } from "node:module";
import { isIP } from "node:net";
import { parseDuration } from "../../base/duration.ts";
import { parseLiteralGlob } from "../../base/literal-glob.ts";
import type { FieldPath } from "../diagnostic.ts";
import { isDns1123Label, labelKeyProblem, labelValueProblem } from "../metadata-rules.ts";
import type { ValidationContext } from "./context.ts";

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Array elements with their indexes; [] when absent or not an array. */
export function items(value: unknown): Array<[unknown, number]> {
  return Array.isArray(value) ? value.map((v, i) => [v, i]) : [];
}

/** Object elements of an array with their indexes. */
export function objects(value: unknown): Array<[Obj, number]> {
  return items(value).filter((entry): entry is [Obj, number] => isObj(entry[0]));
}

export function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

export interface DurationRule {
  /** Smallest allowed value in ms (Istio: 1 ms for most durations). */
  minMs?: number;
  allowZero?: boolean;
  maxMs?: number;
}

export function checkDuration(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  rule: DurationRule = {},
): boolean {
  if (!present(value)) return true;
  const minMs = rule.minMs ?? 1;
  const parsed = typeof value === "string" ? parseDuration(value) : undefined;
  if (!parsed?.ok) {
    ctx.error(
      path,
      "CREMA_VALIDATION_DURATION",
      `${JSON.stringify(value)} is not a duration; write e.g. "500ms" or "2s"`,
    );
    return false;
  }
  if (parsed.ms === 0 && rule.allowZero) return true;
  if (parsed.ms < minMs) {
    ctx.error(
      path,
      "CREMA_VALIDATION_DURATION",
      `duration ${value} is too short; the minimum is ${minMs >= 1000 ? `${minMs / 1000}s` : `${minMs}ms`}`,
    );
    return false;
  }
  if (rule.maxMs !== undefined && parsed.ms > rule.maxMs) {
    ctx.error(
      path,
      "CREMA_VALIDATION_DURATION",
      `duration ${value} is too long; the maximum is ${rule.maxMs / 1000}s`,
    );
    return false;
  }
  return true;
}

export function checkPort(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  { allowZero = false } = {},
): boolean {
  if (!present(value)) return true;
  const low = allowZero ? 0 : 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < low || value > 65535) {
    ctx.error(
      path,
      "CREMA_VALIDATION_PORT",
      `port ${JSON.stringify(value)} is invalid; use an integer from ${low} to 65535`,
    );
    return false;
  }
  return true;
}

/** Checks a number lies in [min, max]. */
export function checkRange(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  min: number,
  max: number,
  what = "value",
): boolean {
  if (!present(value)) return true;
  if (typeof value !== "number" || Number.isNaN(value) || value < min || value > max) {
    ctx.error(
      path,
      "CREMA_VALIDATION_RANGE",
      `${what} ${JSON.stringify(value)} is out of range; use a number from ${min} to ${max}`,
    );
    return false;
  }
  return true;
}

let re2: typeof import("re2-wasm") | undefined;

/**
 * re2-wasm compiles its WebAssembly as it loads (a tenth of a second of CPU): loaded for the first
 * regex that is not plain text joined by wildcards, which most configurations never have.
 */
function re2Module(): typeof import("re2-wasm") {
  re2 ??= createRequire(import.meta.url)("re2-wasm") as typeof import("re2-wasm");
  return re2;
}

export function checkRegex(ctx: ValidationContext, path: FieldPath, value: unknown): boolean {
  if (typeof value !== "string") return true;
  if (parseLiteralGlob(value) !== undefined) return true;
  try {
    new (re2Module().RE2)(value, "u");
    return true;
  } catch (error) {
    const reason = (error as Error).message.replace(/^Invalid regular expression: \/.*\/u: /s, "");
    ctx.error(
      path,
      "CREMA_VALIDATION_REGEX",
      `regex ${JSON.stringify(value)} is not valid RE2 (${reason}); RE2 has no backreferences or lookaround`,
    );
    return false;
  }
}

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** Reason a CIDR block or IP address is invalid, or undefined. */
export function cidrProblem(value: string): string | undefined {
  const slash = value.indexOf("/");
  const address = slash < 0 ? value : value.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return `${JSON.stringify(address)} is not an IP address`;
  if (slash < 0) return undefined;
  const bits = value.slice(slash + 1);
  const max = family === 4 ? 32 : 128;
  if (!/^\d+$/.test(bits) || Number(bits) > max)
    return `prefix length ${JSON.stringify(bits)} must be 0–${max}`;
  return undefined;
}

export function checkCidr(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
  { allowCidr = true } = {},
): boolean {
  if (typeof value !== "string") return true;
  const problem = allowCidr
    ? cidrProblem(value)
    : isIpAddress(value)
      ? undefined
      : `${JSON.stringify(value)} is not an IP address`;
  if (problem) {
    ctx.error(
      path,
      "CREMA_VALIDATION_ADDRESS",
      `invalid ${allowCidr ? "IP address or CIDR" : "IP address"}: ${problem}`,
    );
    return false;
  }
  return true;
}

/** Label map of a selector (`matchLabels`, subset `labels`, workload `labels`). */
export function checkLabels(ctx: ValidationContext, path: FieldPath, value: unknown): boolean {
  if (!isObj(value)) return true;
  let ok = true;
  for (const [key, raw] of Object.entries(value)) {
    const problem =
      labelKeyProblem(key) ??
      (typeof raw === "string" ? labelValueProblem(raw) : "label values are strings");
    if (problem) {
      ctx.error([...path, key], "CREMA_VALIDATION_LABELS", problem);
      ok = false;
    }
  }
  return ok;
}

/** Workload selector: `matchLabels` must be non-empty when the selector is given. */
export function checkWorkloadSelector(
  ctx: ValidationContext,
  path: FieldPath,
  value: unknown,
): boolean {
  if (!isObj(value)) return true;
  const labels = value.matchLabels;
  if (!isObj(labels) || Object.keys(labels).length === 0) {
    ctx.error(
      [...path, "matchLabels"],
      "CREMA_VALIDATION_LABELS",
      "a selector needs at least one label in matchLabels",
    );
    return false;
  }
  for (const [key, raw] of Object.entries(labels)) {
    if (key.includes("*") || (typeof raw === "string" && raw.includes("*"))) {
      ctx.error(
        [...path, "matchLabels", key],
        "CREMA_VALIDATION_LABELS",
        "wildcards are not allowed in selector labels",
      );
      return false;
    }
  }
  return checkLabels(ctx, [...path, "matchLabels"], labels);
}

/** `exportTo` entries: ".", "*", "~" or a namespace name; "~" and "*" stand alone. */
export function checkExportTo(ctx: ValidationContext, path: FieldPath, value: unknown): boolean {
  if (!Array.isArray(value)) return true;
  let ok = true;
  const seen = new Set<string>();
  value.forEach((entry, i) => {
    if (typeof entry !== "string") return;
    if (seen.has(entry)) {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_DUPLICATE",
        `exportTo lists ${JSON.stringify(entry)} twice`,
      );
      ok = false;
    }
    seen.add(entry);
    if (entry !== "." && entry !== "*" && entry !== "~" && !isDns1123Label(entry)) {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_NAME",
        `exportTo entry ${JSON.stringify(entry)} must be ".", "*", "~" or a namespace name`,
      );
      ok = false;
    }
  });
  if ((seen.has("*") || seen.has("~")) && seen.size > 1) {
    ctx.error(
      path,
      "CREMA_VALIDATION_INVALID",
      `"*" and "~" cannot be combined with other exportTo entries`,
    );
    ok = false;
  }
  return ok;
}
