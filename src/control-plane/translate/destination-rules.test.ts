import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "../model/testing.ts";
import { destinationRuleFor } from "./destination-rules.ts";

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: svc-ns}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
`;
const HOST = "reviews.svc-ns.svc.cluster.local";

function dr(name: string, namespace: string, body: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${body
  .trim()
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
---
`;
}

const client = (namespace: string, labels: Record<string, string> = {}) => ({ namespace, labels });
const ruleName = (yaml: string, from = client("client-ns")) =>
  destinationRuleFor(snapshotFromYaml(yaml), from, HOST)?.sources.map((s) => s.name);

describe("destinationRuleFor precedence", () => {
  const all =
    SERVICE +
    dr("in-client", "client-ns", `host: ${HOST}`) +
    dr("in-service", "svc-ns", "host: reviews") +
    dr("in-root", "istio-system", `host: ${HOST}`);

  it("prefers the client's namespace, then the service's, then the root namespace", () => {
    expect(ruleName(all)).toEqual(["in-client"]);
    expect(ruleName(all, client("other"))).toEqual(["in-service"]);
    expect(ruleName(SERVICE + dr("in-root", "istio-system", `host: ${HOST}`))).toEqual(["in-root"]);
  });

  it("resolves short hosts in the rule's namespace", () => {
    // `reviews` written in client-ns means reviews.client-ns, not our service.
    expect(ruleName(SERVICE + dr("short", "client-ns", "host: reviews"))).toBeUndefined();
  });

  it("skips rules not exported to the client", () => {
    const yaml =
      SERVICE +
      dr("private", "svc-ns", "host: reviews\nexportTo: ['.']") +
      dr("in-root", "istio-system", `host: ${HOST}`);
    expect(ruleName(yaml)).toEqual(["in-root"]);
    expect(ruleName(yaml, client("svc-ns"))).toEqual(["private"]);
  });

  it("prefers an exact host over a wildcard within one namespace", () => {
    const yaml =
      SERVICE +
      dr("wild", "svc-ns", "host: '*.svc-ns.svc.cluster.local'") +
      dr("exact", "svc-ns", "host: reviews");
    expect(ruleName(yaml)).toEqual(["exact"]);
    expect(ruleName(SERVICE + dr("wild", "svc-ns", "host: '*.svc.cluster.local'"))).toEqual([
      "wild",
    ]);
  });

  it("applies workloadSelector rules only to selected proxies of the rule's namespace, ahead of others", () => {
    const yaml =
      SERVICE +
      dr("plain", "client-ns", `host: ${HOST}`) +
      dr("selected", "client-ns", `host: ${HOST}\nworkloadSelector: {matchLabels: {app: client}}`);
    expect(ruleName(yaml, client("client-ns", { app: "client" }))).toEqual(["selected"]);
    expect(ruleName(yaml, client("client-ns", { app: "other" }))).toEqual(["plain"]);
    const elsewhere =
      SERVICE +
      dr("selected", "svc-ns", `host: reviews\nworkloadSelector: {matchLabels: {app: client}}`);
    expect(ruleName(elsewhere, client("client-ns", { app: "client" }))).toBeUndefined();
  });
});

describe("destinationRuleFor merging", () => {
  const yaml =
    SERVICE +
    dr(
      "first",
      "svc-ns",
      `host: reviews
trafficPolicy: {loadBalancer: {simple: RANDOM}}
subsets:
- {name: v1, labels: {version: v1}}`,
    ) +
    dr(
      "second",
      "svc-ns",
      `host: reviews
trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
subsets:
- {name: v1, labels: {version: other}}
- {name: v2, labels: {version: v2}}`,
    );

  it("merges rules for one host: first created supplies the policy, first subset definition wins", () => {
    const merged = destinationRuleFor(snapshotFromYaml(yaml), client("client-ns"), HOST);
    expect(merged?.sources.map((s) => s.name)).toEqual(["first", "second"]);
    expect(merged?.trafficPolicy).toEqual({ loadBalancer: { simple: "RANDOM" } });
    expect(merged?.subsets).toEqual([
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ]);
    expect(merged?.host).toBe(HOST);
    expect(merged?.exportTo).toEqual(["*"]);
  });

  it("takes the policy from a later rule when the first has none", () => {
    const later =
      SERVICE +
      dr("first", "svc-ns", "host: reviews\nsubsets: [{name: v1, labels: {version: v1}}]") +
      dr("second", "svc-ns", "host: reviews\ntrafficPolicy: {loadBalancer: {simple: RANDOM}}");
    const merged = destinationRuleFor(snapshotFromYaml(later), client("client-ns"), HOST);
    expect(merged?.trafficPolicy).toEqual({ loadBalancer: { simple: "RANDOM" } });
  });

  it("returns undefined without any rule", () => {
    expect(
      destinationRuleFor(snapshotFromYaml(SERVICE), client("client-ns"), HOST),
    ).toBeUndefined();
  });
});
