import { describe, expect, it } from "vitest";
import type { Resource } from "../../../config/resource.ts";
import type { ProxyNode } from "../../model/proxy.ts";
import {
  parseAuthorizationPolicy,
  parseGoBool,
  policyAttaches,
  selectWorkloadPolicies,
} from "./policies.ts";

function policy(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
): Resource {
  return {
    apiVersion: "security.istio.io/v1",
    group: "security.istio.io",
    version: "v1",
    kind: "AuthorizationPolicy",
    name,
    namespace,
    labels: {},
    annotations,
    spec,
    body: { spec },
  };
}

function proxy(namespace: string, labels: Record<string, string>): ProxyNode {
  return {
    id: "sidecar~10.0.0.1~p.ns~ns.svc.cluster.local",
    kind: "sidecar",
    ips: ["10.0.0.1"],
    podName: "p",
    namespace,
    labels,
    serviceAccount: "default",
    clusterId: "Kubernetes",
    network: "",
    locality: { region: "", zone: "", subzone: "" },
    metadata: {},
  };
}

describe("selectWorkloadPolicies", () => {
  const config = {
    authorizationPolicies: [
      policy("istio-system", "mesh", { action: "DENY", rules: [{}] }),
      policy("istio-system", "mesh-web", { selector: { matchLabels: { app: "web" } } }),
      policy("foo", "ns-wide", { action: "AUDIT", rules: [{}] }),
      policy("foo", "web-only", { selector: { matchLabels: { app: "web" } }, rules: [{}] }),
      policy("bar", "elsewhere", { rules: [{}] }),
      policy("foo", "custom", { action: "CUSTOM", provider: { name: "opa" }, rules: [{}] }),
      policy("foo", "bogus", { action: "MAYBE" }),
    ],
  };
  const names = (list: { name: string }[]) => list.map((p) => p.name);

  it("takes root-namespace policies mesh-wide and others from the workload's namespace", () => {
    const got = selectWorkloadPolicies(
      config,
      { rootNamespace: "istio-system" },
      proxy("foo", { app: "web" }),
    );
    expect(names(got.deny)).toEqual(["mesh"]);
    expect(names(got.allow)).toEqual(["mesh-web", "web-only"]);
    expect(names(got.audit)).toEqual(["ns-wide"]);
    expect(names(got.custom)).toEqual(["custom"]);
  });

  it("applies selectors to the workload's labels", () => {
    const got = selectWorkloadPolicies(
      config,
      { rootNamespace: "istio-system" },
      proxy("foo", { app: "db" }),
    );
    expect(names(got.allow)).toEqual([]);
    expect(names(got.deny)).toEqual(["mesh"]);
  });

  it("reads the root namespace once when the workload lives there", () => {
    const got = selectWorkloadPolicies(
      config,
      { rootNamespace: "istio-system" },
      proxy("istio-system", {}),
    );
    expect(names(got.deny)).toEqual(["mesh"]);
  });
});

describe("policyAttaches", () => {
  const targeted = policy("foo", "t", {
    targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "public" }],
  });

  it("never attaches a targetRef policy to a sidecar", () => {
    expect(policyAttaches(targeted, proxy("foo", { app: "web" }))).toBe(false);
  });

  it("attaches it to the named Gateway API gateway in its namespace", () => {
    const label = "gateway.networking.k8s.io/gateway-name";
    expect(policyAttaches(targeted, proxy("foo", { [label]: "public" }))).toBe(true);
    expect(policyAttaches(targeted, proxy("foo", { [label]: "other" }))).toBe(false);
    expect(policyAttaches(targeted, proxy("bar", { [label]: "public" }))).toBe(false);
  });
});

describe("parseAuthorizationPolicy", () => {
  it("reads action, provider, dry-run and rules (null rules kept as null)", () => {
    const parsed = parseAuthorizationPolicy(
      policy(
        "foo",
        "p",
        {
          action: "CUSTOM",
          provider: { name: "opa" },
          rules: [
            null,
            {
              from: [{ source: { principals: ["a"] } }, {}],
              to: [{ operation: { paths: ["/"] } }],
            },
          ],
        },
        { "istio.io/dry-run": "true" },
      ),
    );
    expect(parsed?.action).toBe("CUSTOM");
    expect(parsed?.provider).toBe("opa");
    expect(parsed?.dryRun).toBe(true);
    expect(parsed?.rules[0]).toBeNull();
    expect(parsed?.rules[1]?.from[0]?.principals).toEqual(["a"]);
    expect(parsed?.rules[1]?.from[1]).toBeUndefined();
    expect(parsed?.rules[1]?.to[0]?.paths).toEqual(["/"]);
  });

  it("defaults to ALLOW and reads booleans as Go does", () => {
    expect(parseAuthorizationPolicy(policy("foo", "p", {}))?.action).toBe("ALLOW");
    expect(parseGoBool("T")).toBe(true);
    expect(parseGoBool("1")).toBe(true);
    expect(parseGoBool("yes")).toBe(false);
    expect(parseGoBool(undefined)).toBe(false);
  });
});
