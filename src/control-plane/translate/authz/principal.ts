// RBAC Principals (who is asking) from AuthorizationPolicy `from.source` fields and the `when`
// keys istiod files under principals: peer identities (`authenticated.principal_name`, the URI SAN
// of the client certificate), source IPs, request headers, and the verified JWT's claims as the
// jwt_authn filter leaves them in dynamic metadata (`envoy.filters.http.jwt_authn` → `payload`).
import type { JsonObject } from "../../../xds/proto-json.ts";
import {
  type AttributeGenerator,
  cidrRange,
  headerMatcher,
  httpOnly,
  inlineHeaderMatcher,
  listOrValue,
  metadataMatcher,
  orValues,
  RuleProblem,
  regexMatcher,
  stringMatcher,
} from "./matchers.ts";

export const SPIFFE_PREFIX = "spiffe://";
/** The filter whose dynamic metadata holds the verified JWT (RequestAuthentication). */
export const JWT_AUTHN_FILTER = "envoy.filters.http.jwt_authn";
/** jwt_authn's `payload_in_metadata` key istiod sets on every provider. */
export const JWT_PAYLOAD_KEY = "payload";

export function principalAny(): JsonObject {
  return { any: true };
}
export function principalAnd(ids: readonly JsonObject[]): JsonObject {
  return { and_ids: { ids: [...ids] } };
}
export function principalOr(ids: readonly JsonObject[]): JsonObject {
  return { or_ids: { ids: [...ids] } };
}
export function principalNot(id: JsonObject): JsonObject {
  return { not_id: id };
}

function authenticated(principalName: JsonObject): JsonObject {
  return { authenticated: { principal_name: principalName } };
}

/** A matcher on one JWT claim (a path below `payload`). */
export function jwtClaim(claims: readonly string[], value: JsonObject): JsonObject {
  return { metadata: metadataMatcher(JWT_AUTHN_FILTER, [JWT_PAYLOAD_KEY, ...claims], value) };
}

/** `principals` and `source.principal`: the SPIFFE URI, written without `spiffe://`. */
export const SOURCE_PRINCIPAL: AttributeGenerator = {
  kind: "each",
  build: (_key, value) => authenticated(stringMatcher(value, SPIFFE_PREFIX)),
};

/** `namespaces` and `source.namespace`: any identity whose SPIFFE path has `/ns/<ns>/`. */
export const SOURCE_NAMESPACE: AttributeGenerator = {
  kind: "each",
  build: (_key, value) => authenticated(regexMatcher(`.*/ns/${value.replaceAll("*", ".*")}/.*`)),
};

/** Istio's serviceAccountRegex: `sa` or `ns/sa` (default: the policy's namespace), any trust domain. */
export function serviceAccountRegex(defaultNamespace: string, value: string): string {
  const slash = value.indexOf("/");
  const ns = slash < 0 ? defaultNamespace : value.slice(0, slash);
  const sa = slash < 0 ? value : value.slice(slash + 1);
  return `spiffe://.+/ns/${ns}/(.+/|)sa/${sa}(/.+)?`;
}

/** `serviceAccounts` and `source.serviceAccount`, relative to the policy's namespace. */
export function sourceServiceAccount(policyNamespace: string): AttributeGenerator {
  return {
    kind: "each",
    build: (_key, value) =>
      authenticated(regexMatcher(serviceAccountRegex(policyNamespace, value))),
  };
}

/** `ipBlocks` and `source.ip`: the peer's address (Envoy's direct_remote_ip). */
export const SOURCE_IP: AttributeGenerator = {
  kind: "each",
  build: (_key, value) => {
    const range = cidrRange(value);
    return range instanceof RuleProblem ? range : { direct_remote_ip: range };
  },
};

/** `remoteIpBlocks` and `remote.ip`: the original client (X-Forwarded-For, PROXY protocol). */
export const REMOTE_IP: AttributeGenerator = {
  kind: "each",
  build: (_key, value) => {
    const range = cidrRange(value);
    return range instanceof RuleProblem ? range : { remote_ip: range };
  },
};

const ANY_VALUE = regexMatcher(".+");

