// Downstream over node's HTTP/1.1 and HTTP/2 compatibility objects: the response head gets the
// HCM's server header, local replies come from local-reply.ts, resets close the stream.
import type { ServerResponse } from "node:http";
import { constants, type Http2ServerResponse } from "node:http2";
import { localReply } from "../http/local-reply.ts";
import type { ResponseFlag } from "../http/response-flags.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import type { HcmConfig } from "../listener/types.ts";
import { wireHeaders } from "../routing/select-route.ts";
import type { MutableHeaders } from "../routing/types.ts";
import type { Downstream, LocalReplyRequest, StreamTelemetry } from "./downstream.ts";
import type { GrpcStatsStream } from "./grpc-stats-filter.ts";
import type { WireHeaders } from "./upstream-types.ts";

export type NodeResponse = ServerResponse | Http2ServerResponse;

export function applyServerHeader(config: HcmConfig, headers: MutableHeaders): void {
  switch (config.serverHeaderTransformation) {
    case "OVERWRITE":
      headers.server = config.serverName;
      break;
    case "APPEND_IF_ABSENT":
      if (headers.server === undefined) headers.server = config.serverName;
      break;
    default:
      break;
  }
}

export class NodeDownstream implements Downstream {
  readonly protocol: "http1" | "http2";
  readonly flags: ResponseFlag[];
  /** Set by reset(): the stream ends because the proxy reset it. */
  private resetHere = false;
  readonly info: StreamInfo;
  telemetry: StreamTelemetry | undefined = undefined;
  grpcStats: GrpcStatsStream | undefined = undefined;
  /** Adds this proxy's peer-metadata exchange headers to the response (the client asked). */
  announce: ((headers: MutableHeaders) => void) | undefined = undefined;
  private readonly res: NodeResponse;
  private readonly config: HcmConfig;
  private readonly grpc: boolean;
  private readonly head: boolean;
  /** Status sent, for access logs and stats. */
  status = 0;
  mutateResponseHeaders: ((headers: MutableHeaders) => void) | undefined = undefined;

  constructor(
    res: NodeResponse,
    config: HcmConfig,
    options: { http2: boolean; grpc: boolean; head: boolean },
    info: StreamInfo,
  ) {
    this.info = info;
    this.flags = info.responseFlags;
    this.res = res;
    this.config = config;
    this.protocol = options.http2 ? "http2" : "http1";
    this.grpc = options.grpc;
    this.head = options.head;
  }

  get headersSent(): boolean {
    return this.res.headersSent;
  }

  get closed(): boolean {
    return this.res.destroyed || (this.res.writableEnded === false && this.res.socket === null);
  }

  writeHead(status: number, headers: MutableHeaders, endStream = false): void {
    this.grpcStats?.responseHeaders(status, headers, endStream);
    if (endStream && this.respondEndStream(status, headers)) return;
    this.finalizeHead(status, headers);
    const res = this.res as ServerResponse;
    res.writeHead(status, wireHeaders(headers));
    if (endStream) res.end();
  }

  /**
   * HTTP/2: one HEADERS frame with END_STREAM. gRPC clients read grpc-status from a HEADERS frame
   * only when it ends the stream (trailers-only); writeHead + end would send an empty DATA frame
   * after it ("no gRPC status"). False when the downstream is HTTP/1.1 or its stream is gone.
   */
  private respondEndStream(status: number, headers: MutableHeaders): boolean {
    const res = this.res;
    if (!("stream" in res) || res.stream.destroyed) return false;
    this.finalizeHead(status, headers);
    res.stream.respond(
      { ...wireHeaders(headers), [constants.HTTP2_HEADER_STATUS]: status },
      { endStream: true },
    );
    return true;
  }

  /** The head as it goes out: server header, exchange headers, and the stream info's record. */
  private finalizeHead(status: number, headers: MutableHeaders): void {
    applyServerHeader(this.config, headers);
    this.announce?.(headers);
    this.status = status;
    this.info.responseCode = status;
    this.info.responseHeaders = headers;
  }

  write(chunk: Uint8Array): boolean {
    this.info.bytesSent += chunk.byteLength;
    this.grpcStats?.responseData(chunk);
    return (this.res as ServerResponse).write(chunk);
  }

  onDrain(listener: () => void): void {
    this.res.once("drain", listener);
  }

  end(trailers?: WireHeaders): void {
    if (trailers && Object.keys(trailers).length > 0) {
      this.info.responseTrailers = trailers;
      this.res.addTrailers(trailers);
    }
    (this.res as ServerResponse).end();
  }

  sendLocalReply(input: LocalReplyRequest): void {
    if (input.flag) this.flags.push(input.flag);
    if (input.details !== undefined) this.info.responseCodeDetails = input.details;
    if (this.res.headersSent) {
      this.reset();
      return;
    }
    let headers = input.headers;
    const mutate = this.mutateResponseHeaders;
    if (mutate) {
      const mutable: MutableHeaders = { ...headers };
      mutate(mutable);
      headers = wireHeaders(mutable);
    }
    const reply = localReply({ ...input, headers, grpc: this.grpc, headRequest: this.head });
    // A gRPC local reply is trailers-only: its status travels in the one HEADERS frame.
    if (this.grpc && this.respondEndStream(reply.status, reply.headers)) return;
    this.writeHead(reply.status, reply.headers);
    this.info.bytesSent += Buffer.byteLength(reply.body);
    (this.res as ServerResponse).end(reply.body);
  }

  /** The client went away before the response was complete (Envoy's DC), not reset by us. */
  peerDisconnected(): boolean {
    return !this.res.writableFinished && !this.resetHere;
  }

  reset(): void {
    this.resetHere = true;
    const res = this.res;
    if ("stream" in res) {
      if (!res.stream.destroyed) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    res.destroy();
  }

  onClose(listener: () => void): void {
    this.res.once("close", () => {
      if (!this.res.writableFinished) listener();
    });
  }
}
