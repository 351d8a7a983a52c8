import { describe, expect, it } from "vitest";
import type { Resource } from "../../../config/resource.ts";
import { DEFAULT_MESH_CONFIG } from "../../model/mesh-config.ts";
import { decodeProxyNode, type ProxyNode } from "../../model/proxy.ts";
import { snapshotFromYaml } from "../../model/testing.ts";
import { buildAuthnFilters } from "./authn-filters.ts";
import { buildFakeJwks, buildJwtAuthentication } from "./jwt-authn-filter.ts";
import { jwksSourcesOf, jwtRuleOf, jwtRulesOf } from "./jwt-rules.ts";
import { policiesForWorkload, shouldAttachPolicy } from "./policy-selection.ts";

function proxy(namespace: string, labels: Record<string, string>, type = "sidecar"): ProxyNode {
  const decoded = decodeProxyNode({
    id: `${type}~10.0.0.1~p.${namespace}~${namespace}.svc.cluster.local`,
    metadata: { NAMESPACE: namespace, LABELS: labels },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

function policy(namespace: string, spec: Record<string, unknown>, name = "p"): Resource {
  return {
    apiVersion: "security.istio.io/v1",
    group: "security.istio.io",
    version: "v1",
    kind: "RequestAuthentication",
    name,
    namespace,
    labels: {},
    annotations: {},
    spec,
    body: { spec },
  };
}

describe("policy selection (istiod's getConfigsForWorkload)", () => {
  const web = { namespace: "shop", labels: { app: "web", version: "v1" } };

  it("selects by matchLabels subset; no selector selects all; empty matchLabels selects all", () => {
    expect(shouldAttachPolicy(policy("shop", {}), web)).toBe(true);
    expect(
      shouldAttachPolicy(policy("shop", { selector: { matchLabels: { app: "web" } } }), web),
    ).toBe(true);
    expect(shouldAttachPolicy(policy("shop", { selector: {} }), web)).toBe(true);
    expect(
      shouldAttachPolicy(policy("shop", { selector: { matchLabels: { app: "db" } } }), web),
    ).toBe(false);
  });

  it("ignores targetRef policies for sidecars", () => {
    const targeted = policy("shop", {
      targetRef: { group: "gateway.networking.k8s.io", kind: "Gateway", name: "gw" },
    });
    expect(shouldAttachPolicy(targeted, web)).toBe(false);
  });

  it("reads the workload namespace first, then the root namespace, never others", () => {
    const list = [
      policy("istio-system", {}, "mesh"),
      policy("other", {}, "elsewhere"),
      policy("shop", {}, "ns"),
      policy("istio-system", { selector: { matchLabels: { app: "web" } } }, "mesh-web"),
    ];
    expect(policiesForWorkload(list, web, "istio-system").map((p) => p.name)).toEqual([
      "ns",
      "mesh",
      "mesh-web",
    ]);
  });
});

describe("jwt rules", () => {
  it("default the fetch timeout to 5 s and read jwks_uri as jwksUri", () => {
    const rule = jwtRuleOf({ issuer: "i", jwks_uri: "https://i/keys", timeout: "1.5s" });
    expect(rule).toMatchObject({ jwksUri: "https://i/keys", timeoutMs: 1500 });
    expect(jwtRuleOf({ issuer: "i" }).timeoutMs).toBe(5000);
  });

  it("sort by issuer stably across policies", () => {
    const rules = jwtRulesOf([
      policy("a", { jwtRules: [{ issuer: "z" }, { issuer: "b", jwks: "1" }] }),
      policy("a", { jwtRules: [{ issuer: "b", jwks: "2" }, { issuer: "a" }] }),
    ]);
    expect(rules.map((r) => `${r.issuer}${r.jwks}`)).toEqual(["a", "b1", "b2", "z"]);
  });

  it("name each key set to fetch once (inline jwks need none)", () => {
    const snapshot = {
      config: {
        requestAuthentications: [
          policy("a", { jwtRules: [{ issuer: "i", jwksUri: "u", timeout: "2s" }] }),
          policy("b", {
            jwtRules: [
              { issuer: "i", jwksUri: "u" },
              { issuer: "j", jwks: "{}" },
            ],
          }),
          policy("c", { jwtRules: [{ issuer: "k" }] }),
        ],
      },
    } as never;
    expect(jwksSourcesOf(snapshot)).toEqual([
      { issuer: "i", jwksUri: "u", timeoutMs: 2000 },
      { issuer: "k", jwksUri: "", timeoutMs: 5000 },
    ]);
  });
});

describe("jwt_authn filter", () => {
  it("builds istiod's fake key set from the jwksUri", () => {
    expect(buildFakeJwks("https://x/keys")).toBe(
      `{"keys":[ {"e":"AQAB","kid":"abc","kty":"RSA","n":"${Buffer.from("Error-IstiodFailedToFetchJwksUri-https://x/keys").toString("base64url")}"}]}`,
    );
  });

  it("asks the lookup for the rule's issuer and jwksUri", () => {
    const asked: string[] = [];
    const config = buildJwtAuthentication([jwtRuleOf({ issuer: "i", jwksUri: "u" })], {
      clearRouteCache: false,
      jwks: {
        lookup: (issuer, uri) => {
          asked.push(`${issuer} ${uri}`);
          return '{"keys":[]}';
        },
      },
    });
    expect(asked).toEqual(["i u"]);
    const providers = config?.providers as Record<string, { local_jwks: unknown }>;
    expect(providers["origins-0"]?.local_jwks).toEqual({ inline_string: '{"keys":[]}' });
  });

  it("is absent without rules", () => {
    expect(buildJwtAuthentication([], { clearRouteCache: false })).toBeUndefined();
  });
});

describe("buildAuthnFilters", () => {
  const snapshot = snapshotFromYaml(`
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: {name: jwt, namespace: shop}
spec:
  jwtRules:
  - issuer: https://auth.example
    jwks: '{"keys":[]}'
`);
  const ctx = { meshConfig: DEFAULT_MESH_CONFIG, snapshot, proxy: proxy("shop", { app: "web" }) };

  it("adds jwt_authn inbound and on gateways, never outbound", () => {
    expect(buildAuthnFilters(ctx, "sidecar-inbound").map((f) => f.name)).toEqual([
      "envoy.filters.http.jwt_authn",
    ]);
    expect(buildAuthnFilters(ctx, "sidecar-outbound")).toEqual([]);
    const gateway = { ...ctx, proxy: proxy("shop", {}, "router") };
    const [filter] = buildAuthnFilters(gateway, "gateway");
    expect(JSON.stringify(filter)).toContain('"clear_route_cache":true');
  });

  it("adds nothing until the context carries a snapshot", () => {
    expect(
      buildAuthnFilters({ meshConfig: DEFAULT_MESH_CONFIG, proxy: ctx.proxy }, "gateway"),
    ).toEqual([]);
  });
});
