// Envoy matchers (StringMatcher, HeaderMatcher, MetadataMatcher, ValueMatcher, CidrRange) written
// from AuthorizationPolicy values the way istiod's authz matcher package writes them: `*` alone
// matches any non-empty value, `*x` a suffix, `x*` a prefix, anything else exactly.
import type { JsonObject } from "../../../xds/proto-json.ts";

/** A value that cannot become a matcher (bad CIDR, HTTP-only attribute on TCP …). */
export class RuleProblem {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

/** `{safe_regex: {regex}}` (RE2; istiod no longer sets the deprecated google_re2 engine). */
export function regexMatcher(regex: string): JsonObject {
  return { safe_regex: { regex } };
}

function withCase(matcher: JsonObject, ignoreCase: boolean): JsonObject {
  return ignoreCase ? { ...matcher, ignore_case: true } : matcher;
}

/**
 * Istio's StringMatcherWithPrefix: `prefix` (e.g. `spiffe://`) goes in front of the value; a
 * leading `*` then needs a regex (prefix, anything, rest — unescaped, as istiod writes it).
 */
export function stringMatcher(value: string, prefix = ""): JsonObject {
  if (value === "*") return regexMatcher(".+");
  if (value.startsWith("*")) {
    return prefix === ""
      ? { suffix: value.slice(1) }
      : regexMatcher(`${prefix}.*${value.slice(1)}`);
  }
  if (value.endsWith("*")) return { prefix: prefix + value.slice(0, -1) };
  return { exact: prefix + value };
}

/** Header match for `name` (`:method`, a request header): present for `*`, else a string match. */
export function headerMatcher(name: string, value: string): JsonObject {
  if (value === "*") return { name, present_match: true };
  return { name, string_match: stringMatcher(value) };
}

/** `:authority` match: like headerMatcher but case-insensitive (Istio's HostMatcher). */
export function hostMatcher(name: string, value: string): JsonObject {
  if (value === "*") return { name, present_match: true };
  return { name, string_match: withCase(stringMatcher(value), true) };
}

/** Go's regexp.QuoteMeta: escapes every RE2 metacharacter. */
export function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/**
 * Istio's HeaderMatcherWithRegex (`request.experimental.inline.headers[…]`): the value may be one
 * element of a comma-joined header (RFC 7230), so the regex accepts it alone or between commas.
 */
export function inlineHeaderMatcher(name: string, value: string): JsonObject {
  if (value === "*") return { name, present_match: true };
  const body = value.startsWith("*")
    ? `.*${quoteMeta(value.slice(1))}`
    : value.endsWith("*")
      ? `${quoteMeta(value.slice(0, -1))}.*`
      : quoteMeta(value);
  return {
    name,
    safe_regex_match: { regex: `^${body}$|^${body},.*|.*,${body},.*|.*,${body}$` },
  };
}

/** ValueMatcher for one string. */
export function stringValue(value: string): JsonObject {
  return { string_match: stringMatcher(value) };
}

/** Istio's OrMatcher: one matcher stays as it is, several become `or_match`. */
export function orValues(matchers: readonly JsonObject[]): JsonObject {
  if (matchers.length === 1) return matchers[0]!;
  return { or_match: { value_matchers: [...matchers] } };
}

/** MetadataMatcher on the dynamic metadata of `filter` at the key path `path`. */
export function metadataMatcher(
  filter: string,
  path: readonly string[],
  value: JsonObject,
): JsonObject {
  return { filter, path: path.map((key) => ({ key })), value };
}

/**
 * Istio's MetadataListValueMatcher for JWT claims: the claim may be a list (any element matches)
 * or a single value, so the value matcher is `or(list one_of V, V)`.
 */
export function listOrValue(value: JsonObject): JsonObject {
  return { or_match: { value_matchers: [{ list_match: { one_of: value } }, value] } };
}

// ---- CIDR ranges (Istio's AddrStrToCidrRange: the prefix is masked, bare addresses are /32, /128).

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

function parseIpv6(text: string): number[] | undefined {
  let source = text;
  // An embedded IPv4 address (`::ffff:1.2.3.4`) stands for the last two groups.
  const lastColon = text.lastIndexOf(":");
  if (lastColon >= 0 && text.includes(".", lastColon)) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    const hi = ((v4[0]! << 8) | v4[1]!).toString(16);
    const lo = ((v4[2]! << 8) | v4[3]!).toString(16);
    source = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = source.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === "" ? [] : part.split(":"));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const word = (g: string) => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : Number.NaN);
  const words = [...left, ...right].map(word);
  if (words.some(Number.isNaN)) return undefined;
  const missing = 8 - words.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const zeros = new Array<number>(missing).fill(0);
  return [...words.slice(0, left.length), ...zeros, ...words.slice(left.length)];
}

function maskWords(words: number[], bitsPerWord: number, prefixLen: number): number[] {
  return words.map((word, i) => {
    const keep = Math.max(0, Math.min(bitsPerWord, prefixLen - i * bitsPerWord));
    const mask =
      keep === 0 ? 0 : ((2 ** bitsPerWord - 1) >>> (bitsPerWord - keep)) << (bitsPerWord - keep);
    return word & mask;
  });
}

/** RFC 5952 text of eight 16-bit groups (the first longest run of 2+ zero groups is `::`). */
function formatIpv6(words: number[]): string {
  // An IPv4-mapped address keeps its dotted tail, as Go's netip prints it.
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    const [hi, lo] = [words[6]!, words[7]!];
    return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(":");
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** `{address_prefix, prefix_len}` for an address or CIDR block, or a RuleProblem. */
export function cidrRange(value: string): JsonObject | RuleProblem {
  const slash = value.indexOf("/");
  const address = slash < 0 ? value : value.slice(0, slash);
  const bitsText = slash < 0 ? undefined : value.slice(slash + 1);
  const v4 = parseIpv4(address);
  const v6 = v4 ? undefined : parseIpv6(address);
  if (!v4 && !v6) return new RuleProblem(`${JSON.stringify(value)} is not an IP address or CIDR`);
  const max = v4 ? 32 : 128;
  const prefixLen = bitsText === undefined ? max : /^\d+$/.test(bitsText) ? Number(bitsText) : -1;
  if (prefixLen < 0 || prefixLen > max) {
    return new RuleProblem(`${JSON.stringify(value)} has an invalid prefix length`);
  }
  const address_prefix = v4
    ? maskWords(v4, 8, prefixLen).join(".")
    : formatIpv6(maskWords(v6!, 16, prefixLen));
  return { address_prefix, prefix_len: prefixLen };
}

/**
 * How one AuthorizationPolicy attribute becomes RBAC matchers. `each` builds one matcher per value
 * (values are OR-ed; notValues become not(or(…))); `all` builds one matcher from every value at
 * once (istiod's "extended" generators for JWT claims and Envoy metadata), negated as a whole.
 */
export type AttributeGenerator =
  | { kind: "each"; build(key: string, value: string, forTcp: boolean): JsonObject | RuleProblem }
  | {
      kind: "all";
      build(key: string, values: readonly string[], forTcp: boolean): JsonObject | RuleProblem;
    };

/** The error istiod gives for an HTTP attribute on a TCP filter chain. */
export function httpOnly(key: string): RuleProblem {
  return new RuleProblem(`${JSON.stringify(key)} is HTTP only`);
}
