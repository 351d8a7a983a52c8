// The HCM's `envoy.filters.http.jwt_authn` filters: one authenticator per connection manager
// (its key sets and remote JWKS cache live as long as the listener's chain), run before RBAC.
// A rejected token is the filter's own local reply (401/403 with www-authenticate); an accepted
// one rewrites the forwarded headers and path and leaves the payload as dynamic metadata.
import { decodeJwtAuthn } from "../jwt/decode-jwt-authn.ts";
import { JWT_AUTHN_FILTER_NAME, JWT_AUTHN_TYPE } from "../jwt/jwt-authn-config.ts";
import { JwtAuthnFilter } from "../jwt/jwt-authn-filter.ts";
import type { HttpFilter } from "../listener/types.ts";

export const isJwtFilter = (filter: HttpFilter): boolean =>
  filter.typeUrl.endsWith(`/${JWT_AUTHN_TYPE}`) || filter.typeUrl === JWT_AUTHN_TYPE;

/** The dynamic-metadata namespace the filter writes (RBAC reads Istio's `payload` from it). */
export const JWT_METADATA_NAMESPACE = JWT_AUTHN_FILTER_NAME;

export function compileJwtFilters(filters: readonly HttpFilter[]): Map<HttpFilter, JwtAuthnFilter> {
  const out = new Map<HttpFilter, JwtAuthnFilter>();
  for (const filter of filters) {
    if (!isJwtFilter(filter)) continue;
    // Checked when the listener was accepted; the same input decodes the same way.
    const decoded = decodeJwtAuthn(filter.config);
    if (decoded.ok) out.set(filter, new JwtAuthnFilter(decoded.config));
  }
  return out;
}
