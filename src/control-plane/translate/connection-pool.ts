// DestinationRule `connectionPool` → circuit breakers, connect timeout, TCP keepalive and upstream
// HTTP options, as istiod's applyConnectionPool / applyH2Upgrade (cluster_traffic_policy.go) do.
// Only positive numbers override Istio's defaults (Istio cannot tell unset from 0 either).
import { formatDuration } from "../../base/duration.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import { isHttpProtocol, type ServicePort } from "../model/service.ts";
import {
  type ClusterDraft,
  commonHttpOptions,
  setHttp2,
  setUseDownstreamProtocol,
} from "./cluster-draft.ts";
import { durationSeconds, numberAt, objAt, protoDuration } from "./cluster-traffic-policy.ts";
import type { Obj } from "./destination-rules.ts";

export const MAX_UINT32 = 4_294_967_295;

/**
 * Istio raises Envoy's default limits (1024 connections/requests, 3 retries) to 2^32-1 so the
 * proxy never trips a breaker nobody configured; track_remaining exposes the remaining stats.
 */
export function defaultCircuitBreakerThresholds(): JsonObject {
  return {
    max_connections: MAX_UINT32,
    max_pending_requests: MAX_UINT32,
    max_requests: MAX_UINT32,
    max_retries: MAX_UINT32,
    track_remaining: true,
  };
}

export function meshConnectTimeout(mesh: MeshConfig): string {
  return formatDuration(mesh.connectTimeoutMs);
}

function positive(obj: Obj | undefined, key: string): number | undefined {
  const value = numberAt(obj, key);
  return value !== undefined && value > 0 ? Math.trunc(value) : undefined;
}

/** upstream_connection_options.tcp_keepalive from `tcp.tcpKeepalive` (time/interval in seconds). */
function applyTcpKeepalive(cluster: JsonObject, tcp: Obj | undefined): void {
  const keepalive = objAt(tcp, "tcpKeepalive");
  if (!keepalive) return;
  const out: JsonObject = {};
  const probes = positive(keepalive, "probes");
  if (probes !== undefined) out.keepalive_probes = probes;
  const time = durationSeconds(keepalive.time);
  if (time !== undefined) out.keepalive_time = time;
  const interval = durationSeconds(keepalive.interval);
  if (interval !== undefined) out.keepalive_interval = interval;
  cluster.upstream_connection_options = { tcp_keepalive: out };
}

/** Applies `settings` (the policy's connectionPool, or {} when absent) to the cluster. */
export function applyConnectionPool(draft: ClusterDraft, settings: Obj, mesh: MeshConfig): void {
  const { cluster } = draft;
  const http = objAt(settings, "http");
  const tcp = objAt(settings, "tcp");
  const threshold = defaultCircuitBreakerThresholds();
  let idleTimeout: string | undefined;
  let maxRequestsPerConnection: number | undefined;
  let maxConcurrentStreams: number | undefined;
  let maxConnectionDuration: string | undefined;

  if (http) {
    // Envoy applies max_requests to HTTP/2 and max_pending_requests to HTTP/1.1 pools.
    const maxRequests = positive(http, "http2MaxRequests");
    if (maxRequests !== undefined) threshold.max_requests = maxRequests;
    const pending = positive(http, "http1MaxPendingRequests");
    if (pending !== undefined) threshold.max_pending_requests = pending;
    const retries = positive(http, "maxRetries");
    if (retries !== undefined) threshold.max_retries = retries;
    idleTimeout = protoDuration(http.idleTimeout);
    maxRequestsPerConnection = positive(http, "maxRequestsPerConnection");
    maxConcurrentStreams = positive(http, "maxConcurrentStreams");
  }

  cluster.connect_timeout = meshConnectTimeout(mesh);
  if (tcp) {
    const connectTimeout = protoDuration(tcp.connectTimeout);
    if (connectTimeout) cluster.connect_timeout = connectTimeout;
    const maxConnections = positive(tcp, "maxConnections");
    if (maxConnections !== undefined) threshold.max_connections = maxConnections;
    maxConnectionDuration = protoDuration(tcp.maxConnectionDuration);
    idleTimeout ??= protoDuration(tcp.idleTimeout);
  }
  applyTcpKeepalive(cluster, tcp);
  cluster.circuit_breakers = { thresholds: [threshold] };

  if (idleTimeout || maxConnectionDuration || maxRequestsPerConnection || maxConcurrentStreams) {
    const common = commonHttpOptions(draft);
    if (idleTimeout) common.idle_timeout = idleTimeout;
    if (maxRequestsPerConnection) common.max_requests_per_connection = maxRequestsPerConnection;
    if (maxConnectionDuration) common.max_connection_duration = maxConnectionDuration;
    const upstream = draft.http?.upstream;
    if (upstream?.kind === "http2" && maxConcurrentStreams) {
      upstream.http2.max_concurrent_streams = maxConcurrentStreams;
    }
  }
  if (http?.useClientProtocol === true) setUseDownstreamProtocol(draft);
}

/**
 * `h2UpgradePolicy`: UPGRADE makes any port's cluster HTTP/2 (the user vouches it is HTTP);
 * DO_NOT_UPGRADE and the mesh default (DO_NOT_UPGRADE, crema has no mesh override) leave it alone.
 */
export function applyH2Upgrade(draft: ClusterDraft, port: ServicePort, settings: Obj): void {
  const policy = objAt(settings, "http")?.h2UpgradePolicy;
  if (policy === "UPGRADE") {
    setHttp2(draft);
    return;
  }
  if (policy === "DO_NOT_UPGRADE" || !isHttpProtocol(port.protocol)) return;
  // Mesh-wide h2UpgradePolicy is DO_NOT_UPGRADE in Istio's defaults: nothing to do.
}
