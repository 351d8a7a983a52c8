// The decoded form of an Envoy v3 Cluster (CDS) and its Envoy defaults, shared by decoder and runtime.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { MetadataExchangeConfig } from "../telemetry/metadata-exchange-config.ts";
import type { UpstreamTransportSocket } from "../tls/tls-context.ts";
import type { LoadAssignment } from "./decode-endpoints.ts";
import type { LbConfig } from "./lb/config.ts";
import type { LbPolicy } from "./lb/load-balancer.ts";

/**
 * UpstreamHttpProtocolOptions.auto_sni: TLS to the cluster's hosts names the request's host (its
 * :authority without the port) as SNI, one pool per name; with auto_san_validation the server's
 * certificate must carry that name as a DNS SAN, in place of the context's SAN matchers.
 */
export interface AutoSni {
  readonly sanValidation: boolean;
}

export type DiscoveryType = "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "EDS" | "ORIGINAL_DST";

/** One CircuitBreakers.Thresholds entry (per routing priority). */
export interface CircuitBreakerThresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

/** Envoy's defaults when a field (or the whole circuit_breakers) is absent (circuit_breaker.proto). */
export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakerThresholds = Object.freeze({
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
});

/** OutlierDetection with Envoy's defaults applied; consecutive thresholds of 0 never trigger. */
export interface OutlierDetectionConfig {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly consecutiveLocalOriginFailure: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionTimeJitterMs: number;
  readonly maxEjectionPercent: number;
  /** Percentages (0–100) of detected outliers actually ejected. */
  readonly enforcingConsecutive5xx: number;
  readonly enforcingConsecutiveGatewayFailure: number;
  readonly enforcingConsecutiveLocalOriginFailure: number;
  readonly splitExternalLocalOriginErrors: boolean;
  readonly alwaysEjectOneHost: boolean;
}

export const DEFAULT_OUTLIER_DETECTION: OutlierDetectionConfig = Object.freeze({
  consecutive5xx: 5,
  consecutiveGatewayFailure: 5,
  consecutiveLocalOriginFailure: 5,
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionTimeJitterMs: 0,
  maxEjectionPercent: 10,
  enforcingConsecutive5xx: 100,
  enforcingConsecutiveGatewayFailure: 0,
  enforcingConsecutiveLocalOriginFailure: 100,
  splitExternalLocalOriginErrors: false,
  alwaysEjectOneHost: false,
});

/** http1/http2 from explicit_http_config; "downstream" mirrors the downstream request's protocol. */
export type UpstreamProtocol = "http1" | "http2" | "downstream";

export interface DnsConfig {
  readonly refreshRateMs: number;
  readonly respectDnsTtl: boolean;
  readonly lookupFamily: "AUTO" | "V4_ONLY" | "V6_ONLY" | "V4_PREFERRED" | "ALL";
}

export interface TransportSocketMatch {
  readonly name: string;
  /** Matched against the endpoint's `envoy.transport_socket_match` filter metadata. */
  readonly match: JsonObject;
  /** Absent: raw_buffer. */
  readonly transportSocket?: UpstreamTransportSocket;
}

export interface ClusterConfig {
  readonly name: string;
  readonly altStatName?: string;
  readonly discovery: DiscoveryType;
  /** EDS resource name to subscribe to: eds_cluster_config.service_name, else the cluster name. */
  readonly edsServiceName?: string;
  readonly connectTimeoutMs: number;
  /** CLUSTER_PROVIDED only with ORIGINAL_DST. */
  readonly lbPolicy: LbPolicy | "CLUSTER_PROVIDED";
  readonly lbConfig: LbConfig;
  readonly circuitBreakers: {
    readonly DEFAULT: CircuitBreakerThresholds;
    readonly HIGH: CircuitBreakerThresholds;
  };
  /** Absent when the cluster has no outlier_detection (Envoy then runs no detector). */
  readonly outlierDetection?: OutlierDetectionConfig;
  readonly protocol: UpstreamProtocol;
  /** common_http_protocol_options.idle_timeout; Envoy's default 1 h, 0 = never. */
  readonly idleTimeoutMs: number;
  /** 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  readonly maxConnectionDurationMs?: number;
  /** UpstreamHttpProtocolOptions.auto_sni (and auto_san_validation); absent: off. */
  readonly autoSni?: AutoSni;
  readonly perConnectionBufferLimitBytes: number;
  /** Inline endpoints of STATIC, STRICT_DNS and LOGICAL_DNS clusters. */
  readonly loadAssignment?: LoadAssignment;
  readonly dns?: DnsConfig;
  /** ORIGINAL_DST: original_dst_lb_config.http_header_name when use_http_header is set. */
  readonly originalDstHeader?: string;
  readonly upstreamBindAddress?: { readonly address: string; readonly port: number };
  /** The cluster's transport socket (absent: raw_buffer); a matching entry of
   * transportSocketMatches wins for an endpoint (transport-socket-match.ts). */
  readonly transportSocket?: UpstreamTransportSocket;
  readonly transportSocketMatches: readonly TransportSocketMatch[];
  readonly metadata: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /**
   * Istio's `istio.metadata_exchange` among the cluster's upstream filters: the client's side of
   * the TCP metadata exchange, on connections that negotiate its protocol.
   */
  readonly metadataExchange?: MetadataExchangeConfig;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS = 3_600_000;
export const DEFAULT_DNS_REFRESH_RATE_MS = 5000;
export const DEFAULT_PER_CONNECTION_BUFFER_LIMIT_BYTES = 1024 * 1024;
