// envoy.config.route.v3.HeaderMatcher, decoded once and evaluated as Envoy's
// HeaderUtility::matchHeaders: repeated headers are joined with ",", a missing header matches only
// `present_match: false` (or, inverted, `present_match: true`) unless treat_missing_header_as_empty.
import type { Fields } from "./decode-reader.ts";
import { decodeRegexMatcher, decodeStringMatcher, stringMatch } from "./string-matcher.ts";
import type { HeaderMatch, RequestHeaders, RouteRequest, StringMatch } from "./types.ts";

const SPECIFIERS = [
  "exact_match",
  "safe_regex_match",
  "range_match",
  "present_match",
  "prefix_match",
  "suffix_match",
  "contains_match",
  "string_match",
] as const;

const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ANY_VALUE: StringMatch = { description: "any value", match: () => true };

/** An RFC 7230 token (optionally ":"-prefixed): what crema adds or removes. */
export function isValidHeaderName(name: string): boolean {
  return HEADER_NAME.test(name);
}

/** Envoy's non-strict HTTP_HEADER_NAME rule for names it only looks up: no NUL, CR or LF. */
export function isLookupHeaderName(name: string): boolean {
  return name !== "" && !/[\0\r\n]/.test(name);
}

export function decodeHeaderMatcher(f: Fields): HeaderMatch | undefined {
  const name = f.string("name", 1);
  if (name && !isLookupHeaderName(name))
    f.error(`${JSON.stringify(name)} is not a valid header name`, "name");
  const specifier = f.oneof(SPECIFIERS);
  const out: HeaderMatch = {
    name: name.toLowerCase(),
    kind: "present",
    present: true,
    rangeStart: 0,
    rangeEnd: 0,
    invert: f.bool("invert_match"),
    treatMissingAsEmpty: f.bool("treat_missing_header_as_empty"),
  };
  const errors = f.ctx.errors.length;
  switch (specifier) {
    case "exact_match": {
      // The deprecated exact_match matches any value when empty (Envoy's HeaderMatchType::Value).
      const value = f.string("exact_match");
      out.kind = "string";
      out.string = value === "" ? ANY_VALUE : stringMatch("exact", value, false);
      break;
    }
    case "prefix_match":
    case "suffix_match":
    case "contains_match": {
      const value = f.string(specifier, 1);
      out.kind = "string";
      out.string = stringMatch(specifier.slice(0, -6) as "prefix", value, false);
      break;
    }
    case "safe_regex_match":
    case "string_match": {
      const sub = f.object(specifier);
      out.kind = "string";
      const decode = specifier === "string_match" ? decodeStringMatcher : decodeRegexMatcher;
      out.string = sub ? decode(sub) : undefined;
      break;
    }
    case "range_match": {
      const range = f.object("range_match");
      out.kind = "range";
      if (range) {
        out.rangeStart = range.int64("start");
        out.rangeEnd = range.int64("end");
        range.finish();
      }
      break;
    }
    case "present_match":
      out.present = f.bool("present_match");
      break;
    case undefined:
      break;
  }
  f.finish();
  return f.ctx.errors.length === errors ? out : undefined;
}

export function decodeHeaderMatchers(f: Fields, field: string): HeaderMatch[] {
  const out: HeaderMatch[] = [];
  for (const item of f.objects(field)) {
    const matcher = decodeHeaderMatcher(item);
    if (matcher) out.push(matcher);
  }
  return out;
}

/** A header as Envoy's header map would give it: pseudo-headers from the request line. */
export function requestHeaderValue(req: RouteRequest, name: string): string | undefined {
  if (name.charCodeAt(0) === 58 /* ":" */) {
    switch (name) {
      case ":method":
        return req.method;
      case ":authority":
        return req.authority;
      case ":scheme":
        return req.scheme;
      case ":path":
        return req.path === "" ? undefined : req.path;
    }
  }
  return joinedHeader(req.headers, name);
}

/** All values of a header joined with "," (Envoy's getAllOfHeaderAsString); undefined if absent. */
export function joinedHeader(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || typeof value === "string") return value;
  return value.length === 0 ? undefined : value.join(",");
}

/** The first value of a request header, pseudo-headers included (for cluster_header etc.). */
export function firstRequestHeader(req: RouteRequest, name: string): string | undefined {
  return name.charCodeAt(0) === 58 ? requestHeaderValue(req, name) : firstHeader(req.headers, name);
}

/** The first value of a header (Envoy's choice for cluster_header and host_rewrite_header). */
export function firstHeader(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined || typeof value === "string") return value;
  return value[0];
}

const INTEGER = /^\s*[+-]?\d+\s*$/;

/** One matcher against a header value (undefined when the header is absent). */
export function matchHeaderValue(h: HeaderMatch, value: string | undefined): boolean {
  if (value === undefined && !h.treatMissingAsEmpty) {
    return h.kind === "present" && (h.invert ? h.present : !h.present);
  }
  const v = value ?? "";
  let match: boolean;
  switch (h.kind) {
    case "string":
      match = h.string?.match(v) ?? false;
      break;
    case "present":
      match = h.present;
      break;
    case "range": {
      const n = INTEGER.test(v) ? Number(v) : Number.NaN;
      match = n >= h.rangeStart && n < h.rangeEnd;
      break;
    }
  }
  return match !== h.invert;
}

/** Every matcher must match (an empty list matches). */
export function matchRequestHeaders(matchers: readonly HeaderMatch[], req: RouteRequest): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const h = matchers[i]!;
    if (!matchHeaderValue(h, requestHeaderValue(req, h.name))) return false;
  }
  return true;
}
