// HTTPMatchRequest → Envoy RouteMatch, as Istio's TranslateRouteMatch writes it (uri, headers,
// withoutHeaders, JWT-claim headers, queryParams, method/authority/scheme), plus the checks Istio
// makes at translation time (port, sourceLabels, sourceNamespace, gateways).
import type { JsonObject } from "../../xds/proto-json.ts";
import { isObj, num, type Obj, sortedKeys, str, stringRecord } from "./route-values.ts";

const JWT_CLAIM_HEADER = "@request.auth.claims";
const JWT_FILTER = "envoy.filters.http.jwt_authn";
const JWT_PAYLOAD = "payload";

export interface RouteSource {
  labels: Readonly<Record<string, string>>;
  namespace: string;
}

/** A StringMatch with no match type, or regex "*", is a presence check (istio/istio#20629). */
function isPresentMatch(match: unknown): boolean {
  if (!isObj(match)) return true;
  if (typeof match.regex === "string") return match.regex === "*";
  return typeof match.exact !== "string" && typeof match.prefix !== "string";
}

/** Istio's ConvertToEnvoyMatch: exact, prefix, or an RE2 safe_regex. */
export function stringMatcher(match: unknown): JsonObject | undefined {
  if (!isObj(match)) return undefined;
  if (typeof match.exact === "string") return { exact: match.exact };
  if (typeof match.prefix === "string") return { prefix: match.prefix };
  if (typeof match.regex === "string") return { safe_regex: { regex: match.regex } };
  return undefined;
}

function headerMatcher(name: string, match: unknown): JsonObject {
  if (isPresentMatch(match)) return { name, present_match: true };
  const matcher = stringMatcher(match);
  return matcher ? { name, string_match: matcher } : { name };
}

/** `@request.auth.claims.a.b` or `@request.auth.claims[a][b]` → ["a", "b"]; undefined otherwise. */
export function jwtClaimPath(header: string): string[] | undefined {
  if (!header.toLowerCase().startsWith(JWT_CLAIM_HEADER)) return undefined;
  const rest = header.slice(JWT_CLAIM_HEADER.length);
  if (rest.startsWith(".") && rest.length > 1) return rest.slice(1).split(".");
  if (rest.startsWith("[") && rest.endsWith("]") && rest.length > 2)
    return rest.slice(1, -1).split("][");
  return undefined;
}

/** Istio's MetadataMatcherForJWTClaims: the claim (a string or a list of strings) in jwt_authn's payload. */
function jwtClaimMatcher(claims: string[], match: unknown): JsonObject {
  const matcher = stringMatcher(match);
  const value: JsonObject = matcher ? { string_match: matcher } : { present_match: true };
  return {
    filter: JWT_FILTER,
    path: [JWT_PAYLOAD, ...claims].map((key) => ({ key })),
    value: { or_match: { value_matchers: [{ list_match: { one_of: value } }, value] } },
  };
}

function queryParameterMatcher(name: string, match: unknown): JsonObject {
  if (isPresentMatch(match)) return { name, present_match: true };
  const matcher = stringMatcher(match);
  return matcher ? { name, string_match: matcher } : { name };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The Envoy RouteMatch for one match entry; no entry matches every path (prefix "/"). */
export function translateRouteMatch(match: Obj | undefined): JsonObject {
  const out: JsonObject = { prefix: "/" };
  if (!match) return out;
  const headers: JsonObject[] = [];
  const metadata: JsonObject[] = [];
  const headerMatches = isObj(match.headers) ? match.headers : {};
  for (const name of sortedKeys(headerMatches)) {
    const claims = jwtClaimPath(name);
    if (claims) metadata.push(jwtClaimMatcher(claims, headerMatches[name]));
    else headers.push(headerMatcher(name, headerMatches[name]));
  }
  const without = isObj(match.withoutHeaders) ? match.withoutHeaders : {};
  for (const name of sortedKeys(without)) {
    const claims = jwtClaimPath(name);
    if (claims) {
      metadata.push({ ...jwtClaimMatcher(claims, without[name]), invert: true });
      continue;
    }
    const matcher: JsonObject = { ...headerMatcher(name, without[name]), invert_match: true };
    // treat_missing_header_as_empty conflicts with present_match.
    if (!isPresentMatch(without[name])) matcher.treat_missing_header_as_empty = true;
    headers.push(matcher);
  }
  headers.sort((a, b) => compare(String(a.name), String(b.name)));

  if (isObj(match.uri)) {
    const uri = match.uri;
    if (typeof uri.exact === "string") {
      delete out.prefix;
      out.path = uri.exact;
    } else if (typeof uri.prefix === "string") {
      out.prefix = uri.prefix;
    } else if (typeof uri.regex === "string") {
      delete out.prefix;
      out.safe_regex = { regex: uri.regex };
    }
  }
  out.case_sensitive = match.ignoreUriCase !== true;
  if (match.method !== undefined) headers.push(headerMatcher(":method", match.method));
  if (match.authority !== undefined) headers.push(headerMatcher(":authority", match.authority));
  if (match.scheme !== undefined) headers.push(headerMatcher(":scheme", match.scheme));
  if (headers.length) out.headers = headers;

  const query = isObj(match.queryParams) ? match.queryParams : {};
  const params = sortedKeys(query).map((name) => queryParameterMatcher(name, query[name]));
  if (params.length) out.query_parameters = params;
  if (metadata.length) out.dynamic_metadata = metadata;
  return out;
}

/**
 * Istio's translation-time filter for one match entry: its `port` must be the listener's, and
 * `gateways` (when given) must name one of `gateways`; otherwise `sourceLabels` must select the
 * proxy and `sourceNamespace` be the proxy's.
 */
export function matchApplies(
  match: Obj | undefined,
  listenPort: number,
  source: RouteSource,
  gateways: ReadonlySet<string>,
): boolean {
  if (!match) return true;
  const port = num(match.port);
  if (port !== 0 && port !== listenPort) return false;
  const matchGateways = Array.isArray(match.gateways) ? match.gateways : [];
  if (matchGateways.length > 0) return matchGateways.some((g) => gateways.has(str(g)));
  const selector = stringRecord(match.sourceLabels);
  for (const [key, value] of Object.entries(selector))
    if (source.labels[key] !== value) return false;
  const sourceNamespace = str(match.sourceNamespace);
  return sourceNamespace === "" || sourceNamespace === source.namespace;
}

/** A route matching every request: prefix "/" (or regex ".*") with no other condition. */
export function isCatchAllRoute(route: JsonObject): boolean {
  const match = isObj(route.match) ? route.match : {};
  const catchAllPath =
    match.prefix === "/" ||
    match.path_separated_prefix === "/" ||
    (isObj(match.safe_regex) && match.safe_regex.regex === ".*");
  const none = (v: unknown) => !Array.isArray(v) || v.length === 0;
  return (
    catchAllPath &&
    none(match.headers) &&
    none(match.query_parameters) &&
    none(match.dynamic_metadata)
  );
}
