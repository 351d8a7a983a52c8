// What the proxy knows of one finished HTTP stream or TCP connection (Envoy's StreamInfo, the
// part access logs and Istio's metrics read): filled in as the stream goes, read once at its end.
import type { ResponseFlag } from "./response-flags.ts";

export type StreamHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Envoy's GrpcStatsObject, the filter state `envoy.filters.http.grpc_stats` the grpc_stats filter
 * (emit_filter_state) keeps for a gRPC stream: the messages each way so far.
 */
export interface GrpcStatsFilterState {
  requestMessageCount: number;
  responseMessageCount: number;
}

export interface StreamInfo {
  /** When the first byte of the request (or the connection) arrived, epoch milliseconds. */
  readonly startTime: number;
  /** From the start to the last byte sent downstream (or the close), milliseconds. */
  durationMs: number;
  /** `HTTP/1.1`, `HTTP/2` …; undefined for a TCP connection (Envoy's %PROTOCOL% prints "-"). */
  readonly protocol: string | undefined;
  /** The request headers as received, `:method`, `:path`, `:authority` and `:scheme` included. */
  requestHeaders: StreamHeaders;
  /** The response headers as sent downstream (`:status` included), once sent. */
  responseHeaders: StreamHeaders | undefined;
  responseTrailers: StreamHeaders | undefined;
  /** 0 when no response was sent. */
  responseCode: number;
  /** Envoy's %RESPONSE_CODE_DETAILS% (`via_upstream`, `route_not_found` …), when known. */
  responseCodeDetails: string | undefined;
  /** Envoy's %CONNECTION_TERMINATION_DETAILS%, when known. */
  connectionTerminationDetails: string | undefined;
  readonly responseFlags: ResponseFlag[];
  /** Body bytes received from the downstream (TCP: every byte). */
  bytesReceived: number;
  /** Body bytes sent to the downstream (TCP: every byte). */
  bytesSent: number;
  /** Bytes of the request and response on the downstream connection, headers included. */
  wireBytesReceived: number;
  wireBytesSent: number;
  /** The cluster the route or TCP proxy chose. */
  upstreamCluster: string | undefined;
  /** The host the last attempt went to, `ip:port`. */
  upstreamHost: string | undefined;
  upstreamLocalAddress: string | undefined;
  /**
   * URI SANs of the certificates of the upstream connection the stream went out on (mTLS), the
   * server's and the proxy's own, as Envoy's upstream SSL connection info gives them.
   */
  upstreamPeerUriSan: string | undefined;
  upstreamLocalUriSan: string | undefined;
  /** The stream's trace id (hex) when its HCM traces, sampled or not (Envoy's %TRACE_ID%). */
  traceId: string | undefined;
  upstreamTransportFailureReason: string | undefined;
  /** Time from the request's end to the upstream response's first byte, ms (x-envoy-upstream-service-time). */
  upstreamServiceTimeMs: number | undefined;
  /** `ip:port` of the listener's side of the downstream connection. */
  readonly downstreamLocalAddress: string;
  /** `ip:port` of the client (after x-forwarded-for trust, as Envoy's remote address). */
  readonly downstreamRemoteAddress: string;
  /** `ip:port` of the peer of the downstream socket. */
  readonly downstreamDirectRemoteAddress: string;
  /** SNI of a TLS downstream connection. */
  readonly requestedServerName: string | undefined;
  /** The matched route's name, if it has one. */
  routeName: string | undefined;
  /** URI SAN of the downstream peer's certificate (mTLS), and of the proxy's own. */
  readonly downstreamPeerUriSan: string | undefined;
  readonly downstreamLocalUriSan: string | undefined;
  /** Set by the grpc_stats filter once it has counted a message, as Envoy sets its filter state. */
  grpcStats: GrpcStatsFilterState | undefined;
}

/** A StreamInfo for a stream starting now, with nothing known yet beyond the connection. */
export function newStreamInfo(
  connection: Pick<
    StreamInfo,
    | "protocol"
    | "downstreamLocalAddress"
    | "downstreamRemoteAddress"
    | "downstreamDirectRemoteAddress"
    | "requestedServerName"
    | "downstreamPeerUriSan"
    | "downstreamLocalUriSan"
  >,
  startTime = Date.now(),
): StreamInfo {
  return {
    ...connection,
    startTime,
    durationMs: 0,
    requestHeaders: {},
    responseHeaders: undefined,
    responseTrailers: undefined,
    responseCode: 0,
    responseCodeDetails: undefined,
    connectionTerminationDetails: undefined,
    responseFlags: [],
    bytesReceived: 0,
    bytesSent: 0,
    wireBytesReceived: 0,
    wireBytesSent: 0,
    upstreamCluster: undefined,
    upstreamHost: undefined,
    upstreamLocalAddress: undefined,
    upstreamPeerUriSan: undefined,
    upstreamLocalUriSan: undefined,
    traceId: undefined,
    upstreamTransportFailureReason: undefined,
    upstreamServiceTimeMs: undefined,
    routeName: undefined,
    grpcStats: undefined,
  };
}
