// What the proxy keeps of envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication after
// decoding (decode-jwt-authn.ts): providers with parsed key sets, requirement trees, rules.
import type { Jwks } from "./jwks.ts";

export const JWT_AUTHN_FILTER_NAME = "envoy.filters.http.jwt_authn";
export const JWT_AUTHN_TYPE = "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication";

export type JwksSource =
  | { kind: "local"; jwks: Jwks }
  | {
      kind: "remote";
      uri: string;
      cluster: string;
      timeoutMs: number;
      /** How long a fetched key set is used before the next request refetches it. */
      cacheDurationMs: number;
    };

export interface JwtProviderConfig {
  name: string;
  /** "" accepts any issuer. */
  issuer: string;
  audiences: string[];
  jwks: JwksSource;
  /** Keep the token in the request after verification. */
  forward: boolean;
  /** Names lowercase; "" prefix takes the whole value. */
  fromHeaders: { name: string; valuePrefix: string }[];
  fromParams: string[];
  fromCookies: string[];
  /** Lowercase; "" when not forwarded. */
  forwardPayloadHeader: string;
  padForwardPayloadHeader: boolean;
  payloadInMetadata: string;
  spaceDelimitedClaims: string[];
  headerInMetadata: string;
  failedStatusInMetadata: string;
  clockSkewSeconds: number;
  /** Header names lowercase. */
  claimToHeaders: { headerName: string; claimName: string }[];
  clearRouteCache: boolean;
}

export type JwtRequirement =
  | { type: "provider"; provider: string; audiences?: string[] }
  | { type: "any"; requirements: JwtRequirement[] }
  | { type: "all"; requirements: JwtRequirement[] }
  | { type: "allow_missing" }
  | { type: "allow_missing_or_failed" }
  | { type: "allow_all" };

export interface JwtRouteMatch {
  kind: "prefix" | "path" | "path_separated_prefix";
  value: string;
  caseSensitive: boolean;
}

export interface JwtRequirementRule {
  match: JwtRouteMatch;
  requirement: JwtRequirement;
}

export interface JwtAuthnConfig {
  /** In configuration order. */
  providers: Map<string, JwtProviderConfig>;
  rules: JwtRequirementRule[];
  bypassCorsPreflight: boolean;
  stripFailureResponse: boolean;
}
