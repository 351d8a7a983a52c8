import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "../model/testing.ts";
import { mergeDelegateRules } from "./route-delegates.ts";
import { viewNamed } from "./route-testing.ts";
import type { Obj } from "./route-values.ts";
import { virtualServiceViews } from "./route-virtual-services.ts";

describe("mergeDelegateRules (Istio's mergeHTTPRoute)", () => {
  const root = {
    name: "root",
    match: [{ name: "api", uri: { prefix: "/api" }, headers: { a: { exact: "1" } } }],
    timeout: "5s",
    headers: { request: { set: { "x-root": "1" } } },
    delegate: { name: "d" },
  };

  it("narrows matches inside the root's, names them root-leaf, inherits unset settings", () => {
    const merged = mergeDelegateRules(root, [
      {
        name: "v2",
        match: [{ name: "m", uri: { prefix: "/api/v2" }, headers: { b: { exact: "2" } } }],
        timeout: "1s",
        route: [{ destination: { host: "v2" } }],
      },
      { route: [{ destination: { host: "rest" } }] },
    ]);
    expect(merged).toEqual([
      {
        name: "root-v2",
        match: [
          {
            name: "api-m",
            uri: { prefix: "/api/v2" },
            headers: { a: { exact: "1" }, b: { exact: "2" } },
            withoutHeaders: {},
            queryParams: {},
            sourceLabels: {},
          },
        ],
        timeout: "1s",
        headers: { request: { set: { "x-root": "1" } } },
        route: [{ destination: { host: "v2" } }],
      },
      {
        name: "root",
        match: root.match,
        timeout: "5s",
        headers: { request: { set: { "x-root": "1" } } },
        route: [{ destination: { host: "rest" } }],
      },
    ]);
  });

  const conflicts: Array<[string, Obj]> = [
    ["a prefix outside the root's", { uri: { prefix: "/web" } }],
    ["a regex under a prefix", { uri: { regex: "/api/.*" } }],
    ["another header value", { headers: { a: { exact: "9" } } }],
    ["another port", { port: 8080 }],
  ];
  for (const [name, match] of conflicts) {
    it(`drops a delegate rule with ${name}`, () => {
      const withPort = { ...root, match: [{ ...root.match[0], port: 9080 }] };
      expect(
        mergeDelegateRules(withPort, [{ match: [match], route: [{ destination: { host: "x" } }] }]),
      ).toEqual([]);
    });
  }
});

describe("delegation in the normalised VirtualServices", () => {
  const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root, namespace: front}
spec:
  hosts: [shop.example]
  gateways: [istio-system/gw]
  http:
  - match: [{uri: {prefix: /cart}}]
    delegate: {name: cart, namespace: cart}
  - match: [{uri: {prefix: /hidden}}]
    delegate: {name: private, namespace: cart}
  - match: [{uri: {prefix: /missing}}]
    delegate: {name: nope}
  - route: [{destination: {host: web}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, namespace: cart}
spec:
  http:
  - match: [{uri: {prefix: /cart/items}}]
    route: [{destination: {host: items}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: cart}
spec:
  exportTo: ["."]
  http:
  - route: [{destination: {host: hidden}}]
`;

  it("replaces delegate rules by the delegate's (hosts resolved in the delegate's namespace); skips hidden or missing ones", () => {
    const snapshot = snapshotFromYaml(yaml);
    expect(virtualServiceViews(snapshot).map((v) => v.name)).toEqual(["root"]);
    const view = viewNamed(snapshot, "root");
    expect(view.http.map((r) => (r.route as Obj[])[0]!.destination)).toEqual([
      { host: "items.cart.svc.cluster.local" },
      { host: "web.front.svc.cluster.local" },
    ]);
    expect((view.http[0]!.match as Obj[])[0]!.uri).toEqual({ prefix: "/cart/items" });
  });
});
