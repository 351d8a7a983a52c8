// What a matched route does, as the proxy compiles it: weighted splits (swept over random
// values), redirects and their Location, path and authority rewrites, direct responses.
import { describe, expect, it } from "vitest";
import type { ProxyResources } from "../../src/control-plane/translate/proxy-resources.ts";
import { type Call, expectCall, sweepClusters } from "../support/simulate.ts";
import { istio, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const MESH =
  workload("reviews", {
    vip: "10.96.0.11",
    ports: ["http:9080"],
    pods: [
      { ip: "10.0.0.11", labels: { version: "v1" } },
      { ip: "10.0.0.12", labels: { version: "v2" } },
      { ip: "10.0.0.13", labels: { version: "v3" } },
    ],
  }) +
  istio("DestinationRule", "reviews", {
    host: "reviews",
    subsets: ["v1", "v2", "v3"].map((v) => ({ name: v, labels: { version: v } })),
  });
const v1 = outbound("reviews", 9080, "v1");
const v2 = outbound("reviews", 9080, "v2");
const v3 = outbound("reviews", 9080, "v3");
const call = (extra: Partial<Call> = {}): Call => ({ port: 9080, host: "reviews:9080", ...extra });
const dest = (subset: string) => ({ host: "reviews", subset });

function meshWith(http: object[]): ProxyResources {
  const vs = istio("VirtualService", "reviews", { hosts: ["reviews"], http });
  return resourcesFor(MESH + vs, sidecar("productpage-1", { ip: "10.0.0.1" }));
}

describe("weighted destinations", () => {
  const mesh = meshWith([
    {
      name: "split",
      route: [
        { destination: dest("v1"), weight: 75 },
        { destination: dest("v2"), weight: 25 },
      ],
    },
  ]);

  it("lists both clusters with their weights and picks by the random value", () => {
    const weightedClusters = [
      { name: v1, weight: 75 },
      { name: v2, weight: 25 },
    ];
    expectCall(mesh, call(), { route: "split", weightedClusters, cluster: v1 }, () => 0);
    expectCall(mesh, call(), { cluster: v1 }, () => 0.749);
    expectCall(mesh, call(), { cluster: v2 }, () => 0.75);
    expectCall(mesh, call(), { cluster: v2 }, () => 0.999);
  });

  it("a sweep of random values realises 75/25", () => {
    expect(sweepClusters(mesh, call(), 200)).toEqual({ [v1]: 150, [v2]: 50 });
  });

  it("weights are relative: 1 and 3 split 25/75", () => {
    const relative = meshWith([
      {
        route: [
          { destination: dest("v1"), weight: 1 },
          { destination: dest("v3"), weight: 3 },
        ],
      },
    ]);
    expect(sweepClusters(relative, call(), 100)).toEqual({ [v1]: 25, [v3]: 75 });
  });

  it("a zero-weight destination never receives traffic", () => {
    const zero = meshWith([
      {
        route: [
          { destination: dest("v1"), weight: 0 },
          { destination: dest("v2"), weight: 100 },
        ],
      },
    ]);
    expect(sweepClusters(zero, call(), 50)).toEqual({ [v2]: 50 });
  });
});

describe("redirect, rewrite and direct response", () => {
  const mesh = meshWith([
    {
      name: "moved",
      match: [{ uri: { prefix: "/old" } }],
      redirect: { uri: "/new", authority: "new.example.com" },
    },
    {
      name: "found",
      match: [{ uri: { exact: "/temp" } }],
      redirect: { uri: "/elsewhere", redirectCode: 302 },
    },
    {
      name: "https",
      match: [{ uri: { exact: "/secure" } }],
      redirect: { scheme: "https", port: 8443 },
    },
    {
      name: "v1-to-v2",
      match: [{ uri: { prefix: "/v1/" } }],
      rewrite: { uri: "/v2/", authority: "reviews-v2.internal" },
      route: [{ destination: dest("v2") }],
    },
    {
      name: "regex-rewrite",
      match: [{ uri: { prefix: "/items" } }],
      rewrite: { uriRegexRewrite: { match: "^/items/([0-9]+)$", rewrite: "/item?id=\\1" } },
      route: [{ destination: dest("v1") }],
    },
    {
      name: "teapot",
      match: [{ uri: { exact: "/tea" } }],
      directResponse: { status: 418, body: { string: "short and stout" } },
    },
  ]);

  it("redirect: Location carries the new authority and path (301 by default)", () => {
    const result = expectCall(mesh, call({ path: "/old" }), {
      route: "moved",
      redirect: "http://new.example.com/new",
    });
    expect(result.action).toMatchObject({ kind: "redirect", responseCode: 301 });
  });

  it("redirectCode 302; the query survives a path redirect", () => {
    const result = expectCall(mesh, call({ path: "/temp?q=1" }), {
      redirect: "http://reviews:9080/elsewhere?q=1",
    });
    expect(result.action).toMatchObject({ responseCode: 302 });
  });

  it("scheme and port redirect", () => {
    expectCall(mesh, call({ path: "/secure" }), { redirect: "https://reviews:8443/secure" });
  });

  it("rewrite: the matched prefix is replaced and the authority rewritten", () => {
    expectCall(mesh, call({ path: "/v1/list?page=2" }), {
      route: "v1-to-v2",
      cluster: v2,
      pathAfterRewrite: "/v2/list?page=2",
      hostRewrite: "reviews-v2.internal",
    });
  });

  it("uriRegexRewrite substitutes capture groups", () => {
    expectCall(mesh, call({ path: "/items/42" }), {
      route: "regex-rewrite",
      pathAfterRewrite: "/item?id=42",
    });
  });

  it("directResponse answers locally with status and body", () => {
    expectCall(mesh, call({ path: "/tea" }), {
      route: "teapot",
      directResponse: { status: 418, body: "short and stout" },
    });
  });
});
