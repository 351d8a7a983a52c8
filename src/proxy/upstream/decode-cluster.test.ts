// decodeCluster against the control plane's golden clusters, Envoy's defaults and broken inputs.
import { describe, expect, it } from "vitest";
import { DEFAULT_CIRCUIT_BREAKERS, DEFAULT_OUTLIER_DETECTION } from "./cluster-config.ts";
import { decodeCluster } from "./decode-cluster.ts";
import { goldenResources } from "./testing.ts";

const EDS = { name: "c", type: "EDS", eds_cluster_config: { eds_config: { ads: {} } } };

function ok(json: unknown) {
  const result = decodeCluster(json);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  return result.value;
}

function errors(json: unknown): string[] {
  const result = decodeCluster(json);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors;
}

describe("decodeCluster", () => {
  const clusters = goldenResources("clusters");

  it("decodes every cluster the control plane emits", () => {
    expect(clusters.length).toBeGreaterThan(50);
    const failures = clusters.flatMap(([where, json]) => {
      const result = decodeCluster(json);
      return result.ok ? [] : [`${where} ${(json as { name: string }).name}: ${result.errors}`];
    });
    expect(failures).toEqual([]);
  });

  it("reads an outbound EDS cluster as Istio writes it", () => {
    // From the basic sidecar case, where no DestinationRule changes Istio's defaults.
    const json = clusters
      .filter(([where]) => where.startsWith("sidecar-basic.golden.yaml"))
      .map(([, c]) => c as Record<string, unknown>)
      .find((c) => c.type === "EDS" && c.circuit_breakers);
    const cluster = ok(json);
    expect(cluster.discovery).toBe("EDS");
    expect(cluster.edsServiceName).toMatch(/^outbound\|/);
    expect(cluster.connectTimeoutMs).toBe(10_000);
    expect(cluster.circuitBreakers.DEFAULT.maxRequests).toBe(4294967295);
    expect(cluster.circuitBreakers.HIGH).toEqual(DEFAULT_CIRCUIT_BREAKERS);
    expect(cluster.metadata.istio).toBeDefined();
    expect(cluster.outlierDetection).toBeUndefined();
  });

  it("reads Istio's metadata exchange among the upstream filters, and refuses any other", () => {
    const MX = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";
    const exchange = {
      name: "istio.metadata_exchange",
      typed_config: { "@type": MX, protocol: "istio-peer-exchange" },
    };
    expect(ok({ ...EDS, filters: [exchange] }).metadataExchange).toEqual({
      protocol: "istio-peer-exchange",
    });
    expect(ok(EDS).metadataExchange).toBeUndefined();
    expect(
      errors({
        ...EDS,
        filters: [
          { name: "istio.metadata_exchange", typed_config: { "@type": MX, protocol: "" } },
          { name: "x", typed_config: { "@type": MX, protocol: "p", enable_discovery: true } },
          {
            name: "envoy.filters.upstream_network.header_to_metadata",
            typed_config: { "@type": "type.googleapis.com/some.Filter" },
          },
          { name: "bare" },
        ],
      }),
    ).toEqual([
      "filters[0].typed_config.protocol: must be at least 1 character(s)",
      "filters[1].typed_config.enable_discovery: unknown field",
      'filters[2]: upstream network filter "envoy.filters.upstream_network.header_to_metadata" (type.googleapis.com/some.Filter) is not supported',
      'filters[3]: upstream network filter "bare" is not supported',
    ]);
  });

  it("reads STATIC and STRICT_DNS inline endpoints and ORIGINAL_DST", () => {
    const byType = (type: string) =>
      clusters.map(([, c]) => ok(c)).filter((c) => c.discovery === type);
    const statics = byType("STATIC").filter((c) => c.loadAssignment);
    expect(statics.length).toBeGreaterThan(0);
    expect(statics[0]!.loadAssignment!.endpoints[0]!.port).toBeGreaterThan(0);
    const dns = byType("STRICT_DNS")[0]!;
    expect(dns.dns).toEqual({
      refreshRateMs: 60_000,
      respectDnsTtl: true,
      lookupFamily: "V4_ONLY",
    });
    expect(dns.loadAssignment!.endpoints[0]!.address).toBe("api.payments.example.com");
    expect(byType("ORIGINAL_DST")[0]!.lbPolicy).toBe("CLUSTER_PROVIDED");
  });

  it("applies Envoy's defaults", () => {
    const cluster = ok(EDS);
    expect(cluster).toMatchObject({
      name: "c",
      edsServiceName: "c",
      connectTimeoutMs: 5000,
      lbPolicy: "ROUND_ROBIN",
      protocol: "http1",
      idleTimeoutMs: 3_600_000,
      maxRequestsPerConnection: 0,
      circuitBreakers: { DEFAULT: { maxConnections: 1024, maxRetries: 3 } },
    });
    expect(ok({ ...EDS, outlier_detection: {} }).outlierDetection).toEqual(
      DEFAULT_OUTLIER_DETECTION,
    );
    expect(ok({ name: "s" }).discovery).toBe("STATIC");
  });

  it("reads outlier detection, breakers, lb and protocol options", () => {
    const cluster = ok({
      ...EDS,
      lb_policy: "RING_HASH",
      ring_hash_lb_config: { minimum_ring_size: "2048" },
      common_lb_config: { healthy_panic_threshold: { value: 0 }, locality_weighted_lb_config: {} },
      circuit_breakers: {
        thresholds: [{ max_connections: 7 }, { priority: "HIGH", max_requests: 9 }],
      },
      outlier_detection: {
        consecutive_5xx: 3,
        interval: "1s",
        base_ejection_time: "2.5s",
        max_ejection_percent: 100,
        enforcing_success_rate: 0,
        consecutive_gateway_failure: 2,
        enforcing_consecutive_gateway_failure: 100,
      },
      typed_extension_protocol_options: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          common_http_protocol_options: { idle_timeout: "300s", max_requests_per_connection: 1 },
          upstream_http_protocol_options: { auto_sni: true, auto_san_validation: true },
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    });
    expect(cluster.lbPolicy).toBe("RING_HASH");
    expect(cluster.lbConfig).toEqual({
      healthyPanicThreshold: 0,
      localityWeighted: true,
      ringHash: { minimumRingSize: 2048 },
    });
    expect(cluster.circuitBreakers.DEFAULT).toEqual({
      ...DEFAULT_CIRCUIT_BREAKERS,
      maxConnections: 7,
    });
    expect(cluster.circuitBreakers.HIGH.maxRequests).toBe(9);
    // Istio's "no panic mode" as it arrives: a Percent of 0, whose value proto3 JSON leaves out.
    const zeroOnTheWire = ok({ ...EDS, common_lb_config: { healthy_panic_threshold: {} } });
    expect(zeroOnTheWire.lbConfig.healthyPanicThreshold).toBe(0);
    expect(ok({ ...EDS, common_lb_config: {} }).lbConfig.healthyPanicThreshold).toBeUndefined();
    const noBias = ok({
      ...EDS,
      lb_policy: "LEAST_REQUEST",
      least_request_lb_config: { active_request_bias: { runtime_key: "k" } },
    });
    expect(noBias.lbConfig.leastRequest?.activeRequestBias).toBe(0);
    expect(cluster.outlierDetection).toMatchObject({
      consecutive5xx: 3,
      intervalMs: 1000,
      baseEjectionTimeMs: 2500,
      maxEjectionPercent: 100,
      consecutiveGatewayFailure: 2,
      enforcingConsecutiveGatewayFailure: 100,
      enforcingConsecutive5xx: 100,
    });
    expect(cluster).toMatchObject({
      protocol: "http2",
      idleTimeoutMs: 300_000,
      maxRequestsPerConnection: 1,
      autoSni: { sanValidation: true },
    });
  });

  it("collects every error with its field path", () => {
    const problems = errors({
      type: "EDS",
      connect_timeout: "soon",
      lb_policy: "LOAD_BALANCING_POLICY_CONFIG",
      common_lb_config: { healthy_panic_threshold: { value: 150 } },
      circuit_breakers: { thresholds: [{ max_requests: -1 }] },
      outlier_detection: {
        interval: "0s",
        max_ejection_percent: 101,
        enforcing_failure_percentage: 5,
      },
      health_checks: [{}],
      typed_extension_protocol_options: {
        x: {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          auto_config: {},
          upstream_http_protocol_options: { auto_sni: true, override_auto_sni_header: "x-sni" },
        },
      },
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        "name: must be at least 1 character(s)",
        "eds_cluster_config: is required for an EDS cluster",
        'connect_timeout: "soon" is not a non-negative duration such as "1.5s"',
        "lb_policy: LOAD_BALANCING_POLICY_CONFIG is not supported",
        "common_lb_config.healthy_panic_threshold must be 0–100, got 150",
        "circuit_breakers.thresholds[0].max_requests: expected an integer between 0 and 4294967295",
        "outlier_detection.interval: must be greater than 0",
        "outlier_detection.max_ejection_percent: must be between 0 and 100, got 101",
        "outlier_detection.enforcing_failure_percentage: failure-percentage outlier detection is not supported",
        "health_checks: active health checking is not supported",
        "typed_extension_protocol_options.x.auto_config: ALPN-negotiated upstream protocol (auto_config) is not supported",
        "typed_extension_protocol_options.x.upstream_http_protocol_options.override_auto_sni_header: override_auto_sni_header is not supported by crema's proxy",
      ]),
    );
  });

  it("rejects mismatched discovery type and lb policy, and bad inline endpoints", () => {
    expect(errors({ name: "o", type: "ORIGINAL_DST" })).toEqual([
      "lb_policy: an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED",
    ]);
    expect(errors({ ...EDS, lb_policy: "CLUSTER_PROVIDED" })).toEqual([
      "lb_policy: lb_policy CLUSTER_PROVIDED is not valid for a EDS cluster",
    ]);
    const endpoint = (address: string) => ({
      endpoint: { address: { socket_address: { address, port_value: 80 } } },
    });
    expect(
      errors({
        name: "s",
        load_assignment: {
          cluster_name: "s",
          endpoints: [{ lb_endpoints: [endpoint("db.local")] }],
        },
      }),
    ).toEqual([
      'load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: "db.local" is not an IP address',
    ]);
    expect(
      errors({
        name: "l",
        type: "LOGICAL_DNS",
        load_assignment: { endpoints: [{ lb_endpoints: [endpoint("a"), endpoint("b")] }] },
      }),
    ).toEqual(["load_assignment.endpoints: a LOGICAL_DNS cluster needs exactly one lb_endpoint"]);
  });

  it("rejects a non-object", () => {
    expect(errors("cluster")).toEqual(["(root): expected an object"]);
  });
});
