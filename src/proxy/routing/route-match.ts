// envoy.config.route.v3.RouteMatch, compiled once and evaluated per request as Envoy's
// RouteEntryImplBase::matchRoute + the path matcher: prefix / path / path_separated_prefix on the
// path without query (case-insensitive when asked), safe_regex as a full match, connect_matcher
// for CONNECT only; then runtime_fraction, grpc, headers, query parameters, TLS and metadata.
import { type Fields, isObject } from "./decode-reader.ts";
import { decodeHeaderMatchers, firstHeader, matchRequestHeaders } from "./header-matcher.ts";
import { decodeMetadataMatcher, matchDynamicMetadata } from "./metadata-matcher.ts";
import { queryStart } from "./path-rewrite.ts";
import { decodeRegexMatcher, decodeStringMatcher } from "./string-matcher.ts";
import type {
  CompiledRouteMatch,
  FractionalPercent,
  MetadataMatch,
  QueryParameterMatch,
  RandomSource,
  RouteRequest,
} from "./types.ts";

const PATH_SPECIFIERS = [
  "prefix",
  "path",
  "safe_regex",
  "connect_matcher",
  "path_separated_prefix",
  "path_match_policy",
] as const;

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;
const PATH_SEPARATED_PREFIX = /^[^?#]+[^?#/]$/;

export function decodeFractionalPercent(f: Fields): FractionalPercent {
  const numerator = f.uint("numerator");
  const denominator = f.enumValue("denominator", ["HUNDRED", "TEN_THOUSAND", "MILLION"] as const);
  f.finish();
  return { numerator, denominator: DENOMINATORS[denominator] };
}

/** core.v3.RuntimeFractionalPercent: crema has no runtime layer, so the default value applies. */
export function decodeRuntimeFraction(f: Fields): FractionalPercent | undefined {
  f.skip("runtime_key");
  const value = f.object("default_value");
  if (!value) f.error("is required", "default_value");
  const fraction = value && decodeFractionalPercent(value);
  f.finish();
  return fraction;
}

/** Envoy's `random % denominator < numerator`, with the random value drawn from [0, 1). */
export function fractionHit(fraction: FractionalPercent, random: RandomSource): boolean {
  if (fraction.numerator >= fraction.denominator) return true;
  if (fraction.numerator === 0) return false;
  return Math.floor(random() * fraction.denominator) < fraction.numerator;
}

function decodeQueryParameterMatcher(f: Fields): QueryParameterMatch | undefined {
  const name = f.string("name", 1);
  if (name.length > 1024) f.error("must be at most 1024 bytes", "name");
  const kind = f.oneof(["string_match", "present_match"]);
  let out: QueryParameterMatch | undefined = { name };
  if (kind === "string_match") {
    const sub = f.object("string_match");
    const string = sub && decodeStringMatcher(sub);
    out = string ? { name, string } : undefined;
  } else {
    // Envoy treats present_match (true or false) and an empty specifier as "must be present".
    f.bool("present_match");
  }
  f.finish();
  return name ? out : undefined;
}

export function decodeRouteMatch(f: Fields): CompiledRouteMatch | undefined {
  const errors = f.ctx.errors.length;
  const specifier = f.oneof(PATH_SPECIFIERS);
  const caseSensitive = f.optBool("case_sensitive") ?? true;
  const match: CompiledRouteMatch = {
    kind: "prefix",
    value: "",
    caseSensitive,
    headers: [],
    queryParameters: [],
    grpc: false,
    dynamicMetadata: [],
    regex: undefined,
    runtimeFraction: undefined,
    tlsPresented: undefined,
    tlsValidated: undefined,
  };
  switch (specifier) {
    case undefined:
      f.error(`one of ${PATH_SPECIFIERS.slice(0, 5).join(", ")} is required`);
      break;
    case "path_match_policy":
      f.unsupported(
        "path_match_policy",
        "path_match_policy (URI template matching) is not supported",
      );
      break;
    case "connect_matcher": {
      match.kind = "connect";
      f.object("connect_matcher")?.finish();
      break;
    }
    case "safe_regex": {
      match.kind = "safe_regex";
      const sub = f.object("safe_regex");
      match.regex = sub && decodeRegexMatcher(sub);
      break;
    }
    default: {
      const value = f.string(specifier);
      if (specifier === "path_separated_prefix" && !PATH_SEPARATED_PREFIX.test(value)) {
        f.error("must not contain ? or # nor end with /", specifier);
      }
      match.kind = specifier;
      match.value = caseSensitive ? value : value.toLowerCase();
    }
  }
  const runtime = f.object("runtime_fraction");
  if (runtime) match.runtimeFraction = decodeRuntimeFraction(runtime);
  match.headers = decodeHeaderMatchers(f, "headers");
  match.queryParameters = f
    .objects("query_parameters")
    .map(decodeQueryParameterMatcher)
    .filter((q): q is QueryParameterMatch => q !== undefined);
  const grpc = f.raw("grpc");
  match.grpc = grpc !== undefined;
  if (match.grpc && !isObject(grpc)) f.error("expected an object", "grpc");
  const tls = f.object("tls_context");
  if (tls) {
    match.tlsPresented = tls.optBool("presented");
    match.tlsValidated = tls.optBool("validated");
    tls.finish();
  }
  match.dynamicMetadata = f
    .objects("dynamic_metadata")
    .map(decodeMetadataMatcher)
    .filter((m): m is MetadataMatch => m !== undefined);
  f.finish();
  return f.ctx.errors.length === errors ? match : undefined;
}

/** Per-request facts computed once and shared by every route tried. */
export interface MatchScratch {
  req: RouteRequest;
  /** `:path` without query and fragment (and without `;params` when configured). */
  path: string;
  lowerPath: string | undefined;
}

export function matchScratch(req: RouteRequest, ignorePathParameters: boolean): MatchScratch {
  const full = req.path;
  let end = queryStart(full);
  if (ignorePathParameters) {
    const semicolon = full.indexOf(";");
    if (semicolon >= 0 && semicolon < end) end = semicolon;
  }
  return { req, path: end === full.length ? full : full.slice(0, end), lowerPath: undefined };
}

/** CONNECT, or an HTTP/1.1-style CONNECT-UDP upgrade (Envoy's isConnect / isConnectUdpRequest). */
function isConnect(req: RouteRequest): boolean {
  return (
    req.method === "CONNECT" || firstHeader(req.headers, "upgrade")?.toLowerCase() === "connect-udp"
  );
}

function comparablePath(m: CompiledRouteMatch, s: MatchScratch): string {
  if (m.caseSensitive) return s.path;
  if (s.lowerPath === undefined) s.lowerPath = s.path.toLowerCase();
  return s.lowerPath;
}

/** The first value of query parameter `name` in `path` (not URL-decoded, as Envoy). */
export function queryParameter(path: string, name: string): string | undefined {
  let start = path.indexOf("?");
  if (start < 0) return undefined;
  start++;
  while (start < path.length) {
    let end = path.indexOf("&", start);
    if (end < 0) end = path.length;
    const eq = path.indexOf("=", start);
    const keyEnd = eq >= 0 && eq < end ? eq : end;
    if (keyEnd - start === name.length && path.startsWith(name, start)) {
      return keyEnd === end ? "" : path.slice(keyEnd + 1, end);
    }
    start = end + 1;
  }
  return undefined;
}

function isGrpc(req: RouteRequest): boolean {
  const type = firstHeader(req.headers, "content-type");
  if (type === undefined || req.path === "" || !type.startsWith("application/grpc")) return false;
  return type.length === 16 || type.charCodeAt(16) === 43 /* + */;
}

/** Whether `m` matches; `random` is drawn only for a runtime_fraction. */
export function matchRoute(m: CompiledRouteMatch, s: MatchScratch, random: RandomSource): boolean {
  const hasPath = s.req.path !== "";
  switch (m.kind) {
    case "prefix":
      if (!hasPath || !comparablePath(m, s).startsWith(m.value)) return false;
      break;
    case "path":
      if (!hasPath || comparablePath(m, s) !== m.value) return false;
      break;
    case "path_separated_prefix": {
      const p = comparablePath(m, s);
      const n = m.value.length;
      if (!hasPath || !p.startsWith(m.value) || (p.length !== n && p.charCodeAt(n) !== 47)) {
        return false;
      }
      break;
    }
    case "safe_regex":
      if (!hasPath || m.regex === undefined || !m.regex.match(s.path)) return false;
      break;
    case "connect":
      if (!isConnect(s.req)) return false;
      break;
  }
  const req = s.req;
  if (m.runtimeFraction !== undefined && !fractionHit(m.runtimeFraction, random)) return false;
  if (m.grpc && !isGrpc(req)) return false;
  if (m.headers.length > 0 && !matchRequestHeaders(m.headers, req)) return false;
  for (let i = 0; i < m.queryParameters.length; i++) {
    const q = m.queryParameters[i]!;
    const value = queryParameter(req.path, q.name);
    if (value === undefined || (q.string !== undefined && !q.string.match(value))) return false;
  }
  if (m.tlsPresented !== undefined && m.tlsPresented !== (req.peerCertificatePresented ?? false)) {
    return false;
  }
  if (m.tlsValidated !== undefined && m.tlsValidated !== (req.peerCertificateValidated ?? false)) {
    return false;
  }
  return m.dynamicMetadata.length === 0 || matchDynamicMetadata(m.dynamicMetadata, req);
}
