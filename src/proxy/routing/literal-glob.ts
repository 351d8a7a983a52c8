// Most safe_regex patterns in practice (Istio's generated header and URI matchers, user-agent
// checks) are literal text joined by `.*`. Loading re2-wasm costs ~80 ms of CPU per proxy at
// start-up, so these "literal globs" are recognised here and full-matched by plain string search,
// with exactly RE2's answer; everything else (and the few subjects where plain search could differ
// from RE2) is left to re2-wasm.

/**
 * A pattern that is literal text joined by `.*`: the literal segments in order, so a pattern with
 * n wildcards has n + 1 segments (some possibly empty). A single segment means "exactly this".
 */
export type LiteralGlob = readonly string[];

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
  let literal = "";
  // A leading `^` and a trailing `$` only restate the full match.
  const start = pattern.startsWith("^") ? 1 : 0;
  for (let i = start; i < pattern.length; ) {
    const c = pattern[i]!;
    if (c === "\\") {
      const escaped = pattern[i + 1];
      if (escaped === undefined || !ESCAPED_LITERAL.test(escaped)) return undefined;
      literal += escaped;
      i += 2;
    } else if (c === ".") {
      if (pattern[i + 1] !== "*") return undefined;
      segments.push(literal);
      literal = "";
      i += 2;
    } else if (c === "$" && i === pattern.length - 1) {
      break;
    } else if (METACHARACTERS.has(c)) {
      return undefined;
    } else {
      literal += c;
      i++;
    }
  }
  segments.push(literal);
  return segments;
}

/**
 * Whether string search decides `value` exactly as RE2 would. `.` never matches `\n`, so a `\n`
 * may only fall inside a literal segment; and re2-wasm transcodes lone surrogates lossily. Both are
 * rare in header values and paths, so such subjects simply go to RE2.
 */
export function literalGlobDecides(glob: LiteralGlob, value: string): boolean {
  if (!value.isWellFormed()) return false;
  return glob.length === 1 || !value.includes("\n");
}

/**
 * Full match of `value` against `glob`, valid when literalGlobDecides(glob, value). Placing each
 * middle segment at its leftmost occurrence after the previous one leaves the most room for the
 * rest, so a greedy scan finds a match whenever one exists.
 */
export function literalGlobMatches(glob: LiteralGlob, value: string): boolean {
  const first = glob[0]!;
  if (glob.length === 1) return value === first;
  const last = glob[glob.length - 1]!;
  if (value.length < first.length + last.length) return false;
  if (!value.startsWith(first) || !value.endsWith(last)) return false;
  const end = value.length - last.length;
  let from = first.length;
  for (let k = 1; k < glob.length - 1; k++) {
    const segment = glob[k]!;
    const at = value.indexOf(segment, from);
    if (at < 0 || at + segment.length > end) return false;
    from = at + segment.length;
  }
  return true;
}
