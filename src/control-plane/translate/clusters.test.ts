import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { HTTP_PROTOCOL_OPTIONS_KEY } from "./cluster-draft.ts";
import { buildOutboundClusters } from "./clusters.ts";
import {
  at,
  destinationRuleYaml,
  expectEncodable,
  podYaml,
  proxyNode,
  REVIEWS,
  REVIEWS_SERVICE,
} from "./clusters-testing.ts";
import { MAX_UINT32 } from "./connection-pool.ts";

const PODS =
  podYaml("reviews-v1", "10.0.0.1", { labels: "app: reviews, version: v1" }) +
  podYaml("reviews-v2", "10.0.0.2", { labels: "app: reviews, version: v2" });

function clusters(yaml: string, proxy = proxyNode(), mesh = {}): Map<string, JsonObject> {
  const out = buildOutboundClusters(snapshotFromYaml(yaml, mesh), proxy);
  expectEncodable(out.values());
  return out;
}

const upstream = (cluster: JsonObject | undefined) => {
  const options = at(cluster, "typed_extension_protocol_options") as JsonObject | undefined;
  return options?.[HTTP_PROTOCOL_OPTIONS_KEY] as JsonObject | undefined;
};

describe("outbound service clusters", () => {
  const all = clusters(REVIEWS_SERVICE + PODS);

  it("builds Istio's default EDS cluster", () => {
    const name = `outbound|9080||${REVIEWS}`;
    expect(all.get(name)).toEqual({
      name,
      type: "EDS",
      common_lb_config: {},
      alt_stat_name: `${name};`,
      metadata: {
        filter_metadata: {
          istio: { services: [{ host: REVIEWS, name: "reviews", namespace: "default" }] },
        },
      },
      connect_timeout: "10s",
      circuit_breakers: {
        thresholds: [
          {
            max_connections: MAX_UINT32,
            max_pending_requests: MAX_UINT32,
            max_requests: MAX_UINT32,
            max_retries: MAX_UINT32,
            track_remaining: true,
          },
        ],
      },
      lb_policy: "LEAST_REQUEST",
      eds_cluster_config: {
        service_name: name,
        eds_config: { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" },
      },
      filters: [
        {
          name: "istio.metadata_exchange",
          typed_config: {
            "@type": "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
            protocol: "istio-peer-exchange",
          },
        },
      ],
    });
  });

  it("lists every port plus BlackHole and Passthrough, sorted by name", () => {
    expect([...all.keys()]).toEqual([
      "BlackHoleCluster",
      "PassthroughCluster",
      `outbound|7000||${REVIEWS}`,
      `outbound|9080||${REVIEWS}`,
      `outbound|9090||${REVIEWS}`,
    ]);
  });

  it("speaks HTTP/2 to grpc/http2 ports and the downstream protocol to sniffed ports", () => {
    expect(at(upstream(all.get(`outbound|9090||${REVIEWS}`)), "explicit_http_config")).toEqual({
      http2_protocol_options: {},
    });
    expect(upstream(all.get(`outbound|7000||${REVIEWS}`))?.use_downstream_protocol_config).toEqual({
      http_protocol_options: {},
      http2_protocol_options: {},
    });
  });

  it("gives gateways no PassthroughCluster and no protocol sniffing", () => {
    const gateway = clusters(REVIEWS_SERVICE + PODS, proxyNode({ kind: "router" }));
    expect(gateway.has("PassthroughCluster")).toBe(false);
    expect(gateway.has("BlackHoleCluster")).toBe(true);
    expect(
      gateway.get(`outbound|7000||${REVIEWS}`)?.typed_extension_protocol_options,
    ).toBeUndefined();
  });

  it("builds BlackHoleCluster and PassthroughCluster as Istio does", () => {
    expect(all.get("BlackHoleCluster")).toEqual({
      name: "BlackHoleCluster",
      type: "STATIC",
      connect_timeout: "10s",
      lb_policy: "ROUND_ROBIN",
      alt_stat_name: "BlackHoleCluster;",
    });
    const passthrough = all.get("PassthroughCluster");
    expect(passthrough).toMatchObject({ type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED" });
    expect(upstream(passthrough)).toEqual({
      "@type": `type.googleapis.com/${HTTP_PROTOCOL_OPTIONS_KEY}`,
      common_http_protocol_options: { idle_timeout: "300s" },
      use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
    });
  });

  it("takes connect_timeout from the mesh config", () => {
    const out = clusters(REVIEWS_SERVICE, proxyNode(), { connectTimeoutMs: 1500 });
    expect(out.get(`outbound|9080||${REVIEWS}`)?.connect_timeout).toBe("1.5s");
    expect(out.get("BlackHoleCluster")?.connect_timeout).toBe("1.5s");
  });

  it("skips UDP ports and services not exported to the proxy's namespace", () => {
    const yaml = `apiVersion: v1
kind: Service
metadata: {name: dns, namespace: other}
spec:
  ports: [{name: dns, port: 53, protocol: UDP}, {name: tcp-dns, port: 53}]
---
apiVersion: v1
kind: Service
metadata: {name: private, namespace: other, annotations: {networking.istio.io/exportTo: "."}}
spec:
  ports: [{name: http, port: 80}]
---
`;
    expect([...clusters(yaml).keys()]).toEqual([
      "BlackHoleCluster",
      "PassthroughCluster",
      "outbound|53||dns.other.svc.cluster.local",
    ]);
  });

  it("builds one cluster per host, from the proxy's own namespace's service when hosts collide", () => {
    const entry = (ns: string, port: number) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shared, namespace: ${ns}}
spec:
  hosts: [shared.example.com]
  ports: [{number: ${port}, name: http, protocol: HTTP}]
  resolution: STATIC
---
`;
    const yaml = entry("a", 80) + entry("b", 81);
    const names = (ns: string) =>
      [...clusters(yaml, proxyNode({ namespace: ns })).keys()].filter((n) => n.includes("shared"));
    expect(names("b")).toEqual(["outbound|81||shared.example.com"]);
    expect(names("a")).toEqual(["outbound|80||shared.example.com"]);
  });

  it("builds only the services given in scope", () => {
    const scoped = buildOutboundClusters(snapshotFromYaml(REVIEWS_SERVICE), proxyNode(), {
      services: [],
    });
    expect([...scoped.keys()]).toEqual(["BlackHoleCluster", "PassthroughCluster"]);
  });

  it("is deterministic", () => {
    const again = clusters(REVIEWS_SERVICE + PODS);
    expect(JSON.stringify([...again])).toBe(JSON.stringify([...all]));
  });
});

describe("DestinationRule subsets and policies", () => {
  const rule = destinationRuleYaml(`host: reviews
trafficPolicy:
  loadBalancer: {simple: ROUND_ROBIN}
  connectionPool: {tcp: {maxConnections: 100}}
  portLevelSettings:
  - port: {number: 9090}
    loadBalancer: {simple: RANDOM}
subsets:
- name: v1
  labels: {version: v1}
  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}, tls: {mode: SIMPLE}}
- name: direct
  labels: {version: v2}
  trafficPolicy: {loadBalancer: {simple: PASSTHROUGH}}`);
  const out = clusters(REVIEWS_SERVICE + PODS + rule);
  const get = (port: number, subset = "") => out.get(`outbound|${port}|${subset}|${REVIEWS}`)!;

  it("adds one cluster per subset and port with config and subset metadata", () => {
    expect(get(9080, "v1").name).toBe(`outbound|9080|v1|${REVIEWS}`);
    expect(get(7000, "direct").name).toBe(`outbound|7000|direct|${REVIEWS}`);
    expect(at(get(9080, "v1"), "metadata.filter_metadata.istio")).toEqual({
      services: [{ host: REVIEWS, name: "reviews", namespace: "default" }],
      config: "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews",
      subset: "v1",
      alpn_override: "false",
    });
    expect(at(get(9080), "metadata.filter_metadata.istio.config")).toBe(
      "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews",
    );
  });

  it("applies the rule's policy, port-level settings replacing it for their port", () => {
    expect(get(9080).lb_policy).toBe("ROUND_ROBIN");
    expect(at(get(9080), "circuit_breakers.thresholds[0].max_connections")).toBe(100);
    expect(get(9090).lb_policy).toBe("RANDOM");
    expect(at(get(9090), "circuit_breakers.thresholds[0].max_connections")).toBe(MAX_UINT32);
  });

  it("merges the subset's policy over the rule's, field by field", () => {
    expect(get(9080, "v1").lb_policy).toBe("LEAST_REQUEST");
    expect(at(get(9080, "v1"), "circuit_breakers.thresholds[0].max_connections")).toBe(100);
  });

  it("makes PASSTHROUGH subsets ORIGINAL_DST clusters without EDS", () => {
    const direct = get(9080, "direct");
    expect([direct.type, direct.lb_policy, direct.eds_cluster_config]).toEqual([
      "ORIGINAL_DST",
      "CLUSTER_PROVIDED",
      undefined,
    ]);
  });
});
