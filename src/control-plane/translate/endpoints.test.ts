import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { snapshotFromYaml } from "../model/testing.ts";
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
import { buildClusterLoadAssignment, buildEndpoints, canonicalService } from "./endpoints.ts";

const PODS =
  podYaml("reviews-v1", "10.0.0.1", { labels: "app: reviews, version: v1", locality: "us.a.x" }) +
  podYaml("reviews-v2", "10.0.0.2", { labels: "app: reviews, version: v2", locality: "us.b.x" }) +
  podYaml("reviews-v3", "10.0.0.3", { labels: "app: reviews, version: v3", locality: "eu.a.x" }) +
  podYaml("reviews-down", "10.0.0.4", { labels: "app: reviews, version: v1", ready: false });

const SUBSETS = `subsets:
- {name: v1, labels: {version: v1}}
- {name: v2, labels: {version: v2}, trafficPolicy: {tls: {mode: SIMPLE}}}`;

const CLUSTER = `outbound|9080||${REVIEWS}`;
const proxy = proxyNode({ locality: { region: "us", zone: "a", subzone: "x" } });

function assignment(yaml: string, name = CLUSTER, options = {}): JsonObject {
  const cla = buildClusterLoadAssignment(snapshotFromYaml(yaml), proxy, name, options);
  expectEncodable([cla], TYPE_URL.clusterLoadAssignment);
  return cla;
}

const addresses = (cla: JsonObject) =>
  ((cla.endpoints ?? []) as JsonObject[]).map((g) =>
    ((g.lb_endpoints ?? []) as JsonObject[]).map((e) =>
      at(e, "endpoint.address.socket_address.address"),
    ),
  );
const priorities = (cla: JsonObject) =>
  ((cla.endpoints ?? []) as JsonObject[]).map((g) => g.priority ?? 0);

describe("ClusterLoadAssignment", () => {
  it("groups endpoints by locality (sorted), leaving unready ones out", () => {
    const cla = assignment(REVIEWS_SERVICE + PODS);
    expect(cla.cluster_name).toBe(CLUSTER);
    expect(addresses(cla)).toEqual([["10.0.0.3"], ["10.0.0.1"], ["10.0.0.2"]]);
    expect((cla.endpoints as JsonObject[])[1]).toEqual({
      locality: { region: "us", zone: "a", sub_zone: "x" },
      lb_endpoints: [
        {
          endpoint: { address: { socket_address: { address: "10.0.0.1", port_value: 9080 } } },
          health_status: "HEALTHY",
          metadata: {
            filter_metadata: {
              "envoy.transport_socket_match": { tlsMode: "istio" },
              istio: { workload: "reviews-v1;default;reviews;v1;Kubernetes" },
            },
          },
          load_balancing_weight: 1,
        },
      ],
      load_balancing_weight: 1,
    });
  });

  it("sends unready endpoints as UNHEALTHY when asked (PILOT_SEND_UNHEALTHY_ENDPOINTS)", () => {
    const cla = assignment(REVIEWS_SERVICE + PODS, CLUSTER, { sendUnhealthyEndpoints: true });
    const noLocality = (cla.endpoints as JsonObject[])[0]!;
    expect(noLocality.locality).toEqual({});
    expect(at(noLocality, "lb_endpoints[0].health_status")).toBe("UNHEALTHY");
  });

  it("gives priorities by locality only when outlier detection is on", () => {
    expect(priorities(assignment(REVIEWS_SERVICE + PODS))).toEqual([0, 0, 0]);
    const withOutlier = destinationRuleYaml("host: reviews\ntrafficPolicy: {outlierDetection: {}}");
    // eu (other region) 2, us/a (same subzone) 0, us/b (same region) 1.
    expect(priorities(assignment(REVIEWS_SERVICE + PODS + withOutlier))).toEqual([2, 0, 1]);
  });

  it("filters subset clusters by the subset's labels", () => {
    const yaml = REVIEWS_SERVICE + PODS + destinationRuleYaml(`host: reviews\n${SUBSETS}`);
    expect(addresses(assignment(yaml, `outbound|9080|v1|${REVIEWS}`))).toEqual([["10.0.0.1"]]);
    expect(addresses(assignment(yaml, `outbound|9080|v2|${REVIEWS}`))).toEqual([["10.0.0.2"]]);
  });

  it("marks endpoints for Istio mTLS unless the DR chooses another TLS mode", () => {
    const yaml = REVIEWS_SERVICE + PODS + destinationRuleYaml(`host: reviews\n${SUBSETS}`);
    const v2 = assignment(yaml, `outbound|9080|v2|${REVIEWS}`);
    expect(at(v2, "endpoints[0].lb_endpoints[0].metadata.filter_metadata")).toEqual({
      istio: { workload: "reviews-v2;default;reviews;v2;Kubernetes" },
    });
    const noSidecar = podYaml("plain", "10.0.0.9", {
      labels: "app: reviews, security.istio.io/tlsMode: disabled",
    });
    const plain = assignment(REVIEWS_SERVICE + noSidecar);
    expect(at(plain, "endpoints[0].lb_endpoints[0].metadata.filter_metadata")).toEqual({
      istio: { workload: "plain;default;reviews;;Kubernetes" },
    });
  });

  it("is empty for unknown services, ports, and services without endpoints", () => {
    expect(assignment(REVIEWS_SERVICE, CLUSTER)).toEqual({ cluster_name: CLUSTER });
    expect(assignment(REVIEWS_SERVICE + PODS, "outbound|1||nowhere.local")).toEqual({
      cluster_name: "outbound|1||nowhere.local",
    });
    expect(assignment(REVIEWS_SERVICE + PODS, `outbound|1234||${REVIEWS}`)).toEqual({
      cluster_name: `outbound|1234||${REVIEWS}`,
    });
  });

  it("uses the target port and the endpoint weight", () => {
    const cla = assignment(REVIEWS_SERVICE + PODS, `outbound|9090||${REVIEWS}`);
    expect(at(cla, "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value")).toBe(
      9080,
    );
  });
});

describe("buildEndpoints", () => {
  it("builds one assignment per EDS cluster, sorted by name, and skips other cluster types", () => {
    const yaml = REVIEWS_SERVICE + PODS + destinationRuleYaml(`host: reviews\n${SUBSETS}`);
    const snapshot = snapshotFromYaml(yaml);
    const clusters = buildOutboundClusters(snapshot, proxy);
    const endpoints = buildEndpoints(snapshot, proxy, clusters);
    expect([...endpoints.keys()]).toEqual(
      [...clusters.keys()].filter((name) => name.startsWith("outbound|")),
    );
    expect([...endpoints.keys()]).toEqual([...endpoints.keys()].sort());
    expectEncodable(endpoints.values(), TYPE_URL.clusterLoadAssignment);
  });
});

describe("canonicalService", () => {
  it("reads Istio's labels with Kubernetes fallbacks", () => {
    expect(canonicalService({ app: "a", version: "v1" }, "w")).toEqual({
      name: "a",
      revision: "v1",
    });
    expect(
      canonicalService(
        {
          "service.istio.io/canonical-name": "c",
          "app.kubernetes.io/name": "k",
          "service.istio.io/canonical-revision": "r",
          "app.kubernetes.io/version": "2",
        },
        "w",
      ),
    ).toEqual({ name: "c", revision: "r" });
    expect(canonicalService({}, "w")).toEqual({ name: "w", revision: "latest" });
  });
});
