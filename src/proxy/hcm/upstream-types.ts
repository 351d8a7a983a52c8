// The contract between the router and the upstream connection pools: start one attempt (one
// upstream stream) to one host, get the response head, body and trailers back, or a reset reason.
import type { Readable } from "node:stream";
import type { StreamResetReason } from "../http/reset-reason.ts";
import type { ClusterStats } from "../stats/stats-store.ts";
import type { UpstreamSslInfo } from "../tls/upstream-ssl-info.ts";
import type { CircuitBreakers } from "../upstream/circuit-breakers.ts";
import type { UpstreamTls } from "../upstream/dial.ts";

export type UpstreamHttpProtocol = "http1" | "http2";

/** The cluster's limits a pool enforces (read on every stream: CDS may change them). */
export interface PoolLimits {
  /** The cluster: pools are per cluster and host, as Envoy's are. */
  readonly cluster: string;
  /** Shared by every pool of the cluster (and its TCP proxies): connections, pending requests. */
  readonly breakers: CircuitBreakers;
  /** common_http_protocol_options.max_requests_per_connection; 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  /** The cluster's stats, for connections opened and closed (absent for hand-built targets). */
  readonly stats?: ClusterStats;
}

/** Where an attempt goes: the pool key. */
export interface UpstreamTarget {
  address: string;
  port: number;
  protocol: UpstreamHttpProtocol;
  connectTimeoutMs: number;
  /** Source address to bind (pod IP, or 127.0.0.6 for inbound clusters). */
  sourceAddress?: string;
  /** Idle pooled connections close after this long (cluster common_http_protocol_options). */
  idleTimeoutMs: number;
  /** max_connection_duration: a connection this old takes no new stream and closes once idle. */
  maxConnectionDurationMs?: number;
  /** The cluster's connection and pending-request limits; absent = unlimited. */
  limits?: PoolLimits;
  /** The pool this target's streams go to, when computed once for it (upstream-target.ts). */
  poolKey?: string;
  /** TLS origination (the host's transport socket); absent: plaintext. */
  tls?: UpstreamTls;
}

/** Header values as they go on the wire (lowercase names). */
export type WireHeaders = Record<string, string | string[]>;

export interface UpstreamRequestHead {
  method: string;
  /** :path (origin form, with query). */
  path: string;
  authority: string;
  scheme: string;
  /** Regular headers only: no pseudo headers, no `host`, no hop-by-hop headers. */
  headers: WireHeaders;
}

export interface UpstreamResponse {
  status: number;
  /** Regular headers, lowercase; hop-by-hop headers may still be present. */
  headers: WireHeaders;
  /** The response body; errors on it mean the upstream reset mid-stream. */
  body: Readable;
  /** The response trailers, once `body` has ended (undefined when none). */
  trailers(): WireHeaders | undefined;
  /** The head ended the stream (HTTP/2 HEADERS with END_STREAM: gRPC trailers-only, no body). */
  endStream?: boolean;
}

export interface AttemptCallbacks {
  /** Non-1xx response head. Called at most once, and never after onReset. */
  onResponse(response: UpstreamResponse): void;
  /** The attempt failed before a response head. */
  onReset(reason: StreamResetReason, transportFailureReason?: string): void;
  /**
   * A connection was established (or a pooled one assigned) for this attempt; `ssl` says what its
   * certificates say (undefined for plaintext).
   */
  onConnected?(ssl: UpstreamSslInfo | undefined, localAddress: string | undefined): void;
}

/** The request side of one attempt: where the body goes. */
export interface UpstreamAttempt {
  write(chunk: Uint8Array): boolean;
  end(trailers?: WireHeaders): void;
  onDrain(listener: () => void): void;
  /** Resets the upstream stream (timeouts, downstream gone); no callback follows. */
  abort(): void;
}

export interface UpstreamPools {
  start(
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ): UpstreamAttempt;
  /** Closes every pooled connection (cluster removal, shutdown). */
  close(): void;
}
