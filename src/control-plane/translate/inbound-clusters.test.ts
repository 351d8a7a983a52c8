import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { HTTP_PROTOCOL_OPTIONS_KEY } from "./cluster-draft.ts";
import {
  at,
  destinationRuleYaml,
  expectEncodable,
  podYaml,
  proxyNode,
  REVIEWS,
  REVIEWS_SERVICE,
} from "./clusters-testing.ts";
import {
  buildInboundClusters,
  buildInboundPassthroughCluster,
  inboundServiceTargets,
} from "./inbound-clusters.ts";

const POD = podYaml("reviews-v1", "10.0.0.1", { labels: "app: reviews, version: v1" });
const ALIAS = `apiVersion: v1
kind: Service
metadata: {name: reviews-alias, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
`;
const me = proxyNode({ ip: "10.0.0.1", labels: { app: "reviews", version: "v1" } });

function inbound(yaml: string, proxy = me, options = {}): Map<string, JsonObject> {
  const snapshot = snapshotFromYaml(yaml);
  const out = buildInboundClusters(snapshot, proxy, undefined, options);
  expectEncodable(out.values());
  return out;
}

describe("inbound clusters", () => {
  it("finds the service ports whose endpoints are the proxy", () => {
    const targets = inboundServiceTargets(snapshotFromYaml(REVIEWS_SERVICE + POD), me);
    expect(targets.map((t) => `${t.service.name}:${t.port.port}->${t.targetPort}`)).toEqual([
      "reviews:9080->9080",
      "reviews:9090->9080",
      "reviews:7000->9080",
    ]);
  });

  it("builds one STATIC cluster per target port, pointing at the app on localhost", () => {
    const out = inbound(REVIEWS_SERVICE + POD);
    expect([...out.keys()]).toEqual(["InboundPassthroughCluster", "inbound|9080||"]);
    const cluster = out.get("inbound|9080||");
    expect(cluster).toMatchObject({
      name: "inbound|9080||",
      type: "STATIC",
      connect_timeout: "10s",
      alt_stat_name: "inbound|9080||;",
      load_assignment: {
        cluster_name: "inbound|9080||",
        endpoints: [
          {
            lb_endpoints: [
              {
                endpoint: {
                  address: { socket_address: { address: "127.0.0.1", port_value: 9080 } },
                },
              },
            ],
          },
        ],
      },
      metadata: {
        filter_metadata: {
          istio: { services: [{ host: REVIEWS, name: "reviews", namespace: "default" }] },
        },
      },
    });
    expect(cluster?.lb_policy).toBeUndefined();
    expect(cluster?.upstream_bind_config).toBeUndefined();
  });

  it("lists every service on the primary's port in telemetry metadata (services in host order)", () => {
    const out = inbound(REVIEWS_SERVICE + ALIAS + POD);
    expect(at(out.get("inbound|9080||"), "metadata.filter_metadata.istio.services")).toEqual([
      {
        host: "reviews-alias.default.svc.cluster.local",
        name: "reviews-alias",
        namespace: "default",
      },
      { host: REVIEWS, name: "reviews", namespace: "default" },
    ]);
  });

  it("applies the DestinationRule's connection pool, not its load balancer", () => {
    const rule = destinationRuleYaml(`host: reviews
trafficPolicy:
  loadBalancer: {simple: RANDOM}
  outlierDetection: {consecutive5xxErrors: 1}
  connectionPool: {tcp: {maxConnections: 5}, http: {idleTimeout: 20s}}`);
    const cluster = inbound(REVIEWS_SERVICE + POD + rule).get("inbound|9080||");
    expect(at(cluster, "circuit_breakers.thresholds[0].max_connections")).toBe(5);
    expect(cluster?.lb_policy).toBeUndefined();
    expect(cluster?.outlier_detection).toBeUndefined();
    const options = at(cluster, "typed_extension_protocol_options") as JsonObject;
    expect(
      at(options[HTTP_PROTOCOL_OPTIONS_KEY], "common_http_protocol_options.idle_timeout"),
    ).toBe("20s");
    expect(at(cluster, "metadata.filter_metadata.istio.config")).toBe(
      "/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews",
    );
  });

  it("targets the pod IP when asked, binding the passthrough source address", () => {
    const cluster = inbound(REVIEWS_SERVICE + POD, me, { appAddress: "10.0.0.1" }).get(
      "inbound|9080||",
    );
    expect(
      at(
        cluster,
        "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address",
      ),
    ).toBe("10.0.0.1");
    expect(cluster?.upstream_bind_config).toEqual({
      source_address: { address: "127.0.0.6", port_value: 0 },
    });
    const unbound = inbound(REVIEWS_SERVICE + POD, me, {
      appAddress: "10.0.0.1",
      passthroughBindAddress: null,
    }).get("inbound|9080||");
    expect(unbound?.upstream_bind_config).toBeUndefined();
  });

  it("builds InboundPassthroughCluster bound to 127.0.0.6 (and ::6 for dual-stack)", () => {
    const snapshot = snapshotFromYaml("");
    expect(buildInboundPassthroughCluster(snapshot, me)).toMatchObject({
      name: "InboundPassthroughCluster",
      type: "ORIGINAL_DST",
      lb_policy: "CLUSTER_PROVIDED",
      alt_stat_name: "InboundPassthroughCluster;",
      upstream_bind_config: { source_address: { address: "127.0.0.6", port_value: 0 } },
    });
    const dual = { ...me, ips: ["10.0.0.1", "fd00::1"] };
    expect(buildInboundPassthroughCluster(snapshot, dual).upstream_bind_config).toEqual({
      source_address: { address: "127.0.0.6", port_value: 0 },
      extra_source_addresses: [{ address: { address: "::6", port_value: 0 } }],
    });
    const v6 = { ...me, ips: ["fd00::1"] };
    expect(
      at(
        buildInboundPassthroughCluster(snapshot, v6),
        "upstream_bind_config.source_address.address",
      ),
    ).toBe("::6");
    expect(
      buildInboundPassthroughCluster(snapshot, me, { passthroughBindAddress: null })
        .upstream_bind_config,
    ).toBeUndefined();
  });

  it("gives gateways no inbound clusters", () => {
    expect(inbound(REVIEWS_SERVICE + POD, { ...me, kind: "router" }).size).toBe(0);
  });
});
