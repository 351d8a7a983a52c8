import { describe, expect, it } from "vitest";
import { RuleProblem } from "./matchers.ts";
import type { AuthzOperation, AuthzRule, AuthzSource } from "./policies.ts";
import { buildRbacPolicy, migrateTrustDomain, ruleModel } from "./rbac-policy.ts";

const NO_SOURCE: AuthzSource = {
  principals: [],
  notPrincipals: [],
  requestPrincipals: [],
  notRequestPrincipals: [],
  namespaces: [],
  notNamespaces: [],
  serviceAccounts: [],
  notServiceAccounts: [],
  ipBlocks: [],
  notIpBlocks: [],
  remoteIpBlocks: [],
  notRemoteIpBlocks: [],
};
const NO_OPERATION: AuthzOperation = {
  hosts: [],
  notHosts: [],
  ports: [],
  notPorts: [],
  methods: [],
  notMethods: [],
  paths: [],
  notPaths: [],
};
const source = (s: Partial<AuthzSource>): AuthzSource => ({ ...NO_SOURCE, ...s });
const operation = (o: Partial<AuthzOperation>): AuthzOperation => ({ ...NO_OPERATION, ...o });
const rule = (r: Partial<AuthzRule>): AuthzRule => ({ from: [], to: [], when: [], ...r });
const OPTIONS = { policyNamespace: "foo", trustDomain: "cluster.local" };

describe("ruleModel", () => {
  it("orders fields as istiod does, conditions last", () => {
    const model = ruleModel(
      rule({
        from: [source({ ipBlocks: ["1.1.1.1"], namespaces: ["a"], principals: ["p"] })],
        to: [operation({ ports: ["80"], paths: ["/"], hosts: ["h"], methods: ["GET"] })],
        when: [
          { key: "source.ip", values: ["2.2.2.2"], notValues: [] },
          { key: "destination.port", values: ["81"], notValues: [] },
        ],
      }),
      "foo",
    );
    if (model instanceof RuleProblem) throw new Error(model.message);
    expect(model.principals.map((l) => l.map((a) => a.key))).toEqual([
      ["source.principal", "source.namespace", "source.ip", "source.ip"],
    ]);
    expect(model.permissions.map((l) => l.map((a) => a.key))).toEqual([
      [":authority", ":method", "path-matcher", "destination.port", "destination.port"],
    ]);
  });

  it("refuses unknown condition keys", () => {
    const model = ruleModel(
      rule({ when: [{ key: "source.user", values: ["x"], notValues: [] }] }),
      "foo",
    );
    expect(model).toBeInstanceOf(RuleProblem);
  });
});

describe("buildRbacPolicy", () => {
  it("makes each from/to entry an alternative and ANDs the fields of one entry", () => {
    const policy = buildRbacPolicy(
      rule({
        from: [source({ principals: ["a"] }), source({ namespaces: ["b"] })],
        to: [operation({ methods: ["GET"], paths: ["/x"] })],
      }),
      { ...OPTIONS, forTcp: false, action: "ALLOW" },
    );
    if (policy instanceof RuleProblem) throw new Error(policy.message);
    expect((policy.principals as unknown[]).length).toBe(2);
    expect(policy.permissions).toEqual([
      {
        and_rules: {
          rules: [
            {
              or_rules: {
                rules: [{ header: { name: ":method", string_match: { exact: "GET" } } }],
              },
            },
            { or_rules: { rules: [{ url_path: { path: { exact: "/x" } } }] } },
          ],
        },
      },
    ]);
  });

  it("skips an ALLOW rule with HTTP attributes on TCP but widens a DENY rule", () => {
    const r = rule({ to: [operation({ ports: ["80"], methods: ["GET"] })] });
    expect(buildRbacPolicy(r, { ...OPTIONS, forTcp: true, action: "ALLOW" })).toBeInstanceOf(
      RuleProblem,
    );
    expect(buildRbacPolicy(r, { ...OPTIONS, forTcp: true, action: "DENY" })).toEqual({
      permissions: [
        { and_rules: { rules: [{ or_rules: { rules: [{ destination_port: 80 }] } }] } },
      ],
      principals: [{ and_ids: { ids: [{ any: true }] } }],
    });
    const httpOnly = rule({ from: [source({ requestPrincipals: ["*"] })] });
    expect(buildRbacPolicy(httpOnly, { ...OPTIONS, forTcp: true, action: "LOG" })).toEqual({
      permissions: [{ and_rules: { rules: [{ any: true }] } }],
      principals: [{ and_ids: { ids: [{ any: true }] } }],
    });
  });

  it("narrows an ALLOW rule with a bad value and drops the value from a DENY rule", () => {
    const r = rule({ from: [source({ ipBlocks: ["10.0.0.1", "not-an-ip"] })] });
    expect(buildRbacPolicy(r, { ...OPTIONS, forTcp: false, action: "ALLOW" })).toBeInstanceOf(
      RuleProblem,
    );
    const deny = buildRbacPolicy(r, { ...OPTIONS, forTcp: false, action: "DENY" });
    expect(JSON.stringify(deny)).toContain("10.0.0.1");
    expect(JSON.stringify(deny)).not.toContain("not-an-ip");
  });

  it("rewrites cluster.local principals to the mesh's trust domain", () => {
    const policy = buildRbacPolicy(
      rule({ from: [source({ principals: ["cluster.local/ns/a/sa/b"] })] }),
      { ...OPTIONS, trustDomain: "corp.example", forTcp: false, action: "ALLOW" },
    );
    expect(JSON.stringify(policy)).toContain("spiffe://corp.example/ns/a/sa/b");
  });
});

describe("migrateTrustDomain", () => {
  it("rewrites cluster.local and leaves other domains and wildcards alone", () => {
    expect(migrateTrustDomain("cluster.local/ns/a/sa/b", "td")).toBe("td/ns/a/sa/b");
    expect(migrateTrustDomain("other/ns/a/sa/b", "td")).toBe("other/ns/a/sa/b");
    expect(migrateTrustDomain("*/ns/a/sa/b", "td")).toBe("*/ns/a/sa/b");
    expect(migrateTrustDomain("no-namespace", "td")).toBe("no-namespace");
  });
});
