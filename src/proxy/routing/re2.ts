// RE2 (re2-wasm), compiled once at decode time: Envoy's safe_regex full-match semantics, RE2's
// GlobalReplace with `\N` substitutions for regex rewrites, and a literal pre-check that skips the
// (comparatively slow, ~2–5 µs) WebAssembly call whenever a plain string comparison decides.
// Literal globs (`.*Firefox.*`) never need re2-wasm at all, so it is not even loaded for them.
import type { RE2 } from "re2-wasm";
import {
  type LiteralGlob,
  literalGlobDecides,
  literalGlobMatches,
  parseLiteralGlob,
} from "../../base/literal-glob.ts";
import { type Re2Lease, withTemporaryRe2 } from "./re2-pool.ts";

/** "invalid RE2 regex "x": reason" for decode errors; undefined when the pattern compiles. */
export function re2Problem(pattern: string): string | undefined {
  if (parseLiteralGlob(pattern) !== undefined) return undefined;
  const compiled = withTemporaryRe2(pattern, "u", () => true);
  return compiled.ok
    ? undefined
    : `invalid RE2 regex ${JSON.stringify(pattern)}: ${compiled.reason}`;
}

// Characters that are literal in RE2 outside a class; anything else ends the literal run.
const LITERAL = /[A-Za-z0-9/_\-:=,;@~%&!'"<> #]/;
const QUANTIFIER = /[*+?{]/;

/** The literal text every full match must start with. */
export function literalPrefix(pattern: string): string {
  if (pattern.includes("|")) return "";
  let i = pattern.startsWith("^") ? 1 : 0;
  const start = i;
  while (i < pattern.length && LITERAL.test(pattern[i]!)) i++;
  const prefix = pattern.slice(start, i);
  const rest = pattern.slice(i);
  return rest !== "" && QUANTIFIER.test(rest[0]!) ? prefix.slice(0, -1) : prefix;
}

/**
 * A full-match test for `pattern` (Envoy's safe_regex: the whole value must match), or the reason
 * the pattern is not valid RE2. The compiled regex is held by `lease`.
 */
export function compileFullMatch(
  pattern: string,
  lease: Re2Lease,
): { ok: true; test: (value: string) => boolean } | { ok: false; reason: string } {
  const glob = parseLiteralGlob(pattern);
  if (glob !== undefined) return { ok: true, test: literalGlobTest(pattern, glob, lease) };
  const prefix = literalPrefix(pattern);
  const anchored = lease.acquire(`^(?:${pattern})$`, "u");
  if (!anchored.ok) {
    // Report the error against the pattern as written, not the anchored wrapper.
    const plain = withTemporaryRe2(pattern, "u", () => true);
    return plain.ok ? anchored : plain;
  }
  const re = anchored.re;
  if (prefix === "") return { ok: true, test: (value) => re.test(value) };
  return { ok: true, test: (value) => value.startsWith(prefix) && re.test(value) };
}

/**
 * Decides by string search, and compiles the pattern (held by `lease`) only for the first subject
 * string search cannot decide, so a configuration of literal globs never loads re2-wasm.
 */
function literalGlobTest(
  pattern: string,
  glob: LiteralGlob,
  lease: Re2Lease,
): (value: string) => boolean {
  const anchoredPattern = `^(?:${pattern})$`;
  let re: RE2 | undefined;
  const withRe2 = (value: string): boolean => {
    if (re === undefined) {
      const anchored = lease.acquire(anchoredPattern, "u");
      // The pattern is valid, so only the live-regex cap can refuse it: test without keeping it.
      if (!anchored.ok) {
        const once = withTemporaryRe2(anchoredPattern, "u", (temporary) => temporary.test(value));
        return once.ok && once.value;
      }
      re = anchored.re;
    }
    return re.test(value);
  };
  return (value) =>
    literalGlobDecides(glob, value) ? literalGlobMatches(glob, value) : withRe2(value);
}

/** How many capturing groups `pattern` has (matches `(?:pattern)|` against "" to see them all). */
function groupCount(pattern: string): number {
  const probe = withTemporaryRe2(`(?:${pattern})|`, "u", (re) => (re.exec("")?.length ?? 1) - 1);
  return probe.ok ? probe.value : 0;
}

/** A parsed RE2 rewrite string: literals and capture-group numbers (`\0` is the whole match). */
type Rewrite = readonly (string | number)[];

function parseRewrite(substitution: string, groups: number): Rewrite | string {
  const parts: (string | number)[] = [];
  let literal = "";
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i]!;
    if (c !== "\\") {
      literal += c;
      continue;
    }
    const next = substitution[i + 1];
    i++;
    if (next === "\\") {
      literal += "\\";
    } else if (next !== undefined && next >= "0" && next <= "9") {
      const group = Number(next);
      if (group > groups) {
        return `substitution references \\${group} but the regex has ${groups} capture group(s)`;
      }
      if (literal) parts.push(literal);
      literal = "";
      parts.push(group);
    } else {
      return `invalid rewrite escape "\\${next ?? ""}" (RE2 allows \\0–\\9 and \\\\)`;
    }
  }
  if (literal) parts.push(literal);
  return parts;
}

