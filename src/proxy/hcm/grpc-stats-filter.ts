// The grpc_stats filter at work on one gRPC stream: it counts the request's and the response's
// length-prefixed messages as their bodies pass and keeps the counts in the stream's filter state
// (StreamInfo.grpcStats), where Istio's stats filter reads them. Envoy's decisions are kept: the
// request is counted when its headers say gRPC, the response only when it is a 200 with a gRPC
// content-type that is not trailers-only, and the filter state appears with the first message.
// Only gRPC streams of a chain with the filter get one, so other streams pay a single check per
// chunk for an absent object.
import { GrpcFrameCounter } from "../http/grpc-frame-counter.ts";
import { isGrpcContentType } from "../http/local-reply.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import { typeName } from "../listener/decode-listener-filters.ts";
import type { HttpFilter } from "../listener/types.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { decodeGrpcStatsConfig, GRPC_STATS_TYPE } from "./grpc-stats-config.ts";
import { firstValue } from "./headers.ts";

/**
 * Whether the chain counts gRPC messages: an enabled grpc_stats filter that emits filter state.
 * Without filter state nothing in crema reads the counts (Envoy's own gRPC stats are not kept).
 */
export function countsGrpcMessages(filters: readonly HttpFilter[]): boolean {
  for (const filter of filters) {
    if (filter.disabled || typeName(filter.typeUrl) !== GRPC_STATS_TYPE) continue;
    const decoded = decodeGrpcStatsConfig(filter.config);
    if (decoded.ok && decoded.config.emitFilterState) return true;
  }
  return false;
}

export class GrpcStatsStream {
  private readonly info: StreamInfo;
  private readonly request = new GrpcFrameCounter();
  private response: GrpcFrameCounter | undefined = undefined;

  /** For a stream whose request headers are gRPC's (Envoy's isGrpcRequestHeaders). */
  constructor(info: StreamInfo) {
    this.info = info;
  }

  /** A chunk of the request body as received from the downstream. */
  requestData(chunk: Uint8Array): void {
    if (this.request.inspect(chunk) > 0) this.publish();
  }

  /** The response head as it goes downstream: decides whether its body is counted. */
  responseHeaders(status: number, headers: MutableHeaders, endStream: boolean): void {
    this.response =
      !endStream && status === 200 && isGrpcContentType(firstValue(headers["content-type"]))
        ? new GrpcFrameCounter()
        : undefined;
  }

  /** A chunk of the response body as sent to the downstream. */
  responseData(chunk: Uint8Array): void {
    const response = this.response;
    if (response !== undefined && response.inspect(chunk) > 0) this.publish();
  }

  private publish(): void {
    let state = this.info.grpcStats;
    if (state === undefined) {
      state = { requestMessageCount: 0, responseMessageCount: 0 };
      this.info.grpcStats = state;
    }
    state.requestMessageCount = this.request.count;
    state.responseMessageCount = this.response?.count ?? 0;
  }
}
