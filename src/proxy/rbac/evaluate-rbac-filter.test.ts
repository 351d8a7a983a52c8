// The filters around the engine: ALLOW / DENY / LOG, empty policy sets, policy order, shadow
// rules, per-route overrides, and the counters, dynamic metadata and details Envoy emits (names
// checked against Envoy's own rbac_filter_test.cc expectations).
import { afterEach, describe, expect, it } from "vitest";
import { decodeRbacPerRoute, releaseRbacConfig } from "./decode-rbac.ts";
import { evaluateEngine, evaluateRbac } from "./evaluate-rbac.ts";
import { RBAC_DENIED_BODY, RBAC_DENIED_STATUS, rbacDeniedDetails } from "./rbac-outputs.ts";
import {
  compileHttpRbac,
  compileNetworkRbac,
  PEER_CERT,
  principalName,
  rbacRequest,
  SPIFFE,
} from "./testing.ts";
import type { RbacFilterConfig, RbacPerRouteConfig } from "./types.ts";

const held: Array<RbacFilterConfig | RbacPerRouteConfig> = [];
afterEach(() => {
  for (const config of held.splice(0)) releaseRbacConfig(config);
});

function http(json: unknown, statPrefix = "test"): RbacFilterConfig {
  const config = compileHttpRbac(json, { statPrefix });
  held.push(config);
  return config;
}

function perRoute(json: unknown): RbacPerRouteConfig {
  const result = decodeRbacPerRoute(json);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  held.push(result.value);
  return result.value;
}

const port = (action: unknown, p = 8080) => ({
  action,
  policies: {
    "port-8080": { permissions: [{ destination_port: p }], principals: [{ any: true }] },
  },
});

// Envoy's test fixture: enforced "foo" matches port 123, shadow "bar" matches port 456.
const ENVOY_FIXTURE = (rulesStatPrefix = "") => ({
  rules: {
    action: "ALLOW",
    policies: {
      foo: {
        permissions: [
          {
            or_rules: {
              rules: [
                { requested_server_name: { safe_regex: { regex: ".*cncf.io" } } },
                { destination_port: 123 },
                { url_path: { path: { suffix: "suffix" } } },
              ],
            },
          },
        ],
        principals: [{ any: true }],
      },
    },
  },
  rules_stat_prefix: rulesStatPrefix,
  shadow_rules: {
    action: "ALLOW",
    policies: {
      bar: {
        permissions: [
          {
            or_rules: {
              rules: [
                { requested_server_name: { exact: "xyz.cncf.io" } },
                { destination_port: 456 },
              ],
            },
          },
        ],
        principals: [{ any: true }],
      },
    },
  },
  shadow_rules_stat_prefix: "shadow_rules_prefix_",
});

