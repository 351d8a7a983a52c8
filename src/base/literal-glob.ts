// Most safe_regex patterns in practice (Istio's generated principal and presence matchers,
// user-agent checks) are literal text joined by `.*` or `.+`. Loading re2-wasm costs ~80 ms of
// CPU, in every proxy at start-up and in the runtime validating manifests, so these "literal
// globs" are recognised here (valid RE2 by construction) and full-matched by plain string search,
// with exactly RE2's answer; everything else (and the few subjects where plain search could differ
// from RE2) is left to re2-wasm.

/**
 * A pattern that is literal text joined by `.*` and `.+`: the literal segments in order, so a
 * pattern with n wildcards has n + 1 segments (some possibly empty), and the least number of
 * characters each wildcard takes (0 for `.*`, 1 for `.+`). A single segment means "exactly this".
 */
export interface LiteralGlob {
  readonly segments: readonly string[];
  /** gaps[k]: the shortest run allowed between segments[k] and segments[k + 1]. */
  readonly gaps: readonly number[];
}

// RE2's metacharacters outside a character class. `]` and `}` are literal in RE2 when unpaired, but
// patterns using them are rare enough to leave to RE2.
const METACHARACTERS = new Set("\\.+*?()|[]{}^$");

// RE2 reads a backslash before ASCII punctuation as that character; every other escape (\d, \Q,
// \x41, \pL, \1, and escaped non-ASCII, which RE2 rejects) has a meaning of its own.
const ESCAPED_LITERAL = /^[!-/:-@[-`{-~]$/;

/** The literal segments of `pattern` when it is a literal glob; undefined for any other regex. */
export function parseLiteralGlob(pattern: string): LiteralGlob | undefined {
  // re2-wasm transcodes lone surrogates in its own way: leave such patterns to it.
  if (!pattern.isWellFormed()) return undefined;
  const segments: string[] = [];
  const gaps: number[] = [];
  let literal = "";
  let afterWildcard = false;
  // A leading `^` and a trailing `$` only restate the full match.
  const start = pattern.startsWith("^") ? 1 : 0;
  for (let i = start; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === ".") {
      const quantifier = pattern[i + 1];
      if (quantifier !== "*" && quantifier !== "+") return undefined;
      const gap = quantifier === "+" ? 1 : 0;
      // Adjacent wildcards are one: `.*.+` takes at least one character.
      if (afterWildcard) gaps[gaps.length - 1]! += gap;
      else {
        segments.push(literal);
        gaps.push(gap);
        literal = "";
      }
      afterWildcard = true;
      i += 2;
      continue;
    }
    if (c === "$" && i === pattern.length - 1) break;
    if (c === "\\") {
      const escaped = pattern[i + 1];
      if (escaped === undefined || !ESCAPED_LITERAL.test(escaped)) return undefined;
      literal += escaped;
      i += 2;
    } else if (METACHARACTERS.has(c)) {
      return undefined;
    } else {
      literal += c;
      i++;
    }
    afterWildcard = false;
  }
  // Matching counts a wildcard's characters in UTF-16 code units, which is exact for "at least
  // one" only: `.+.+` is left to RE2.
  if (gaps.some((gap) => gap > 1)) return undefined;
  segments.push(literal);
  return { segments, gaps };
}

/**
 * Whether string search decides `value` exactly as RE2 would. `.` never matches `\n`, so a `\n`
 * may only fall inside a literal segment; and re2-wasm transcodes lone surrogates lossily. Both are
 * rare in header values and paths, so such subjects simply go to RE2.
 */
export function literalGlobDecides(glob: LiteralGlob, value: string): boolean {
  if (!value.isWellFormed()) return false;
  return glob.segments.length === 1 || !value.includes("\n");
}

/**
 * Full match of `value` against `glob`, valid when literalGlobDecides(glob, value). Placing each
 * middle segment at its leftmost occurrence that leaves its wildcard enough room leaves the most
 * room for the rest, so a greedy scan finds a match whenever one exists. (In well-formed text a
 * run of one or more code units between two segments holds at least one code point, so counting
 * `.+`'s one character in code units is exact.)
 */
export function literalGlobMatches(glob: LiteralGlob, value: string): boolean {
  const { segments, gaps } = glob;
  const first = segments[0]!;
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1]!;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  let from = first.length;
  for (let k = 1; k < segments.length - 1; k++) {
    const segment = segments[k]!;
    const at = value.indexOf(segment, from + gaps[k - 1]!);
    if (at < 0) return false;
    from = at + segment.length;
  }
  // Also rejects a first and last segment that would overlap.
  return value.length - last.length - from >= gaps[gaps.length - 1]!;
}
