// envoy.type.matcher.v3.MetadataMatcher / ValueMatcher over a request's dynamic metadata (plain
// JSON per filter name): how Istio routes on JWT claims (`@request.auth.claims.*` matches).
import { type Fields, isObject } from "./decode-reader.ts";
import { decodeStringMatcher } from "./string-matcher.ts";
import type { MetadataMatch, RouteRequest } from "./types.ts";

type ValueTest = (value: unknown) => boolean;

const VALUE_KINDS = [
  "null_match",
  "double_match",
  "string_match",
  "bool_match",
  "present_match",
  "list_match",
  "or_match",
] as const;

function decodeDoubleMatcher(f: Fields): ValueTest | undefined {
  const kind = f.oneof(["range", "exact"]);
  let test: ValueTest | undefined;
  if (kind === "exact") {
    const exact = f.raw("exact");
    if (typeof exact !== "number") f.error("expected a number", "exact");
    else test = (v) => v === exact;
  } else if (kind === "range") {
    const range = f.object("range");
    const start = range?.raw("start") ?? 0;
    const end = range?.raw("end") ?? 0;
    if (typeof start !== "number" || typeof end !== "number") f.error("expected numbers", "range");
    else test = (v) => typeof v === "number" && v >= start && v < end;
    range?.finish();
  } else {
    f.error("one of range, exact is required");
  }
  f.finish();
  return test;
}

export function decodeValueMatcher(f: Fields): ValueTest | undefined {
  const kind = f.oneof(VALUE_KINDS);
  let test: ValueTest | undefined;
  switch (kind) {
    case "null_match":
      f.object("null_match")?.finish();
      test = (v) => v === null;
      break;
    case "double_match": {
      const sub = f.object("double_match");
      test = sub && decodeDoubleMatcher(sub);
      break;
    }
    case "string_match": {
      const sub = f.object("string_match");
      const matcher = sub && decodeStringMatcher(sub);
      if (matcher) test = (v) => typeof v === "string" && matcher.match(v);
      break;
    }
    case "bool_match": {
      const expected = f.bool("bool_match");
      test = (v) => v === expected;
      break;
    }
    case "present_match": {
      const present = f.bool("present_match");
      test = (v) => present && v !== undefined;
      break;
    }
    case "list_match": {
      const list = f.object("list_match");
      const oneOf = list?.object("one_of");
      if (list && !oneOf) list.error("one_of is required");
      const inner = oneOf && decodeValueMatcher(oneOf);
      list?.finish();
      if (inner) test = (v) => Array.isArray(v) && v.some((item) => inner(item));
      break;
    }
    case "or_match": {
      const or = f.object("or_match");
      const inner = (or?.objects("value_matchers") ?? []).map(decodeValueMatcher);
      if (or && inner.length < 2) or.error("at least 2 value_matchers are required");
      or?.finish();
      if (inner.every((t) => t !== undefined)) {
        const tests = inner as ValueTest[];
        test = (v) => tests.some((t) => t(v));
      }
      break;
    }
    case undefined:
      f.error(`one of ${VALUE_KINDS.join(", ")} is required`);
  }
  f.finish();
  return test;
}

export function decodeMetadataMatcher(f: Fields): MetadataMatch | undefined {
  const filter = f.string("filter", 1);
  const path: string[] = [];
  for (const segment of f.objects("path")) {
    path.push(segment.string("key", 1));
    segment.finish();
  }
  if (path.length === 0) f.error("at least one path segment is required", "path");
  const valueFields = f.object("value");
  if (!valueFields) f.error("is required", "value");
  const value = valueFields && decodeValueMatcher(valueFields);
  const invert = f.bool("invert");
  f.finish();
  return value && filter && path.length > 0 ? { filter, path, value, invert } : undefined;
}

/** The metadata value at `path` under `filter`, or undefined (Envoy's KIND_NOT_SET). */
function metadataValue(
  metadata: Readonly<Record<string, unknown>> | undefined,
  m: MetadataMatch,
): unknown {
  let value: unknown = metadata?.[m.filter];
  for (const key of m.path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

export function matchDynamicMetadata(
  matchers: readonly MetadataMatch[],
  req: RouteRequest,
): boolean {
  for (const m of matchers) {
    if (m.value(metadataValue(req.dynamicMetadata, m)) === m.invert) return false;
  }
  return true;
}