describe("RBAC actions", () => {
  const cases = [
    {
      name: "ALLOW with no policies denies everything",
      rules: { action: "ALLOW" },
      allowed: false,
    },
    { name: "present and empty rules deny everything", rules: {}, allowed: false },
    { name: "DENY with no policies allows everything", rules: { action: "DENY" }, allowed: true },
    {
      name: "ALLOW with a matching policy",
      rules: port("ALLOW"),
      allowed: true,
      policy: "port-8080",
    },
    { name: "ALLOW without a matching policy", rules: port("ALLOW", 9090), allowed: false },
    {
      name: "DENY with a matching policy",
      rules: port("DENY"),
      allowed: false,
      policy: "port-8080",
    },
    { name: "DENY without a matching policy", rules: port("DENY", 9090), allowed: true },
    { name: "DENY given as its enum number", rules: port(1), allowed: false, policy: "port-8080" },
    { name: "LOG with a match", rules: port("LOG"), allowed: true, policy: "port-8080", log: true },
    { name: "LOG without a match", rules: port("LOG", 9090), allowed: true, log: false },
  ];
  it.each(cases)("$name", ({ rules, allowed, policy, log }) => {
    const decision = evaluateRbac(http({ rules }), rbacRequest());
    expect(decision.allowed).toBe(allowed);
    expect(decision.matchedPolicy).toBe(policy);
    expect(decision.details).toBe(allowed ? undefined : rbacDeniedDetails(policy));
    expect(decision.accessLogHint).toBe(log);
    if (log === undefined) expect(decision.dynamicMetadata["envoy.common"]).toBeUndefined();
    else expect(decision.dynamicMetadata["envoy.common"]).toEqual({ access_log_hint: log });
  });

  it("takes the first matching policy in byte order", () => {
    const any = { permissions: [{ any: true }], principals: [{ any: true }] };
    const config = http({ rules: { action: "DENY", policies: { b: any, a: any, Z: any } } });
    expect(evaluateRbac(config, rbacRequest()).details).toBe(
      "rbac_access_denied_matched_policy[Z]",
    );
  });

  it("allows without counters or metadata when there are no rules", () => {
    expect(evaluateRbac(http({}), rbacRequest())).toEqual({
      allowed: true,
      counters: [],
      dynamicMetadata: {},
    });
  });

  it("names the denial as Envoy does", () => {
    expect(RBAC_DENIED_STATUS).toBe(403);
    expect(RBAC_DENIED_BODY).toBe("RBAC: access denied");
    expect(rbacDeniedDetails(undefined)).toBe("rbac_access_denied_matched_policy[none]");
    expect(rbacDeniedDetails("deny all\tnow")).toBe(
      "rbac_access_denied_matched_policy[deny_all_now]",
    );
  });

  it("evaluates one engine without the filter around it", () => {
    const config = http({ rules: port("DENY") });
    expect(evaluateEngine(config.rules!, rbacRequest())).toEqual({
      allowed: false,
      matchedPolicy: "port-8080",
    });
  });
});

describe("RBAC HTTP filter outputs", () => {
  it("counts and records the enforced and shadow results", () => {
    const config = http({ ...ENVOY_FIXTURE(), track_per_rule_stats: true });
    const decision = evaluateRbac(config, rbacRequest({ destinationPort: 123 }));
    expect(decision).toMatchObject({
      allowed: true,
      matchedPolicy: "foo",
      shadow: { allowed: false },
    });
    expect(decision.counters).toEqual([
      "test.rbac.shadow_rules_prefix_.shadow_denied",
      "test.rbac.allowed",
      "test.rbac.policy.foo.allowed",
    ]);
    expect(decision.dynamicMetadata).toEqual({
      "envoy.filters.http.rbac": {
        shadow_rules_prefix_shadow_engine_result: "denied",
        enforced_effective_policy_id: "foo",
        enforced_engine_result: "allowed",
      },
    });
  });

  it("prefixes the enforced counters and metadata keys with rules_stat_prefix", () => {
    const config = http(ENVOY_FIXTURE("rules_stat_prefix_"), "http.inbound.");
    const decision = evaluateRbac(config, rbacRequest({ destinationPort: 456 }));
    expect(decision.counters).toEqual([
      "http.inbound.rbac.shadow_rules_prefix_.shadow_allowed",
      "http.inbound.rbac.rules_stat_prefix_.denied",
    ]);
    expect(decision.dynamicMetadata["envoy.filters.http.rbac"]).toEqual({
      shadow_rules_prefix_shadow_effective_policy_id: "bar",
      shadow_rules_prefix_shadow_engine_result: "allowed",
      rules_stat_prefix_enforced_engine_result: "denied",
    });
    expect(decision.details).toBe("rbac_access_denied_matched_policy[none]");
  });

  it("records shadow results alone when nothing is enforced", () => {
    const { shadow_rules, shadow_rules_stat_prefix } = ENVOY_FIXTURE();
    const decision = evaluateRbac(
      http({ shadow_rules, shadow_rules_stat_prefix, track_per_rule_stats: true }),
      rbacRequest({ requestedServerName: "xyz.cncf.io" }),
    );
    expect(decision.allowed).toBe(true);
    expect(decision.enforced).toBeUndefined();
    expect(decision.counters).toEqual([
      "test.rbac.shadow_rules_prefix_.shadow_allowed",
      "test.rbac.shadow_rules_prefix_.policy.bar.shadow_allowed",
    ]);
    expect(Object.keys(decision.dynamicMetadata)).toEqual(["envoy.filters.http.rbac"]);
  });

  it("never sets access_log_hint from LOG shadow rules", () => {
    const decision = evaluateRbac(http({ shadow_rules: port("LOG") }), rbacRequest());
    expect(decision.accessLogHint).toBeUndefined();
    expect(decision.dynamicMetadata["envoy.common"]).toBeUndefined();
  });
});