/** RE2::GlobalReplace(pattern, substitution) as Envoy applies it; the regex is held by `lease`. */
export function compileSubstitution(
  pattern: string,
  substitution: string,
  lease: Re2Lease,
):
  | { ok: true; replace: (input: string) => string }
  | { ok: false; field: "pattern" | "substitution"; reason: string } {
  const valid = withTemporaryRe2(pattern, "u", () => true);
  if (!valid.ok) return { ok: false, field: "pattern", reason: valid.reason };
  const rewrite = parseRewrite(substitution, groupCount(pattern));
  if (typeof rewrite === "string") return { ok: false, field: "substitution", reason: rewrite };
  const global = lease.acquire(pattern, "gu");
  if (!global.ok) return { ok: false, field: "pattern", reason: global.reason };
  const re = global.re;
  return { ok: true, replace: (input) => globalReplace(re, input, rewrite) };
}

const SURROGATE = /[\uD800-\uDFFF]/;

/** re2-wasm counts positions in code points; maps between those and UTF-16 offsets. */
function positionMaps(input: string): { unitOf: number[]; pointOf: number[] } {
  const unitOf: number[] = [];
  const pointOf: number[] = [];
  for (let i = 0; i < input.length; ) {
    pointOf[i] = unitOf.length;
    unitOf.push(i);
    i += (input.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
  }
  pointOf[input.length] = unitOf.length;
  unitOf.push(input.length);
  return { unitOf, pointOf };
}

function globalReplace(re: RE2, input: string, rewrite: Rewrite): string {
  const maps = SURROGATE.test(input) ? positionMaps(input) : undefined;
  let out = "";
  let p = 0;
  let lastEnd = -1;
  let count = 0;
  while (p <= input.length) {
    re.lastIndex = maps ? maps.pointOf[p]! : p;
    const m = re.exec(input);
    if (!m) break;
    const start = maps ? maps.unitOf[m.index]! : m.index;
    const text = m[0] ?? "";
    if (p < start) out += input.slice(p, start);
    if (start === lastEnd && text.length === 0) {
      // As RE2: no empty match right where the previous match ended; copy one character on.
      const step = (input.codePointAt(p) ?? 0) > 0xffff ? 2 : 1;
      if (p < input.length) out += input.slice(p, p + step);
      p += step;
      continue;
    }
    for (const part of rewrite) out += typeof part === "number" ? (m[part] ?? "") : part;
    p = start + text.length;
    lastEnd = p;
    count++;
  }
  if (count === 0) return input;
  if (p < input.length) out += input.slice(p);
  return out;
}
