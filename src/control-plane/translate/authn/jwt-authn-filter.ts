// RequestAuthentication → envoy.filters.http.jwt_authn, as istiod's convertToEnvoyJwtConfig writes
// it (pilot/pkg/security/authn/policy_applier.go): one provider `origins-<i>` per jwtRule sorted
// by issuer, keys inlined as local_jwks (istiod fetches jwksUri itself by default), the verified
// payload in dynamic metadata under "payload", and a requirement that lets a request without a
// token through while rejecting an invalid one. Current istiod emits no istio_authn filter: RBAC
// matches iss/sub/claims in the jwt_authn payload metadata directly.
import type { Json, JsonObject } from "../../../xds/proto-json.ts";
import { compact, typed } from "../listener-common.ts";
import type { JwtRule } from "./jwt-rules.ts";

export const JWT_AUTHN_FILTER_NAME = "envoy.filters.http.jwt_authn";
export const JWT_AUTHN_TYPE = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";
/** The dynamic metadata key of the verified payload (istiod's filters.EnvoyJwtFilterPayload). */
export const JWT_PAYLOAD_METADATA_KEY = "payload";
/** Claims Envoy splits on spaces into lists in the payload metadata, whatever the rule says. */
const DEFAULT_SPACE_DELIMITED_CLAIMS = ["permission", "scope"];

/** The key sets the control plane has fetched: JSON text, or undefined when not (yet) fetched. */
export interface JwksLookup {
  lookup(issuer: string, jwksUri: string): string | undefined;
}

export interface JwtFilterOptions {
  /** Fetched key sets; without one every jwksUri rule gets the fake key set. */
  jwks?: JwksLookup;
  /** istiod sets clear_route_cache on every proxy but sidecars (gateways route on claims). */
  clearRouteCache: boolean;
}

/**
 * istiod's CreateFakeJwks: a key set no token can match, inlined when the real one could not be
 * fetched so that every token is rejected (401) rather than accepted or ignored.
 */
export function buildFakeJwks(jwksUri: string): string {
  const n = Buffer.from(`Error-IstiodFailedToFetchJwksUri-${jwksUri}`).toString("base64url");
  return `{"keys":[ {"e":"AQAB","kid":"abc","kty":"RSA","n":"${n}"}]}`;
}

/** The inline key set for a rule: its own jwks, else the fetched one, else the fake one. */
function localJwks(rule: JwtRule, jwks: JwksLookup | undefined): string {
  if (rule.jwks !== "") return rule.jwks;
  const fetched = jwks?.lookup(rule.issuer, rule.jwksUri);
  return fetched ? fetched : buildFakeJwks(rule.jwksUri);
}

/** istiod's buildSpaceDelimitedClaims: the rule's claims plus the defaults, deduplicated, sorted. */
function spaceDelimitedClaims(rule: JwtRule): string[] {
  if (!rule.spaceDelimitedClaims) return DEFAULT_SPACE_DELIMITED_CLAIMS;
  return [...new Set([...rule.spaceDelimitedClaims, ...DEFAULT_SPACE_DELIMITED_CLAIMS])].sort();
}

/** One JwtProvider, fields in proto field-number order (as istiod's config dump shows them). */
export function buildJwtProvider(rule: JwtRule, options: JwtFilterOptions): JsonObject {
  return compact({
    issuer: rule.issuer || undefined,
    audiences: rule.audiences.length ? rule.audiences : undefined,
    local_jwks: { inline_string: localJwks(rule, options.jwks) },
    forward: rule.forwardOriginalToken || undefined,
    from_headers: rule.fromHeaders.length
      ? rule.fromHeaders.map((h) => compact({ name: h.name, value_prefix: h.prefix || undefined }))
      : undefined,
    from_params: rule.fromParams.length ? rule.fromParams : undefined,
    forward_payload_header: rule.outputPayloadToHeader || undefined,
    payload_in_metadata: JWT_PAYLOAD_METADATA_KEY,
    from_cookies: rule.fromCookies.length ? rule.fromCookies : undefined,
    claim_to_headers: rule.outputClaimToHeaders.length
      ? rule.outputClaimToHeaders.map((o) => ({ header_name: o.header, claim_name: o.claim }))
      : undefined,
    clear_route_cache: options.clearRouteCache || undefined,
    normalize_payload_in_metadata: { space_delimited_claims: spaceDelimitedClaims(rule) },
  });
}

const providerName = (i: number) => `origins-${i}`;
const ALLOW_MISSING: JsonObject = { allow_missing: {} };

/**
 * The requirement: one provider → {provider OR allow_missing}; several → any provider, OR all of
 * {provider_i OR allow_missing} (a token, when present, must be valid for every provider whose
 * location it sits in; the outer providers rescue providers sharing one location).
 */
function requirement(count: number): JsonObject {
  const inner: JsonObject[] = [];
  const outer: JsonObject[] = [];
  for (let i = 0; i < count; i++) {
    inner.push({
      requires_any: { requirements: [{ provider_name: providerName(i) }, ALLOW_MISSING] },
    });
    outer.push({ provider_name: providerName(i) });
  }
  if (count === 1) return inner[0]!;
  return { requires_any: { requirements: [...outer, { requires_all: { requirements: inner } }] } };
}

/** The JwtAuthentication typed config (with "@type"), or undefined when there are no rules. */
export function buildJwtAuthentication(
  rules: readonly JwtRule[],
  options: JwtFilterOptions,
): JsonObject | undefined {
  if (rules.length === 0) return undefined;
  const providers: Record<string, Json> = {};
  rules.forEach((rule, i) => {
    providers[providerName(i)] = buildJwtProvider(rule, options);
  });
  return typed(JWT_AUTHN_TYPE, {
    providers,
    rules: [{ match: { prefix: "/" }, requires: requirement(rules.length) }],
    bypass_cors_preflight: true,
  });
}

/** The HTTP filter, or undefined when no RequestAuthentication applies. */
export function buildJwtAuthnFilter(
  rules: readonly JwtRule[],
  options: JwtFilterOptions,
): JsonObject | undefined {
  const config = buildJwtAuthentication(rules, options);
  return config ? { name: JWT_AUTHN_FILTER_NAME, typed_config: config } : undefined;
}
