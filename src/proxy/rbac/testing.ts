// Test helpers for the RBAC engine: compile a config or fail loudly, build requests and rules,
// and run one row of a rule table.
import {
  decodeHttpRbac,
  decodeNetworkRbac,
  type RbacDecodeOptions,
  releaseRbacConfig,
} from "./decode-rbac.ts";
import { evaluateRbac } from "./evaluate-rbac.ts";
import { URI_TEMPLATE_MATCH_TYPE } from "./leaf-matchers.ts";
import type {
  RbacFilterConfig,
  RbacHttpRequest,
  RbacPeerCertificate,
  RbacRequest,
} from "./types.ts";

/** Compiles an HTTP RBAC filter config, throwing with every decode error when it is invalid. */
export function compileHttpRbac(json: unknown, options?: RbacDecodeOptions): RbacFilterConfig {
  const result = decodeHttpRbac(json, options);
  if (!result.ok) throw new Error(`RBAC config rejected:\n${result.errors.join("\n")}`);
  return result.value;
}

/** Compiles a network RBAC filter config, throwing with every decode error when it is invalid. */
export function compileNetworkRbac(json: unknown): RbacFilterConfig {
  const result = decodeNetworkRbac(json);
  if (!result.ok) throw new Error(`RBAC config rejected:\n${result.errors.join("\n")}`);
  return result.value;
}

/** An ALLOW filter with one policy "p" made of the given permission and principal. */
export function singlePolicy(
  permission: unknown = { any: true },
  principal: unknown = { any: true },
  action = "ALLOW",
): unknown {
  return {
    rules: { action, policies: { p: { permissions: [permission], principals: [principal] } } },
  };
}

/** A plaintext GET http://example.com/ from 10.0.0.2 to 10.0.0.1:8080, unless overridden. */
export function rbacRequest(
  overrides: Partial<RbacRequest> = {},
  http: Partial<RbacHttpRequest> = {},
): RbacRequest {
  return {
    http: {
      method: "GET",
      authority: "example.com",
      path: "/",
      scheme: "http",
      headers: {},
      ...http,
    },
    destinationIp: "10.0.0.1",
    destinationPort: 8080,
    directRemoteIp: "10.0.0.2",
    ...overrides,
  };
}

export const SPIFFE = "spiffe://cluster.local/ns/default/sa/admin";

/** A workload certificate: one SPIFFE URI SAN, one DNS SAN, a subject. */
export const PEER_CERT: RbacPeerCertificate = {
  uriSans: [SPIFFE],
  dnsSans: ["admin.default.svc"],
  subject: "CN=admin,O=acme",
};

/** jwt_authn-style dynamic metadata with nested claims. */
export const JWT_METADATA = {
  "envoy.filters.http.jwt_authn": {
    payload: { iss: "acme", groups: ["user", "admin"], admin: true },
  },
};

export function headerRule(name: string, rest: Record<string, unknown>) {
  return { header: { name, ...rest } };
}

export function cidr(address_prefix: string, prefix_len?: number) {
  return { address_prefix, prefix_len };
}

export function principalName(matcher: Record<string, unknown>) {
  return { authenticated: { principal_name: matcher } };
}

/** A metadata rule on `envoy.filters.http.jwt_authn` at `path`. */
export function metadataRule(path: string[], value: unknown, extra: Record<string, unknown> = {}) {
  return {
    metadata: {
      filter: "envoy.filters.http.jwt_authn",
      path: path.map((key) => ({ key })),
      value,
      ...extra,
    },
  };
}

export function uriTemplateRule(path_template: string) {
  return {
    uri_template: {
      name: "envoy.path.match.uri_template.uri_template_matcher",
      typed_config: { "@type": `type.googleapis.com/${URI_TEMPLATE_MATCH_TYPE}`, path_template },
    },
  };
}

/** One row of a rule table: the policy's permission and principal, the request, the verdict. */
export interface RbacCase {
  name: string;
  permission?: unknown;
  principal?: unknown;
  request?: Partial<RbacRequest>;
  http?: Partial<RbacHttpRequest>;
  match: boolean;
}

/** Whether an ALLOW filter whose only policy is the row's allows the row's request. */
export function runCase(c: RbacCase): boolean {
  const config = compileHttpRbac(singlePolicy(c.permission, c.principal));
  try {
    return evaluateRbac(config, rbacRequest(c.request, c.http)).allowed;
  } finally {
    releaseRbacConfig(config);
  }
}
