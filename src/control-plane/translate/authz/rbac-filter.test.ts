import { describe, expect, it } from "vitest";
import type { AuthzPolicy } from "./policies.ts";
import {
  buildCustomHttpFilters,
  buildCustomNetworkFilters,
  buildRbacRules,
  policyName,
  rbacHttpFilter,
  rbacNetworkFilter,
} from "./rbac-filter.ts";

const EMPTY_RULE = { from: [], to: [], when: [] };
const policy = (p: Partial<AuthzPolicy> & Pick<AuthzPolicy, "name">): AuthzPolicy => ({
  namespace: "foo",
  action: "ALLOW",
  dryRun: false,
  rules: [EMPTY_RULE],
  ...p,
});
const OPTIONS = { forTcp: false, trustDomain: "cluster.local" };

describe("buildRbacRules", () => {
  it("names one policy per rule and skips null rules", () => {
    const built = buildRbacRules(
      [policy({ name: "p", rules: [EMPTY_RULE, null, EMPTY_RULE] })],
      "ALLOW",
      OPTIONS,
    );
    expect(Object.keys((built?.rules?.policies ?? {}) as object)).toEqual([
      "ns[foo]-policy[p]-rule[0]",
      "ns[foo]-policy[p]-rule[2]",
    ]);
  });

  it("gives a rule-less policy one policy that never matches", () => {
    const built = buildRbacRules([policy({ name: "none", rules: [] })], "ALLOW", OPTIONS);
    expect(built?.rules).toEqual({
      action: "ALLOW",
      policies: {
        "ns[foo]-policy[none]-rule[0]": {
          permissions: [{ not_rule: { any: true } }],
          principals: [{ not_id: { any: true } }],
        },
      },
    });
  });

  it("puts dry-run policies in shadow rules only", () => {
    const built = buildRbacRules([policy({ name: "try", dryRun: true })], "DENY", OPTIONS);
    expect(built?.rules).toBeUndefined();
    expect(Object.keys((built?.shadowRules?.policies ?? {}) as object)).toEqual([
      "ns[foo]-policy[try]-rule[0]",
    ]);
    expect(rbacHttpFilter(built ?? {}).typed_config).toMatchObject({
      shadow_rules_stat_prefix: "istio_dry_run_deny_",
    });
  });

  it("builds nothing without policies", () => {
    expect(buildRbacRules([], "DENY", OPTIONS)).toBeUndefined();
  });

  it("sorts policy names", () => {
    const built = buildRbacRules([policy({ name: "b" }), policy({ name: "a" })], "ALLOW", OPTIONS);
    expect(Object.keys((built?.rules?.policies ?? {}) as object)).toEqual([
      policyName("foo", "a", 0),
      policyName("foo", "b", 0),
    ]);
  });
});

describe("filters", () => {
  const built = { rules: { action: "DENY", policies: {} } };

  it("wraps rules as the HTTP filter", () => {
    expect(rbacHttpFilter(built)).toEqual({
      name: "envoy.filters.http.rbac",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
        rules: built.rules,
      },
    });
  });

  it("wraps rules as the network filter with stat prefix tcp.", () => {
    expect(rbacNetworkFilter(built)).toEqual({
      name: "envoy.filters.network.rbac",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC",
        rules: built.rules,
        stat_prefix: "tcp.",
      },
    });
  });
});

describe("CUSTOM", () => {
  const custom = [policy({ name: "ext", action: "CUSTOM", provider: "opa" })];
  const extAuthz = { name: "envoy.filters.http.ext_authz" };
  const tcpExtAuthz = { name: "envoy.filters.network.ext_authz" };

  it("denies what the rules cover when the provider is unknown", () => {
    const [filter, ...rest] = buildCustomHttpFilters(custom, { trustDomain: "cluster.local" });
    expect(rest).toEqual([]);
    expect(filter?.typed_config).toMatchObject({
      rules: {
        action: "DENY",
        policies: {
          "istio-ext-authz-ns[foo]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action": {},
        },
      },
    });
    const [tcp] = buildCustomNetworkFilters(custom, { trustDomain: "cluster.local" });
    expect(tcp?.typed_config).toMatchObject({ stat_prefix: "tcp.", rules: { action: "DENY" } });
  });

  it("marks requests in shadow rules and adds the provider's ext_authz filter", () => {
    const providers = new Map([["opa", { http: extAuthz }]]);
    const filters = buildCustomHttpFilters(custom, { trustDomain: "cluster.local", providers });
    expect(filters[1]).toBe(extAuthz);
    expect(filters[0]?.typed_config).toMatchObject({
      shadow_rules: {
        action: "DENY",
        policies: { "istio-ext-authz-ns[foo]-policy[ext]-rule[0]": {} },
      },
      shadow_rules_stat_prefix: "istio_ext_authz_",
    });
    expect(filters[0]?.typed_config).not.toHaveProperty("rules");
    // An HTTP-only provider does nothing on TCP; a gRPC one pairs up there too.
    expect(buildCustomNetworkFilters(custom, { trustDomain: "cluster.local", providers })).toEqual(
      [],
    );
    const grpc = new Map([["opa", { http: extAuthz, tcp: tcpExtAuthz }]]);
    expect(
      buildCustomNetworkFilters(custom, { trustDomain: "cluster.local", providers: grpc })[1],
    ).toBe(tcpExtAuthz);
  });

  it("fails closed on TCP for a provider that cannot guard TCP", () => {
    const providers = new Map([["opa", { http: extAuthz, denyOnTcp: true }]]);
    const [tcp, ...rest] = buildCustomNetworkFilters(custom, {
      trustDomain: "cluster.local",
      providers,
    });
    expect(rest).toEqual([]);
    expect(tcp?.typed_config).toMatchObject({ rules: { action: "DENY" }, stat_prefix: "tcp." });
  });

  it("fails closed when the workload's CUSTOM policies name different providers", () => {
    const providers = new Map([
      ["opa", { http: extAuthz }],
      ["other", { http: extAuthz }],
    ]);
    const two = [...custom, policy({ name: "ext2", action: "CUSTOM", provider: "other" })];
    const filters = buildCustomHttpFilters(two, { trustDomain: "cluster.local", providers });
    expect(filters).toHaveLength(1);
    expect(filters[0]?.typed_config).toMatchObject({ rules: { action: "DENY" } });
  });
});
