// envoy.type.matcher.v3.StringMatcher / RegexMatcher → a compiled predicate, as Envoy's
// StringMatcherImpl: exact, prefix, suffix, contains (each optionally ignore_case) or a
// safe_regex that must match the whole value.
import type { Fields } from "./decode-reader.ts";
import { compileFullMatch } from "./re2.ts";
import type { StringMatch } from "./types.ts";

const KINDS = ["exact", "prefix", "suffix", "safe_regex", "contains", "custom"] as const;

/** Decodes a RegexMatcher (`{regex, google_re2?}`) into a full-match predicate. */
export function decodeRegexMatcher(f: Fields): StringMatch | undefined {
  f.skip("google_re2");
  const regex = f.string("regex", 1);
  f.finish();
  if (!regex) return undefined;
  const compiled = compileFullMatch(regex, f.ctx.regexes);
  if (!compiled.ok) {
    f.error(`invalid RE2 regex ${JSON.stringify(regex)}: ${compiled.reason}`, "regex");
    return undefined;
  }
  return { description: `safe_regex ${JSON.stringify(regex)}`, match: compiled.test };
}

/** Decodes a StringMatcher; undefined (with errors recorded) when it is invalid. */
export function decodeStringMatcher(f: Fields): StringMatch | undefined {
  const kind = f.oneof(KINDS);
  const ignoreCase = f.bool("ignore_case");
  if (kind === undefined) {
    f.error(`one of ${KINDS.slice(0, 5).join(", ")} is required`);
    f.finish();
    return undefined;
  }
  if (kind === "custom") {
    f.unsupported("custom", "custom string matcher extensions are not supported");
    f.finish();
    return undefined;
  }
  if (kind === "safe_regex") {
    if (ignoreCase) f.error("ignore_case has no effect for safe_regex", "ignore_case");
    const regex = f.object("safe_regex");
    f.finish();
    return regex ? decodeRegexMatcher(regex) : undefined;
  }
  const value = f.string(kind, kind === "exact" ? 0 : 1);
  f.finish();
  return stringMatch(kind, value, ignoreCase);
}

/** A compiled literal matcher (used directly by the deprecated HeaderMatcher fields too). */
export function stringMatch(
  kind: "exact" | "prefix" | "suffix" | "contains",
  value: string,
  ignoreCase: boolean,
): StringMatch {
  const description = `${kind}${ignoreCase ? " (ignore case)" : ""} ${JSON.stringify(value)}`;
  if (!ignoreCase) {
    switch (kind) {
      case "exact":
        return { description, match: (v) => v === value };
      case "prefix":
        return { description, match: (v) => v.startsWith(value) };
      case "suffix":
        return { description, match: (v) => v.endsWith(value) };
      case "contains":
        return { description, match: (v) => v.includes(value) };
    }
  }
  const lower = value.toLowerCase();
  switch (kind) {
    case "exact":
      return {
        description,
        match: (v) => v.length === lower.length && v.toLowerCase() === lower,
      };
    case "prefix":
      return {
        description,
        match: (v) => v.length >= lower.length && v.slice(0, lower.length).toLowerCase() === lower,
      };
    case "suffix":
      return {
        description,
        match: (v) =>
          v.length >= lower.length && v.slice(v.length - lower.length).toLowerCase() === lower,
      };
    case "contains":
      return { description, match: (v) => v.toLowerCase().includes(lower) };
  }
}
