import { describe, expect, it } from "vitest";
import {
  HTTP_LABELS,
  ISTIO_HISTOGRAM_BUCKETS,
  ISTIO_METRICS,
  PEER_LABELS,
  TCP_LABELS,
} from "./metric-definitions.ts";

// Written out rather than derived: these strings are the compatibility contract.
const HTTP = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_service_name",
  "destination_service_namespace",
  "destination_cluster",
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
];

describe("Istio's standard metric definitions", () => {
  it("lists the ten metrics with their types", () => {
    expect(ISTIO_METRICS.map((m) => [m.name, m.type])).toEqual([
      ["istio_requests_total", "counter"],
      ["istio_request_duration_milliseconds", "histogram"],
      ["istio_request_bytes", "histogram"],
      ["istio_response_bytes", "histogram"],
      ["istio_request_messages_total", "counter"],
      ["istio_response_messages_total", "counter"],
      ["istio_tcp_connections_opened_total", "counter"],
      ["istio_tcp_connections_closed_total", "counter"],
      ["istio_tcp_sent_bytes_total", "counter"],
      ["istio_tcp_received_bytes_total", "counter"],
    ]);
  });

  it("labels HTTP metrics with Istio's 25 labels in Istio's order", () => {
    expect([...HTTP_LABELS]).toEqual(HTTP);
    for (const name of [
      "istio_requests_total",
      "istio_request_duration_milliseconds",
      "istio_request_bytes",
      "istio_response_bytes",
    ]) {
      expect(ISTIO_METRICS.find((m) => m.name === name)?.labels).toEqual(HTTP);
    }
  });

  it("labels TCP metrics without response code and gRPC status", () => {
    const tcp = HTTP.filter((l) => l !== "response_code" && l !== "grpc_response_status");
    expect([...TCP_LABELS]).toEqual(tcp);
    for (const m of ISTIO_METRICS.filter((m) => m.name.startsWith("istio_tcp_"))) {
      expect(m.labels).toEqual(tcp);
    }
  });

  it("labels the gRPC message counters with the peer labels only", () => {
    expect([...PEER_LABELS]).toEqual(HTTP.slice(0, 20));
    for (const m of ISTIO_METRICS.filter((m) => m.name.endsWith("_messages_total"))) {
      expect(m.labels).toEqual(HTTP.slice(0, 20));
    }
  });

  it("uses Envoy's default buckets for every histogram", () => {
    const buckets = [
      0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
      1800000, 3600000,
    ];
    expect(ISTIO_HISTOGRAM_BUCKETS).toEqual(buckets);
    for (const m of ISTIO_METRICS.filter((m) => m.type === "histogram")) {
      expect(m.buckets).toEqual(buckets);
    }
  });
});