/** Issuer and subject matchers of one request principal `<iss>/<sub>` (wildcards at either end). */
function issuerAndSubject(value: string): [JsonObject, JsonObject] {
  // The issuer may be a URL, so the subject starts after the last "/".
  const slash = value.lastIndexOf("/");
  const found = slash >= 0;
  const iss = found ? value.slice(0, slash) : value;
  const sub = found ? value.slice(slash + 1) : "";
  if (value === "*") return [ANY_VALUE, ANY_VALUE];
  if (value.startsWith("*")) {
    if (!found) return [ANY_VALUE, { suffix: value.slice(1) }];
    return [iss === "*" ? ANY_VALUE : { suffix: iss.slice(1) }, { exact: sub }];
  }
  if (value.endsWith("*")) {
    if (!found) return [{ prefix: value.slice(0, -1) }, ANY_VALUE];
    return [{ exact: iss }, sub === "*" ? ANY_VALUE : { prefix: sub.slice(0, -1) }];
  }
  return [{ exact: iss }, { exact: sub }];
}

/** `requestPrincipals` and `request.auth.principal`: the JWT's `iss` and `sub` claims. */
export const REQUEST_PRINCIPAL: AttributeGenerator = {
  kind: "all",
  build: (key, values, forTcp) => {
    if (forTcp) return httpOnly(key);
    const ids = values.map((value) => {
      const [iss, sub] = issuerAndSubject(value);
      return principalAnd([
        jwtClaim(["iss"], { string_match: iss }),
        jwtClaim(["sub"], { string_match: sub }),
      ]);
    });
    return ids.length === 1 ? ids[0]! : principalOr(ids);
  },
};

function claimValues(values: readonly string[]): JsonObject {
  return listOrValue(orValues(values.map((v) => ({ string_match: stringMatcher(v) }))));
}

function claimGenerator(claim: string): AttributeGenerator {
  return {
    kind: "all",
    build: (key, values, forTcp) =>
      forTcp ? httpOnly(key) : jwtClaim([claim], claimValues(values)),
  };
}

/** `request.auth.audiences`: the `aud` claim (a string or a list). */
export const REQUEST_AUDIENCES = claimGenerator("aud");
/** `request.auth.presenter`: the `azp` claim. */
export const REQUEST_PRESENTER = claimGenerator("azp");

/** Claim names of `[a]` or nested `[a][b]` (Istio's extractNameInNestedBrackets). */
export function claimPath(brackets: string): string[] | RuleProblem {
  const nested = brackets.match(/^(\[[^[\]]*\])+$/);
  if (nested) return [...brackets.matchAll(/\[([^[\]]*)\]/g)].map((m) => m[1]!);
  if (brackets.startsWith("[") && brackets.endsWith("]")) return [brackets.slice(1, -1)];
  return new RuleProblem(`expecting format [<NAME>], but found ${brackets}`);
}

/** `request.auth.claims[<name>]…`: a (nested) claim, any of the values. */
export const REQUEST_CLAIM: AttributeGenerator = {
  kind: "all",
  build: (key, values, forTcp) => {
    if (forTcp) return httpOnly(key);
    const path = claimPath(key.slice("request.auth.claims".length));
    return path instanceof RuleProblem ? path : jwtClaim(path, claimValues(values));
  },
};

function headerName(key: string, attribute: string): string | RuleProblem {
  const rest = key.slice(attribute.length);
  if (!rest.startsWith("[") || !rest.endsWith("]")) {
    return new RuleProblem(`expecting format [<NAME>], but found ${rest}`);
  }
  return rest.slice(1, -1);
}

/** `request.headers[<name>]`. */
export const REQUEST_HEADER: AttributeGenerator = {
  kind: "each",
  build: (key, value, forTcp) => {
    if (forTcp) return httpOnly(key);
    const name = headerName(key, "request.headers");
    return name instanceof RuleProblem ? name : { header: headerMatcher(name, value) };
  },
};

/** `request.experimental.inline.headers[<name>]`: also matches one element of a comma-joined value. */
export const REQUEST_INLINE_HEADER: AttributeGenerator = {
  kind: "each",
  build: (key, value, forTcp) => {
    if (forTcp) return httpOnly(key);
    const name = headerName(key, "request.experimental.inline.headers");
    return name instanceof RuleProblem ? name : { header: inlineHeaderMatcher(name, value) };
  },
};
