import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { at, expectEncodable, podYaml, proxyNode, REVIEWS_SERVICE } from "./clusters-testing.ts";
import { buildSidecarIngressClusters, defaultEndpointOf } from "./inbound-clusters-sidecar.ts";
import { scopeFor } from "./sidecar-scope.ts";

const POD = podYaml("reviews-v1", "10.0.0.1", { labels: "app: reviews" });
const me = proxyNode({ ip: "10.0.0.1", labels: { app: "reviews" } });
const dualStack = { ...me, ips: ["10.0.0.1", "fd00::1"] };
const v6Only = { ...me, ips: ["fd00::1"] };

function sidecar(ingress: string, extra = ""): string {
  return `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: reviews, namespace: default}
spec:
  workloadSelector: {labels: {app: reviews}}
${extra}  ingress:
${ingress}
---
`;
}

function clusters(yaml: string, proxy = me): Map<string, JsonObject> {
  const snapshot = snapshotFromYaml(yaml);
  const out = buildSidecarIngressClusters(snapshot, proxy, scopeFor(snapshot, proxy));
  expectEncodable(out.values());
  return out;
}

const endpointOf = (cluster: JsonObject | undefined) =>
  at(cluster, "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address");

describe("defaultEndpointOf", () => {
  it("resolves loopback, pod IP and unix forms as istiod does", () => {
    expect(defaultEndpointOf("127.0.0.1:8080", me)).toEqual({
      kind: "socket",
      address: "127.0.0.1",
      port: 8080,
    });
    expect(defaultEndpointOf("127.0.0.1:8080", v6Only)).toMatchObject({ address: "::1" });
    expect(defaultEndpointOf("[::1]:8080", me)).toMatchObject({ address: "127.0.0.1" });
    expect(defaultEndpointOf("[::1]:8080", dualStack)).toMatchObject({ address: "::1" });
    expect(defaultEndpointOf("0.0.0.0:8443", dualStack)).toMatchObject({ address: "10.0.0.1" });
    expect(defaultEndpointOf("0.0.0.0:8443", v6Only)).toMatchObject({ address: "127.0.0.1" });
    expect(defaultEndpointOf("[::]:8443", dualStack)).toMatchObject({ address: "fd00::1" });
    expect(defaultEndpointOf("unix:///var/run/app.sock", me)).toEqual({
      kind: "pipe",
      path: "/var/run/app.sock",
    });
    expect(defaultEndpointOf(undefined, me)).toEqual({ kind: "original_dst" });
    expect(defaultEndpointOf("nonsense", me)).toBeUndefined();
  });
});

describe("Sidecar ingress clusters", () => {
  it("sends each ingress port to its defaultEndpoint, replacing service-derived clusters", () => {
    const out = clusters(
      REVIEWS_SERVICE +
        POD +
        sidecar(`  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
  - port: {number: 9443, protocol: TCP, name: tcp}
    defaultEndpoint: 0.0.0.0:8443
  - port: {number: 9090, protocol: HTTP, name: uds}
    defaultEndpoint: unix:///var/run/app.sock
  - port: {number: 7070, protocol: TCP, name: tcp-none}`),
    );
    expect([...out.keys()]).toEqual([
      "InboundPassthroughCluster",
      "inbound|7070||",
      "inbound|9080||",
      "inbound|9090||",
      "inbound|9443||",
    ]);
    const http = out.get("inbound|9080||");
    expect(http?.type).toBe("STATIC");
    expect(endpointOf(http)).toEqual({
      socket_address: { address: "127.0.0.1", port_value: 8080 },
    });
    expect(http?.upstream_bind_config).toBeUndefined();
    // The service behind the port is found by target port: its telemetry metadata stays.
    expect(at(http, "metadata.filter_metadata.istio.services[0].name")).toBe("reviews");
    const tcp = out.get("inbound|9443||");
    expect(endpointOf(tcp)).toEqual({ socket_address: { address: "10.0.0.1", port_value: 8443 } });
    expect(at(tcp, "upstream_bind_config.source_address.address")).toBe("127.0.0.6");
    expect(tcp?.metadata).toBeUndefined(); // placeholder service: no telemetry metadata
    expect(endpointOf(out.get("inbound|9090||"))).toEqual({ pipe: { path: "/var/run/app.sock" } });
    expect(out.get("inbound|7070||")).toMatchObject({
      type: "ORIGINAL_DST",
      lb_policy: "CLUSTER_PROVIDED",
      cleanup_interval: "315576000000s",
    });
  });

  it("replaces the DestinationRule's pool with the listener's, else the Sidecar's inbound pool", () => {
    const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {connectionPool: {tcp: {maxConnections: 10}}}
---
`;
    const out = clusters(
      REVIEWS_SERVICE +
        POD +
        dr +
        sidecar(
          `  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:9080
    connectionPool: {tcp: {maxConnections: 100}}
  - port: {number: 9091, protocol: HTTP, name: http-2}
    defaultEndpoint: 127.0.0.1:9091`,
          "  inboundConnectionPool: {http: {http1MaxPendingRequests: 7}}\n",
        ),
    );
    const thresholds = (name: string) =>
      at(out.get(name), "circuit_breakers.thresholds[0]") as JsonObject;
    expect(thresholds("inbound|9080||")).toMatchObject({
      max_connections: 100,
      max_pending_requests: 4294967295,
    });
    expect(thresholds("inbound|9091||")).toMatchObject({
      max_connections: 4294967295,
      max_pending_requests: 7,
    });
  });
});
