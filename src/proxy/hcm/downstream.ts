// The router's view of the downstream stream, whatever the codec (HTTP/1.1 or HTTP/2): send the
// response head, body and trailers, answer locally, or reset.
import type { LocalReplyInput } from "../http/local-reply.ts";
import type { ResponseFlag } from "../http/response-flags.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import type { MutableHeaders } from "../routing/types.ts";
import type { Reporter } from "../telemetry/metric-definitions.ts";
import type { WorkloadMetadata } from "../telemetry/workload-labels.ts";
import type { GrpcStatsStream } from "./grpc-stats-filter.ts";
import type { WireHeaders } from "./upstream-types.ts";

export type LocalReplyRequest = Omit<LocalReplyInput, "grpc" | "headRequest">;

export interface Downstream {
  readonly protocol: "http1" | "http2";
  /** Whether the response head went out (a failure after that can only reset). */
  readonly headersSent: boolean;
  /** The downstream went away (reset or closed) before the response finished. */
  readonly closed: boolean;
  /** `endStream`: the head is the whole response (HTTP/2 HEADERS with END_STREAM). */
  writeHead(status: number, headers: MutableHeaders, endStream?: boolean): void;
  write(chunk: Uint8Array): boolean;
  onDrain(listener: () => void): void;
  end(trailers?: WireHeaders): void;
  /**
   * The selected route's response header mutations (Envoy's finalizeResponseHeaders), set once a
   * route is selected: for upstream responses, and applied by sendLocalReply to every local reply.
   */
  mutateResponseHeaders?: ((headers: MutableHeaders) => void) | undefined;
  /**
   * Answers with a local reply (the one place replies are built is local-reply.ts), its headers
   * mutated by mutateResponseHeaders.
   */
  sendLocalReply(reply: LocalReplyRequest): void;
  /** Resets the stream (HTTP/2 RST_STREAM, HTTP/1.1 connection close). */
  reset(): void;
  onClose(listener: () => void): void;
  /** Response flags for the access log and metrics (the stream info's). */
  readonly flags: ResponseFlag[];
  /** What access logs and Istio's metrics read of this stream once it ends. */
  readonly info: StreamInfo;
  /** Istio's metrics for this stream: who reports, and the peer workload once known. */
  readonly telemetry?: StreamTelemetry | undefined;
  /** The grpc_stats filter's message counting, on a gRPC stream of a chain that has it. */
  readonly grpcStats?: GrpcStatsStream | undefined;
}

export interface StreamTelemetry {
  readonly reporter: Reporter;
  peer: WorkloadMetadata | undefined;
}
