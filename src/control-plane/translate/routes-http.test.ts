import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { translateRetryPolicy } from "./route-retry.ts";
import { routesOfSpec, testProxy } from "./route-testing.ts";
import type { Obj } from "./route-values.ts";
import { configMetadata } from "./routes-http.ts";

const R = "reviews.default.svc.cluster.local";
const META = configMetadata("default", "vs");
const RETRY = translateRetryPolicy(undefined, false)!;
const NO_TIMEOUT = { timeout: "0s", max_grpc_timeout: "0s" };

function routes(
  spec: Obj,
  port = 9080,
  proxy: ProxyNode = testProxy(),
  extraYaml = "",
): JsonObject[] {
  return routesOfSpec(spec, { port, proxy, extraYaml });
}

const to = (host: string, extra: Obj = {}) => ({ destination: { host, ...extra } });

describe("buildHttpRoutes: destinations", () => {
  it("one destination: cluster, no timeout, default retries, decorator, metadata", () => {
    expect(routes({ http: [{ route: [to("reviews")] }] })).toEqual([
      {
        match: { prefix: "/" },
        metadata: META,
        route: { cluster: `outbound|9080||${R}`, ...NO_TIMEOUT, retry_policy: RETRY },
        decorator: { operation: `${R}:9080/*` },
      },
    ]);
  });

  const clusterCases: Array<[string, Obj, number, string]> = [
    ["subset", to("reviews", { subset: "v2" }), 9080, `outbound|9080|v2|${R}`],
    [
      "explicit port",
      to("multi", { port: { number: 9090 } }),
      9080,
      "outbound|9090||multi.default.svc.cluster.local",
    ],
    [
      "the service's only port",
      to("ratings"),
      9080,
      "outbound|8080||ratings.default.svc.cluster.local",
    ],
    [
      "several ports, none named: the listener port",
      to("multi"),
      80,
      "outbound|80||multi.default.svc.cluster.local",
    ],
    [
      "unknown host: the listener port",
      to("api.example.com"),
      9080,
      "outbound|9080||api.example.com",
    ],
    [
      "short names resolve in the VirtualService's namespace",
      to("ratings.other.svc.cluster.local"),
      9080,
      "outbound|9080||ratings.other.svc.cluster.local",
    ],
  ];
  for (const [name, destination, port, cluster] of clusterCases) {
    it(`cluster: ${name}`, () => {
      const [route] = routes({ http: [{ route: [destination] }] }, port);
      expect((route!.route as Obj).cluster).toBe(cluster);
    });
  }

  it("several destinations: weighted clusters as given, zero weights left out; vsName decorator", () => {
    const [route] = routes({
      http: [
        {
          route: [
            { ...to("reviews", { subset: "v1" }), weight: 70 },
            { ...to("reviews", { subset: "v2" }), weight: 0 },
            { ...to("reviews", { subset: "v3" }), weight: 20 },
          ],
        },
      ],
    });
    expect(route!.route).toEqual({
      weighted_clusters: {
        clusters: [
          { name: `outbound|9080|v1|${R}`, weight: 70 },
          { name: `outbound|9080|v3|${R}`, weight: 20 },
        ],
      },
      ...NO_TIMEOUT,
      retry_policy: RETRY,
    });
    expect(route!.decorator).toEqual({ operation: "vs:9080/*" });
  });

  it("destination headers: after the rule's with one destination, on each weighted cluster with several", () => {
    const set = (key: string, value: string) => ({
      header: { key, value },
      append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
    });
    const [single] = routes({
      http: [
        {
          headers: { request: { set: { "x-rule": "r" } } },
          route: [
            {
              ...to("reviews"),
              headers: { request: { set: { "x-dest": "d", host: "d.example" } } },
            },
          ],
        },
      ],
    });
    expect(single!.request_headers_to_add).toEqual([set("x-rule", "r"), set("x-dest", "d")]);
    expect((single!.route as Obj).host_rewrite_literal).toBe("d.example");
    const [weighted] = routes({
      http: [
        {
          route: [
            {
              ...to("reviews", { subset: "v1" }),
              weight: 50,
              headers: {
                response: { add: { "x-v": "1" } },
                request: { set: { ":authority": "v1.example" } },
              },
            },
            { ...to("reviews", { subset: "v2" }), weight: 50 },
          ],
        },
      ],
    });
    const clusters = ((weighted!.route as Obj).weighted_clusters as Obj).clusters as Obj[];
    expect(clusters[0]).toEqual({
      name: `outbound|9080|v1|${R}`,
      weight: 50,
      response_headers_to_add: [
        { header: { key: "x-v", value: "1" }, append_action: "APPEND_IF_EXISTS_OR_ADD" },
      ],
      host_rewrite_literal: "v1.example",
    });
    expect(weighted!.request_headers_to_add).toBeUndefined();
  });

  it("a rule-level :authority wins over a destination's", () => {
    const [route] = routes({
      http: [
        {
          headers: { request: { set: { ":authority": "rule.example" } } },
          route: [{ ...to("reviews"), headers: { request: { set: { host: "dest.example" } } } }],
        },
      ],
    });
    expect((route!.route as Obj).host_rewrite_literal).toBe("rule.example");
  });

  it("timeout, retries and mirrors", () => {
    const [route] = routes({
      http: [
        {
          route: [to("reviews")],
          timeout: "2.5s",
          retries: { attempts: 0 },
          mirror: { host: "ratings" },
          mirrorPercentage: { value: 12.5 },
          mirrors: [
            { destination: { host: "reviews", subset: "v9" } },
            { destination: { host: "multi", port: { number: 80 } }, percentage: { value: 0 } },
          ],
        },
      ],
    });
    expect(route!.route).toEqual({
      cluster: `outbound|9080||${R}`,
      timeout: "2.5s",
      max_grpc_timeout: "2.5s",
      request_mirror_policies: [
        {
          cluster: "outbound|8080||ratings.default.svc.cluster.local",
          runtime_fraction: { default_value: { numerator: 125000, denominator: "MILLION" } },
          trace_sampled: false,
          disable_shadow_host_suffix_append: true,
        },
        {
          cluster: `outbound|9080|v9|${R}`,
          runtime_fraction: { default_value: { numerator: 100, denominator: "HUNDRED" } },
          trace_sampled: false,
          disable_shadow_host_suffix_append: true,
        },
      ],
    });
  });

  it("mirrorPercentage 0 mirrors nothing", () => {
    const [route] = routes({
      http: [
        { route: [to("reviews")], mirror: { host: "ratings" }, mirrorPercentage: { value: 0 } },
      ],
    });
    expect((route!.route as Obj).request_mirror_policies).toBeUndefined();
  });

  it("proxyless gRPC clients read max_stream_duration", () => {
    const [route] = routes(
      { http: [{ route: [to("reviews")], timeout: "3s" }] },
      9080,
      testProxy({ kind: "proxyless" }),
    );
    expect(route!.route).toMatchObject({
      timeout: "3s",
      max_stream_duration: { max_stream_duration: "3s" },
    });
    expect((route!.route as Obj).max_grpc_timeout).toBeUndefined();
  });

  it("hash_policy from the DestinationRule's consistentHash; retries then stay on the host", () => {
    const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}
  subsets: [{name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {consistentHash: {useSourceIp: true}}}}]
---
`;
    const [plain] = routes({ http: [{ route: [to("reviews")] }] }, 9080, testProxy(), dr);
    expect((plain!.route as Obj).hash_policy).toEqual([{ header: { header_name: "x-user" } }]);
    expect((plain!.route as Obj).retry_policy).toEqual(translateRetryPolicy(undefined, true));
    const [subset] = routes(
      { http: [{ route: [to("reviews", { subset: "v1" })] }] },
      9080,
      testProxy(),
      dr,
    );
    expect((subset!.route as Obj).hash_policy).toEqual([
      { connection_properties: { source_ip: true } },
    ]);
  });
});
