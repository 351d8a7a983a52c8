// The jwt_authn HTTP filter's decision for one request (Envoy's jwt_authn Filter::decodeHeaders):
// CORS preflights pass when configured; the first rule whose path matches picks the requirement;
// success yields the rewritten request (payload/claim headers, token removed unless forwarded), the
// dynamic metadata and Istio's request principal `<iss>/<sub>`; failure yields Envoy's local reply
// (401, or 403 for a wrong audience) with its body, details and WWW-Authenticate header.
import type { LocalReplyInput } from "../http/local-reply.ts";
import type { MutableHeaders } from "../routing/types.ts";
import type { VerifyContext } from "./authenticator.ts";
import type { JwtAuthnConfig, JwtRouteMatch } from "./jwt-authn-config.ts";
import { type JwtStatus, jwtStatusMessage } from "./jwt-status.ts";
import { type JwksFetcher, KeySets } from "./key-sets.ts";
import { headerValues } from "./token-extractor.ts";
import { type VerifierEnv, verifyRequirement } from "./verifier.ts";

/** The metadata key under which Istio's providers put the payload (RBAC reads iss and sub). */
export const ISTIO_PAYLOAD_METADATA_KEY = "payload";
/** Envoy truncates the path in the WWW-Authenticate realm to this many characters. */
const MAX_REALM_PATH = 256;

export interface JwtRequest {
  method: string;
  /** :authority (host). */
  authority: string;
  /** :path, query included. */
  path: string;
  /** The request's scheme; x-forwarded-proto in the headers wins for the realm. */
  scheme: string;
  /** Lowercase header names, no pseudo-headers. */
  headers: Readonly<MutableHeaders>;
}

export type JwtAuthnOutcome =
  | {
      allowed: true;
      /** The request headers to forward (a new object; the input is not changed). */
      headers: MutableHeaders;
      /** The :path to forward (a token in the query is removed unless forwarded). */
      path: string;
      /** Dynamic metadata of namespace envoy.filters.http.jwt_authn; absent when empty. */
      metadata?: Record<string, unknown>;
      /** Istio's request.auth.principal: `<iss>/<sub>` of the payload under "payload". */
      requestPrincipal?: string;
      /** A claim header was added by a provider with clear_route_cache: route again. */
      clearRouteCache: boolean;
    }
  | {
      allowed: false;
      status: JwtStatus;
      reply: Omit<LocalReplyInput, "grpc" | "headRequest"> & {
        status: 401 | 403;
        headers: Record<string, string>;
      };
    };

export interface JwtAuthnFilterOptions {
  /** Milliseconds since the epoch (tests pass a manual clock). */
  now?: () => number;
  /** Fetches remote_jwks; only needed when the config was decoded with remoteJwks. */
  fetchJwks?: JwksFetcher;
}

function pathOnly(path: string): string {
  const end = path.search(/[?#]/);
  return end < 0 ? path : path.slice(0, end);
}

function routeMatches(match: JwtRouteMatch, requestPath: string): boolean {
  const fold = (s: string) => (match.caseSensitive ? s : s.toLowerCase());
  const path = fold(pathOnly(requestPath));
  const value = fold(match.value);
  switch (match.kind) {
    case "prefix":
      return path.startsWith(value);
    case "path":
      return path === value;
    case "path_separated_prefix":
      return path === value || path.startsWith(`${value}/`);
  }
}

function isCorsPreflight(request: JwtRequest): boolean {
  return (
    request.method === "OPTIONS" &&
    (headerValues(request.headers, "origin")[0] ?? "") !== "" &&
    (headerValues(request.headers, "access-control-request-method")[0] ?? "") !== ""
  );
}

/** Http::Utility::buildOriginalUri: `<x-forwarded-proto>://<host><path, at most 256 chars>`. */
function originalUri(request: JwtRequest): string {
  const path = headerValues(request.headers, "x-envoy-original-path")[0] ?? request.path;
  if (path === "") return "";
  const proto = headerValues(request.headers, "x-forwarded-proto")[0] ?? request.scheme;
  return `${proto}://${request.authority}${path.slice(0, MAX_REALM_PATH)}`;
}

function principalOf(metadata: Record<string, unknown>): string | undefined {
  const payload = metadata[ISTIO_PAYLOAD_METADATA_KEY];
  if (typeof payload !== "object" || payload === null) return undefined;
  const { iss, sub } = payload as { iss?: unknown; sub?: unknown };
  return typeof iss === "string" && typeof sub === "string" && iss !== "" && sub !== ""
    ? `${iss}/${sub}`
    : undefined;
}

function copyHeaders(headers: Readonly<MutableHeaders>): MutableHeaders {
  const out: MutableHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = typeof value === "string" ? value : [...value];
  }
  return out;
}

export class JwtAuthnFilter {
  private readonly config: JwtAuthnConfig;
  private readonly now: () => number;
  private readonly env: VerifierEnv;

  constructor(config: JwtAuthnConfig, options: JwtAuthnFilterOptions = {}) {
    this.config = config;
    this.now = options.now ?? Date.now;
    this.env = {
      providers: config.providers,
      keySets: new KeySets(this.now, options.fetchJwks),
      extractors: new Map(),
    };
  }

  async authenticate(request: JwtRequest): Promise<JwtAuthnOutcome> {
    const pass = (ctx?: VerifyContext): JwtAuthnOutcome => {
      const metadata = ctx && Object.keys(ctx.extracted).length ? ctx.extracted : undefined;
      const principal = metadata && principalOf(metadata);
      return {
        allowed: true,
        headers: ctx?.headers ?? copyHeaders(request.headers),
        path: ctx?.path ?? request.path,
        ...(metadata ? { metadata } : {}),
        ...(principal ? { requestPrincipal: principal } : {}),
        clearRouteCache: ctx?.clearRouteCache ?? false,
      };
    };
    if (this.config.bypassCorsPreflight && isCorsPreflight(request)) return pass();
    const rule = this.config.rules.find((r) => routeMatches(r.match, request.path));
    if (!rule) return pass();
    const ctx: VerifyContext = {
      headers: copyHeaders(request.headers),
      path: request.path,
      extracted: {},
      clearRouteCache: false,
      nowSeconds: Math.floor(this.now() / 1000),
    };
    const status = await verifyRequirement(rule.requirement, ctx, this.env);
    return status === "Ok" ? pass(ctx) : this.deny(status, request);
  }

  private deny(status: JwtStatus, request: JwtRequest): JwtAuthnOutcome {
    const message = jwtStatusMessage(status);
    const code = status === "JwtAudienceNotAllowed" ? 403 : 401;
    const details = `jwt_authn_access_denied{${message.replace(/[ \t\f\v\n\r]/g, "_")}}`;
    if (this.config.stripFailureResponse) {
      return { allowed: false, status, reply: { status: code, body: "", details, headers: {} } };
    }
    const realm = `Bearer realm="${originalUri(request)}"`;
    const wwwAuthenticate = status === "JwtMissed" ? realm : `${realm}, error="invalid_token"`;
    return {
      allowed: false,
      status,
      reply: {
        status: code,
        body: message,
        details,
        headers: { "www-authenticate": wwwAuthenticate },
      },
    };
  }
}