describe("RBACPerRoute", () => {
  it("disables the filter on the route when it has no rbac", () => {
    const decision = evaluateRbac(
      http({ rules: { action: "ALLOW" } }),
      rbacRequest(),
      perRoute({}),
    );
    expect(decision).toEqual({ allowed: true, counters: [], dynamicMetadata: {} });
  });

  it("replaces the engines, keeps the filter's counters, renames the metadata keys", () => {
    const route = perRoute({
      "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute",
      rbac: {
        rules: {
          action: "DENY",
          policies: {
            foobar: { permissions: [{ destination_port: 123 }], principals: [{ any: true }] },
          },
        },
        rules_stat_prefix: "override_",
        track_per_rule_stats: true,
      },
    });
    const decision = evaluateRbac(
      http(ENVOY_FIXTURE("base_")),
      rbacRequest({ destinationPort: 123 }),
      route,
    );
    expect(decision.allowed).toBe(false);
    expect(decision.counters).toEqual([
      "test.rbac.base_.denied",
      "test.rbac.base_.policy.foobar.denied",
    ]);
    expect(decision.dynamicMetadata["envoy.filters.http.rbac"]).toEqual({
      override_enforced_effective_policy_id: "foobar",
      override_enforced_engine_result: "denied",
    });
  });

  it("keeps the filter's metadata prefixes when the route sets none", () => {
    const route = perRoute({ rbac: { rules: port("ALLOW") } });
    const decision = evaluateRbac(http(ENVOY_FIXTURE("base_")), rbacRequest(), route);
    expect(decision.dynamicMetadata["envoy.filters.http.rbac"]).toEqual({
      base_enforced_effective_policy_id: "port-8080",
      base_enforced_engine_result: "allowed",
    });
  });
});

describe("RBAC network filter", () => {
  function network(json: Record<string, unknown>): RbacFilterConfig {
    const config = compileNetworkRbac({ stat_prefix: "tcp", ...json });
    held.push(config);
    return config;
  }
  const tcp = (overrides = {}) => ({ ...rbacRequest(overrides), http: undefined });

  it("judges connections by peer identity and records only shadow metadata", () => {
    const config = network({
      rules: {
        policies: {
          mtls: { permissions: [{ any: true }], principals: [principalName({ exact: SPIFFE })] },
        },
      },
      shadow_rules: {
        action: "DENY",
        policies: { all: { permissions: [{ any: true }], principals: [{ any: true }] } },
      },
      shadow_rules_stat_prefix: "sp_",
    });
    const allowed = evaluateRbac(config, tcp({ tls: PEER_CERT }));
    expect(allowed.allowed).toBe(true);
    expect(allowed.counters).toEqual(["tcp.rbac.sp_.shadow_denied", "tcp.rbac.allowed"]);
    expect(allowed.dynamicMetadata).toEqual({
      "envoy.filters.network.rbac": {
        sp_shadow_effective_policy_id: "all",
        sp_shadow_engine_result: "denied",
      },
    });
    const denied = evaluateRbac(config, tcp());
    expect(denied).toMatchObject({
      allowed: false,
      details: "rbac_access_denied_matched_policy[none]",
    });
    expect(denied.counters).toContain("tcp.rbac.denied");
  });

  it("never matches HTTP-only url_path and uri_template rules", () => {
    const config = network({
      rules: {
        action: "DENY",
        policies: {
          path: {
            permissions: [{ url_path: { path: { prefix: "/" } } }],
            principals: [{ any: true }],
          },
        },
      },
    });
    expect(evaluateRbac(config, tcp()).allowed).toBe(true);
  });

  it("keeps the enforcement type and the delayed deny for the caller", () => {
    const config = network({ enforcement_type: "CONTINUOUS", delay_deny: "1.5s" });
    expect(config).toMatchObject({
      kind: "network",
      enforcementType: "CONTINUOUS",
      delayDenyMs: 1500,
    });
    expect(config.rules).toBeUndefined();
  });
});
