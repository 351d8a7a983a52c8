// Small readers for Istio config values (plain YAML objects) used by the route translation:
// typed field access, durations in protobuf-JSON form, and Istio's percent conversions.
import { formatDuration, parseDuration } from "../../base/duration.ts";
import type { JsonObject } from "../../xds/proto-json.ts";

export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The object entries of a YAML list; [] when absent. */
export function objs(value: unknown): Obj[] {
  return Array.isArray(value) ? value.filter(isObj) : [];
}

export function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

export function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** A map of string values (header / query / label maps); entries keep insertion order. */
export function stringRecord(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(value)) return out;
  for (const [key, raw] of Object.entries(value)) if (typeof raw === "string") out[key] = raw;
  return out;
}

/** An Istio duration ("1.5s", "300ms", "1m") as protobuf JSON ("1.5s"); undefined when invalid. */
export function durationJson(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const parsed = parseDuration(value);
  return parsed.ok ? formatDuration(parsed.ms) : undefined;
}

/** Whole seconds of an Istio duration, as Istio's `Duration.GetSeconds()`. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const parsed = parseDuration(value);
  return parsed.ok ? Math.trunc(parsed.ms / 1000) : undefined;
}

/** Istio's translatePercentToFractionalPercent: `uint32(value * 10000)` per million. */
export function percentToFractional(percent: Obj): JsonObject {
  return { numerator: Math.trunc(num(percent.value) * 10_000), denominator: "MILLION" };
}

/** Istio's translateIntegerToFractionalPercent: an integer percent per hundred. */
export function integerToFractional(percent: number): JsonObject {
  return { numerator: Math.trunc(percent), denominator: "HUNDRED" };
}

/** Sorted copy of string keys, for deterministic output where Istio iterates a Go map. */
export function sortedKeys(record: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
