import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { newStreamInfo, type StreamInfo } from "../http/stream-info.ts";
import { GrpcMessageReports } from "./grpc-message-reports.ts";
import { type HttpStreamTelemetry, ProxyTelemetry, type StatsFilter } from "./proxy-telemetry.ts";
import { decodeStatsFilterConfig } from "./stats-filter-config.ts";
import { EMPTY_WORKLOAD, type WorkloadMetadata } from "./workload-labels.ts";

const NODE = {
  id: "sidecar~10.0.0.7~reviews-v1-7c9f4d6b8d-x2kqz.default~default.svc.cluster.local",
  metadata: {
    NAMESPACE: "default",
    WORKLOAD_NAME: "reviews-v1",
    CLUSTER_ID: "Kubernetes",
    LABELS: { app: "reviews", version: "v1" },
  },
};

const PEER: WorkloadMetadata = {
  ...EMPTY_WORKLOAD,
  namespace: "default",
  workloadName: "productpage-v1",
  canonicalName: "productpage",
  canonicalRevision: "v1",
};

const INBOUND = {
  name: "inbound|9080||",
  metadata: {
    istio: { services: [{ host: "reviews.default.svc.cluster.local", name: "reviews" }] },
  },
};

const STREAM: HttpStreamTelemetry = {
  reporter: "destination",
  peer: PEER,
  cluster: INBOUND,
  grpc: true,
};

function setup(reporting = "1s") {
  const telemetry = new ProxyTelemetry(NODE);
  const decoded = decodeStatsFilterConfig({ tcp_reporting_duration: reporting });
  if (!decoded.ok) throw new Error(decoded.errors.join("; "));
  const filter: StatsFilter = telemetry.statsFilter(decoded.config);
  const info: StreamInfo = newStreamInfo({
    protocol: "HTTP/2",
    downstreamLocalAddress: "10.0.0.7:9080",
    downstreamRemoteAddress: "10.0.0.5:40000",
    downstreamDirectRemoteAddress: "10.0.0.5:40000",
    requestedServerName: undefined,
    downstreamPeerUriSan: undefined,
    downstreamLocalUriSan: undefined,
  });
  info.responseCode = 200;
  info.responseTrailers = { "grpc-status": "0" };
  /** [request messages, response messages] as the recorder's series hold them. */
  const counts = () =>
    ["istio_request_messages_total", "istio_response_messages_total"].map((name) =>
      [...telemetry.metrics.store.counters(name)].map((s) => s.value),
    );
  return { telemetry, filter, info, counts };
}

describe("ProxyTelemetry: gRPC messages at the end of a stream", () => {
  it("adds the grpc_stats filter state's counts to the peer-labelled counters", () => {
    const { telemetry, filter, info, counts } = setup();
    info.grpcStats = { requestMessageCount: 4, responseMessageCount: 9 };
    telemetry.recordStream(info, STREAM, filter);
    telemetry.recordStream(info, STREAM, filter);
    expect(counts()).toEqual([[8], [18]]);
  });

  it("leaves the counters alone without filter state, and for a stream that is not gRPC", () => {
    const { telemetry, filter, info, counts } = setup();
    telemetry.recordStream(info, STREAM, filter);
    info.grpcStats = { requestMessageCount: 1, responseMessageCount: 1 };
    telemetry.recordStream(info, { ...STREAM, grpc: false }, filter);
    expect(counts()).toEqual([[], []]);
    expect([...telemetry.metrics.store.counters("istio_requests_total")]).toHaveLength(2);
  });

  it("adds only what earlier reports of the same filter did not", () => {
    const { telemetry, filter, info, counts } = setup();
    const reported = { request: 0, response: 0 };
    info.grpcStats = { requestMessageCount: 2, responseMessageCount: 3 };
    telemetry.reportMessages(info, STREAM, filter, reported, "reviews:9080");
    info.grpcStats.requestMessageCount = 5;
    telemetry.recordStream(info, STREAM, filter, reported);
    expect(counts()).toEqual([[5], [3]]);
    expect(reported).toEqual({ request: 5, response: 3 });
  });
});

describe("GrpcMessageReports", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("reports every tcp_reporting_duration while the stream runs, the rest at its end", () => {
    const { telemetry, filter, info, counts } = setup("1s");
    const reports = new GrpcMessageReports(telemetry, [filter], info, "reviews:9080", () => STREAM);
    vi.advanceTimersByTime(1000);
    // Nothing counted yet: no filter state, no series.
    expect(counts()).toEqual([[], []]);
    info.grpcStats = { requestMessageCount: 3, responseMessageCount: 6 };
    vi.advanceTimersByTime(1000);
    expect(counts()).toEqual([[3], [6]]);
    info.grpcStats.responseMessageCount = 10;
    vi.advanceTimersByTime(1000);
    expect(counts()).toEqual([[3], [10]]);
    info.grpcStats.requestMessageCount = 4;
    reports.stop();
    vi.advanceTimersByTime(5000);
    expect(counts()).toEqual([[3], [10]]);
    telemetry.recordStream(info, STREAM, filter, reports.reported[0]);
    expect(counts()).toEqual([[4], [10]]);
  });

  it("waits for the peer before reporting, as Istio's filter does", () => {
    const { telemetry, filter, info, counts } = setup("1s");
    let peerKnown = false;
    const reports = new GrpcMessageReports(telemetry, [filter], info, "reviews:9080", () =>
      peerKnown ? STREAM : undefined,
    );
    info.grpcStats = { requestMessageCount: 2, responseMessageCount: 2 };
    vi.advanceTimersByTime(3000);
    expect(counts()).toEqual([[], []]);
    peerKnown = true;
    vi.advanceTimersByTime(1000);
    expect(counts()).toEqual([[2], [2]]);
    reports.stop();
  });

  it("arms no timer when the filter reports only at the end", () => {
    const { telemetry, filter, info, counts } = setup("0s");
    const reports = new GrpcMessageReports(telemetry, [filter], info, "reviews:9080", () => STREAM);
    expect(vi.getTimerCount()).toBe(0);
    info.grpcStats = { requestMessageCount: 1, responseMessageCount: 1 };
    telemetry.recordStream(info, STREAM, filter, reports.reported[0]);
    expect(counts()).toEqual([[1], [1]]);
  });
});
