// The decoded shape of an Envoy v3 Listener (LDS) as crema's proxy uses it: addresses, listener
// filters, filter chains with their network filters (HCM, TCP proxy) and the chain-match index.
import type { X509Certificate } from "node:crypto";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { AccessLogConfig } from "../access-log/types.ts";
import type { MetadataExchangeConfig } from "../telemetry/metadata-exchange-config.ts";
import type { DownstreamTlsConfig } from "../tls/tls-context.ts";
import type { TracingConfig } from "../tracing/types.ts";
import type { FilterChainIndex } from "./filter-chain-index.ts";

export type TrafficDirection = "UNSPECIFIED" | "INBOUND" | "OUTBOUND";

/** A listener filter's `filter_disabled` predicate (ListenerFilterChainMatchPredicate). */
export type ListenerFilterPredicate =
  | { kind: "any" }
  | { kind: "or"; rules: ListenerFilterPredicate[] }
  | { kind: "and"; rules: ListenerFilterPredicate[] }
  | { kind: "not"; rule: ListenerFilterPredicate }
  /** Destination port in [start, end) — Envoy's Int32Range has an exclusive end. */
  | { kind: "destination_port_range"; start: number; end: number };

export type ListenerFilterKind = "tls_inspector" | "http_inspector" | "original_dst";

export interface ListenerFilter {
  name: string;
  kind: ListenerFilterKind;
  /** When the predicate matches a connection the filter is skipped for it. */
  disabled?: ListenerFilterPredicate;
  /** True when Envoy would inject it (a chain matches on TLS properties but none is configured). */
  injected?: boolean;
}

export interface CidrRange {
  /** The address as written (e.g. "10.0.0.0"). */
  address: string;
  prefixLen: number;
}

export type SourceType = "ANY" | "SAME_IP_OR_LOOPBACK" | "EXTERNAL";

export interface FilterChainMatch {
  destinationPort?: number;
  prefixRanges: CidrRange[];
  serverNames: string[];
  transportProtocol: string;
  applicationProtocols: string[];
  directSourcePrefixRanges: CidrRange[];
  sourceType: SourceType;
  sourcePrefixRanges: CidrRange[];
  sourcePorts: number[];
}

export interface HttpFilter {
  name: string;
  /** The `@type` of typed_config (how Envoy finds the filter's implementation). */
  typeUrl: string;
  config: JsonObject;
  /** Disabled by default; routes may enable it through typed_per_filter_config. */
  disabled: boolean;
  /** The router filter's decoded typed_config (set on the router filter only). */
  router?: RouterFilterConfig;
}

/** What crema honours of envoy.extensions.filters.http.router.v3.Router. */
export interface RouterFilterConfig {
  /** Add none of the router's x-envoy-* request and response headers. */
  suppressEnvoyHeaders: boolean;
  /** Take the route timeout from an egress proxy's x-envoy-expected-rq-timeout-ms. */
  respectExpectedRqTimeout: boolean;
}

export interface UpgradeConfig {
  upgradeType: string;
  enabled: boolean;
  /** Upgrade-specific filter chain; undefined means the HCM's own http_filters. */
  filters?: HttpFilter[];
}

export type CodecType = "AUTO" | "HTTP1" | "HTTP2" | "HTTP3";
export type PathWithEscapedSlashesAction =
  | "IMPLEMENTATION_SPECIFIC_DEFAULT"
  | "KEEP_UNCHANGED"
  | "REJECT_REQUEST"
  | "UNESCAPE_AND_REDIRECT"
  | "UNESCAPE_AND_FORWARD";
export type HeadersWithUnderscoresAction = "ALLOW" | "REJECT_REQUEST" | "DROP_HEADER";
export type ForwardClientCertDetails =
  | "SANITIZE"
  | "FORWARD_ONLY"
  | "APPEND_FORWARD"
  | "SANITIZE_SET"
  | "ALWAYS_FORWARD_ONLY";
export type ServerHeaderTransformation = "OVERWRITE" | "APPEND_IF_ABSENT" | "PASS_THROUGH";

export type RouteSource =
  | { kind: "rds"; routeConfigName: string }
  /** Validated with the routing engine at decode time; compile it with decodeRouteConfiguration. */
  | { kind: "inline"; routeConfig: JsonObject };

