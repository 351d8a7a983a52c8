import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { newStreamInfo } from "../http/stream-info.ts";
import type { HttpFilter } from "../listener/types.ts";
import { GRPC_STATS_TYPE } from "./grpc-stats-config.ts";
import { countsGrpcMessages, GrpcStatsStream } from "./grpc-stats-filter.ts";

function message(length: number): Uint8Array {
  const out = new Uint8Array(5 + length);
  new DataView(out.buffer).setUint32(1, length);
  return out;
}

const GRPC = { "content-type": "application/grpc" };

function stream() {
  const info = newStreamInfo({
    protocol: "HTTP/2",
    downstreamLocalAddress: "10.0.0.2:9090",
    downstreamRemoteAddress: "10.0.0.1:40000",
    downstreamDirectRemoteAddress: "10.0.0.1:40000",
    requestedServerName: undefined,
    downstreamPeerUriSan: undefined,
    downstreamLocalUriSan: undefined,
  });
  return { info, filter: new GrpcStatsStream(info) };
}

function grpcStats(config: JsonObject, disabled = false): HttpFilter {
  return {
    name: "envoy.filters.http.grpc_stats",
    typeUrl: `type.googleapis.com/${GRPC_STATS_TYPE}`,
    config,
    disabled,
  };
}

describe("GrpcStatsStream", () => {
  it("keeps both directions' counts in the stream's filter state", () => {
    const { info, filter } = stream();
    filter.requestData(Buffer.concat([message(3), message(0)]));
    filter.responseHeaders(200, { ...GRPC }, false);
    filter.responseData(message(10));
    filter.requestData(message(1));
    expect(info.grpcStats).toEqual({ requestMessageCount: 3, responseMessageCount: 1 });
  });

  it("leaves no filter state until a message is seen, as Envoy creates it on the first", () => {
    const { info, filter } = stream();
    filter.requestData(new Uint8Array(0));
    filter.responseHeaders(200, { ...GRPC }, false);
    expect(info.grpcStats).toBeUndefined();
    filter.responseData(message(0).subarray(0, 1));
    expect(info.grpcStats).toEqual({ requestMessageCount: 0, responseMessageCount: 1 });
  });

  it("counts a response body only after a 200 gRPC head that does not end the stream", () => {
    for (const [status, headers, endStream] of [
      [503, GRPC, false],
      [200, { "content-type": "application/json" }, false],
      [200, { "content-type": "application/grpc-web" }, false],
      [200, {}, false],
      [200, { ...GRPC, "grpc-status": "0" }, true],
    ] as const) {
      const { info, filter } = stream();
      filter.responseHeaders(status, { ...headers }, endStream);
      filter.responseData(message(4));
      expect(info.grpcStats, `${status} ${JSON.stringify(headers)}`).toBeUndefined();
    }
    const { info, filter } = stream();
    filter.responseHeaders(200, { "content-type": "application/grpc+proto" }, false);
    filter.responseData(message(4));
    expect(info.grpcStats?.responseMessageCount).toBe(1);
  });
});

describe("countsGrpcMessages", () => {
  it("is on for an enabled grpc_stats filter that emits filter state", () => {
    expect(countsGrpcMessages([grpcStats({ emit_filter_state: true })])).toBe(true);
    expect(
      countsGrpcMessages([grpcStats({ emitFilterState: true, statsForAllMethods: false })]),
    ).toBe(true);
  });

  it("is off without the filter, without filter state, or when the filter is disabled", () => {
    expect(countsGrpcMessages([])).toBe(false);
    expect(countsGrpcMessages([grpcStats({})])).toBe(false);
    expect(countsGrpcMessages([grpcStats({ emit_filter_state: true }, true)])).toBe(false);
  });
});
