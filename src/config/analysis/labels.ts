// Label maps and equality-based selectors, as Kubernetes and Istio match workloads.
import { isObj } from "../validation/rules.ts";

export type Labels = Readonly<Record<string, string>>;

/** The string entries of a YAML mapping (non-string values are ignored); {} when absent. */
export function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObj(value)) return out;
  for (const [key, raw] of Object.entries(value)) if (typeof raw === "string") out[key] = raw;
  return out;
}

/** The string elements of a YAML list; [] when absent. */
export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Every selector label is present with the same value (an empty selector matches anything). */
export function selectorMatches(selector: Labels, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector)) if (labels[key] !== value) return false;
  return true;
}

export function isEmpty(labels: Labels): boolean {
  return Object.keys(labels).length === 0;
}

/** `app=reviews,version=v1`, keys sorted, as kubectl prints selectors. */
export function formatSelector(selector: Labels): string {
  return Object.keys(selector)
    .sort()
    .map((key) => `${key}=${selector[key]}`)
    .join(",");
}