/** HttpConnectionManager. Durations are in ms; 0 means "disabled" where Envoy says so. */
export interface HcmConfig {
  statPrefix: string;
  codecType: CodecType;
  routes: RouteSource;
  httpFilters: HttpFilter[];
  upgradeConfigs: UpgradeConfig[];
  allowAbsoluteUrl: boolean;
  acceptHttp10: boolean;
  defaultHostForHttp10: string;
  normalizePath: boolean;
  mergeSlashes: boolean;
  pathWithEscapedSlashesAction: PathWithEscapedSlashesAction;
  stripPortMode: "none" | "any" | "matching";
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  skipXffAppend: boolean;
  via: string;
  generateRequestId: boolean;
  preserveExternalRequestId: boolean;
  forwardClientCertDetails: ForwardClientCertDetails;
  setCurrentClientCertDetails: {
    subject: boolean;
    cert: boolean;
    chain: boolean;
    dns: boolean;
    uri: boolean;
  };
  /** Default 5 minutes; 0 disables. */
  streamIdleTimeoutMs: number;
  /** Default 0 (disabled). */
  requestTimeoutMs: number;
  requestHeadersTimeoutMs: number;
  /** Default 5 s. */
  drainTimeoutMs: number;
  /** Default 1 s. */
  delayedCloseTimeoutMs: number;
  serverName: string;
  serverHeaderTransformation: ServerHeaderTransformation;
  /** Default 60, at most 8192. */
  maxRequestHeadersKb: number;
  /** common_http_protocol_options.idle_timeout: default 1 h for downstream; 0 disables. */
  idleTimeoutMs: number;
  maxConnectionDurationMs?: number;
  /** Default 100. */
  maxHeadersCount: number;
  maxStreamDurationMs?: number;
  maxRequestsPerConnection?: number;
  headersWithUnderscoresAction: HeadersWithUnderscoresAction;
  /** http2_protocol_options kept opaque for the HTTP/2 codec. */
  http2ProtocolOptions?: JsonObject;
  /** `access_log`, compiled (empty when none); open them with openAccessLoggers. */
  accessLogs: readonly AccessLogConfig[];
  /** `tracing` with a provider crema exports to; absent: the HCM traces nothing. */
  tracing?: TracingConfig;
}

export interface TcpProxyWeightedCluster {
  name: string;
  weight: number;
}

export interface TcpProxyConfig {
  statPrefix: string;
  cluster:
    | { kind: "cluster"; name: string }
    | { kind: "weighted"; clusters: TcpProxyWeightedCluster[]; totalWeight: number };
  /** Default 1 h; 0 disables. */
  idleTimeoutMs: number;
  /** Default 1. */
  maxConnectAttempts: number;
  maxDownstreamConnectionDurationMs?: number;
  /**
   * `access_log`, compiled; the decoder always sets it (empty when none). Optional only so that
   * configs built by hand (the local HTTP proxy's CONNECT relay) need not name it.
   */
  accessLogs?: readonly AccessLogConfig[];
}

export type NetworkFilter =
  | { kind: "http_connection_manager"; name: string; config: HcmConfig }
  | { kind: "tcp_proxy"; name: string; config: TcpProxyConfig }
  /** envoy.filters.network.rbac, checked at decode time and compiled by the chain's runtime. */
  | { kind: "rbac"; name: string; config: JsonObject }
  /** Istio's `istio.stats` (stats.PluginConfig), checked at decode time, compiled by the runtime. */
  | { kind: "istio_stats"; name: string; config: JsonObject }
  /** Istio's `istio.metadata_exchange`: the server's side of the TCP metadata exchange. */
  | { kind: "metadata_exchange"; name: string; config: MetadataExchangeConfig };

export interface FilterChain {
  name: string;
  match: FilterChainMatch;
  filters: NetworkFilter[];
  /** The chain's DownstreamTlsContext (envoy.transport_sockets.tls); absent for raw_buffer. */
  transportSocket?: DownstreamTlsConfig;
  /** transport_socket_connect_timeout: how long the TLS handshake may take. */
  transportSocketConnectTimeoutMs?: number;
}

export interface ListenerConfig {
  name: string;
  /** Socket address; undefined for API listeners (proxyless gRPC). */
  address?: { address: string; port: number };
  bindToPort: boolean;
  useOriginalDst: boolean;
  trafficDirection: TrafficDirection;
  listenerFilters: ListenerFilter[];
  /** Default 15 s; 0 disables the timeout. */
  listenerFiltersTimeoutMs: number;
  continueOnListenerFiltersTimeout: boolean;
  filterChains: FilterChain[];
  defaultFilterChain?: FilterChain;
  /** The API listener's HttpConnectionManager (proxyless gRPC clients). */
  apiListener?: HcmConfig;
  /** Precompiled filter-chain lookup tree (see filter-chain-match.ts). */
  chainIndex: FilterChainIndex;
}

/** What the networking stack and listener filters know about a new connection. */
export interface ConnectionInfo {
  destinationIp: string;
  destinationPort: number;
  serverName?: string;
  transportProtocol: string;
  applicationProtocols: readonly string[];
  sourceIp: string;
  sourcePort: number;
  /** The directly connected peer (differs from sourceIp only after PROXY protocol). */
  directSourceIp?: string;
  /** Set once the chain's TLS handshake completed (the connection is TLS-terminated). */
  tls?: DownstreamTlsInfo;
}

/** A terminated TLS connection, as RBAC (`authenticated`) and XFCC see it. */
export interface DownstreamTlsInfo {
  /** The peer certificate's URI SANs (empty when the client presented none). */
  uriSans: readonly string[];
  dnsSans: readonly string[];
  /** The peer certificate's subject in RFC 2253 form ("" when none). */
  subject: string;
  peerCertificatePresented: boolean;
  /** The peer certificate chained to the trusted CA (false when nothing was checked). */
  peerCertificateValidated: boolean;
  /** The negotiated ALPN protocol ("" when the two sides agreed on none). */
  alpn: string;
  /** The certificate this proxy presented (XFCC `By`) and the peer's (XFCC `Hash`, `Cert` …). */
  localCertificate?: X509Certificate;
  peerCertificate?: X509Certificate;
}
