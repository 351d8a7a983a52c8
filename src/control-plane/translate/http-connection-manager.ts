// The HTTP connection manager as Istio's buildHTTPConnectionManager writes it: codec, stat prefix,
// path normalisation, remote address, upgrades, timeouts, RDS over ADS or an inline route config,
// proxy headers per listener class, and the HTTP filter chain in Istio's order.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Protocol } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { accessLogsFor } from "./access-log.ts";
import { buildAuthnFilters } from "./authn/authn-filters.ts";
import { buildAuthzHttpFilters, buildCustomAuthzHttpFilters } from "./authz/authz-filters.ts";
import { compact, typed } from "./listener-common.ts";
import { statsHttpFilters } from "./stats-filter.ts";
import { workloadMode } from "./telemetry-scope.ts";
import { buildHcmTracing } from "./tracing.ts";

export const HCM_FILTER_NAME = "envoy.filters.network.http_connection_manager";
export const HCM_TYPE =
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/** Istio's ListenerClass: decides proxy headers and which policy filters apply. */
export type ListenerClass = "sidecar-outbound" | "sidecar-inbound" | "gateway";

export interface HcmContext {
  meshConfig: MeshConfig;
  proxy: ProxyNode;
  /** Istio config the policy filters read (inbound and gateway HCMs pass it; outbound may omit it). */
  snapshot?: MeshSnapshot;
}

export interface HcmOptions {
  class: ListenerClass;
  statPrefix: string;
  /** Route configuration fetched over RDS (ADS); else `routeConfig` is inlined. */
  rds?: string;
  routeConfig?: JsonObject;
  useRemoteAddress: boolean;
  /** Port protocol: HTTP2/gRPC inbound chains get http2_protocol_options. */
  protocol?: Protocol;
  /** Replaces the default Http1ProtocolOptions (gateways send `{}`; the local HTTP proxy allows absolute URLs). */
  httpProtocolOptions?: JsonObject;
  http2ProtocolOptions?: JsonObject;
  /** Upgrade types beyond websocket (the local runtime's HTTP proxy adds CONNECT). */
  extraUpgrades?: readonly string[];
}

function httpFilter(name: string, messageName: string, fields: JsonObject = {}): JsonObject {
  return { name, typed_config: typed(messageName, fields) };
}

export const FAULT_FILTER = httpFilter(
  "envoy.filters.http.fault",
  "envoy.extensions.filters.http.fault.v3.HTTPFault",
);
export const CORS_FILTER = httpFilter(
  "envoy.filters.http.cors",
  "envoy.extensions.filters.http.cors.v3.Cors",
);
export const ROUTER_FILTER = httpFilter(
  "envoy.filters.http.router",
  "envoy.extensions.filters.http.router.v3.Router",
);
/**
 * Envoy's gRPC statistics filter as istiod writes it (xdsfilters.GrpcStats): it leaves each gRPC
 * stream's message counts in filter state, where `istio.stats` reads them for
 * istio_request_messages_total and istio_response_messages_total. Since istio/istio#44094 Istio
 * adds it to every HCM whatever the port's protocol: a shared outbound HCM cannot tell gRPC from
 * HTTP by port, and the filter looks at each stream's content-type.
 */
export const GRPC_STATS_FILTER = httpFilter(
  "envoy.filters.http.grpc_stats",
  "envoy.extensions.filters.http.grpc_stats.v3.FilterConfig",
  { emit_filter_state: true, stats_for_all_methods: false },
);

// ---- Seams: policy filters that later issues fill in (each returns [] until then). ----

/** SEAM (security): metadata exchange / peer metadata filter, first in Istio's chain. */
export function metadataExchangeFilters(_ctx: HcmContext, _cls: ListenerClass): JsonObject[] {
  return [];
}
/**
 * CUSTOM AuthorizationPolicies: istiod's RBAC marker filter plus ext_authz, or a fail-closed DENY
 * RBAC filter when the provider does not resolve (authz/authz-filters.ts, authz/ext-authz.ts).
 */
export function customAuthzFilters(ctx: HcmContext, cls: ListenerClass): JsonObject[] {
  if (!ctx.snapshot) return [];
  return buildCustomAuthzHttpFilters({ snapshot: ctx.snapshot, proxy: ctx.proxy }, cls);
}
/**
 * RequestAuthentication → `envoy.filters.http.jwt_authn` (istiod no longer adds istio_authn).
 * Reads `snapshot` and `jwks` when the context carries them (see authn/authn-filters.ts).
 */
export function authnFilters(ctx: HcmContext, cls: ListenerClass): JsonObject[] {
  return buildAuthnFilters(ctx, cls);
}
/** AuthorizationPolicy → `envoy.filters.http.rbac`: AUDIT, DENY, ALLOW (authz/authz-filters.ts). */
export function authzFilters(ctx: HcmContext, cls: ListenerClass): JsonObject[] {
  if (!ctx.snapshot) return [];
  return buildAuthzHttpFilters({ snapshot: ctx.snapshot, proxy: ctx.proxy }, cls);
}
/**
 * Telemetry API metrics → one `istio.stats` filter per Prometheus provider in scope, none when
 * this side's metrics are all disabled (stats-filter.ts). Istio puts them after fault and cors,
 * before the router.
 */
export function statsFilters(ctx: HcmContext, cls: ListenerClass): JsonObject[] {
  return statsHttpFilters(ctx, cls);
}
/** HCM access logs: the Telemetry API's for this side of the proxy, else meshConfig's. */
export function accessLogs(ctx: HcmContext, cls: ListenerClass): JsonObject[] {
  return accessLogsFor(ctx, workloadMode(cls));
}
/**
 * SEAM: Istio sends `request_id_extension` with UuidRequestIdConfig{use_request_id_for_trace_sampling:
 * true}. Envoy's default is the same UUID extension, and envoy/extensions/request_id/uuid/v3 is not
 * yet in ENVOY_PROTO_FILES, so nothing is sent until that proto is loaded.
 */
export function requestIdExtension(_ctx: HcmContext): JsonObject | undefined {
  return undefined;
}

/**
 * The HTTP filters in Istio's order: mx, ext_authz, jwt, rbac, grpc_stats, fault, cors, stats,
 * router.
 */
export function httpFilters(ctx: HcmContext, cls: ListenerClass): JsonObject[] {
  return [
    ...metadataExchangeFilters(ctx, cls),
    ...customAuthzFilters(ctx, cls),
    ...authnFilters(ctx, cls),
    ...authzFilters(ctx, cls),
    GRPC_STATS_FILTER,
    FAULT_FILTER,
    CORS_FILTER,
    ...statsFilters(ctx, cls),
    ROUTER_FILTER,
  ];
}

/** meshConfig.pathNormalization → HCM fields (Istio listener_builder.go). */
export function pathNormalization(mesh: MeshConfig): JsonObject {
  switch (mesh.pathNormalization) {
    case "NONE":
      return { normalize_path: false, path_with_escaped_slashes_action: "KEEP_UNCHANGED" };
    case "MERGE_SLASHES":
      return {
        normalize_path: true,
        merge_slashes: true,
        path_with_escaped_slashes_action: "KEEP_UNCHANGED",
      };
    case "DECODE_AND_MERGE_SLASHES":
      return {
        normalize_path: true,
        merge_slashes: true,
        path_with_escaped_slashes_action: "UNESCAPE_AND_FORWARD",
      };
    default:
      return { normalize_path: true, path_with_escaped_slashes_action: "KEEP_UNCHANGED" };
  }
}

/** RDS over the ADS stream, as Istio configures every RDS route (initial fetch timeout 0s). */
export function adsRds(routeConfigName: string): JsonObject {
  return {
    config_source: { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" },
    route_config_name: routeConfigName,
  };
}

/** Idle timeout of downstream connections: proxy metadata IDLE_TIMEOUT, else Envoy's 1 h. */
export function idleTimeout(proxy: ProxyNode): string {
  const raw = proxy.metadata.IDLE_TIMEOUT;
  return typeof raw === "string" && /^\d+(\.\d+)?s$/.test(raw) ? raw : "3600s";
}

/** Proxy headers by class (Istio GetProxyHeaders; gateways use gatewayTopology defaults). */
function proxyHeaders(cls: ListenerClass): JsonObject {
  switch (cls) {
    case "sidecar-outbound":
      // Istio leaves the server name unset outbound (Envoy then says "envoy").
      return {};
    case "sidecar-inbound":
      return {
        server_name: "istio-envoy",
        forward_client_cert_details: "APPEND_FORWARD",
        set_current_client_cert_details: { subject: true, dns: true, uri: true },
      };
    case "gateway":
      return {
        server_name: "istio-envoy",
        forward_client_cert_details: "SANITIZE_SET",
        set_current_client_cert_details: { subject: true, cert: true, dns: true, uri: true },
      };
  }
}

/** The HttpConnectionManager typed config (with "@type"). */
export function buildHttpConnectionManager(ctx: HcmContext, options: HcmOptions): JsonObject {
  const upgrades = ["websocket", ...(options.extraUpgrades ?? [])];
  const http2 =
    options.http2ProtocolOptions ??
    (options.class === "sidecar-inbound" && options.protocol && isHttp2(options.protocol)
      ? {}
      : undefined);
  const logs = accessLogs(ctx, options.class);
  return typed(
    HCM_TYPE,
    compact({
      stat_prefix: options.statPrefix,
      rds: options.rds !== undefined ? adsRds(options.rds) : undefined,
      route_config: options.rds === undefined ? (options.routeConfig ?? {}) : undefined,
      http_filters: httpFilters(ctx, options.class),
      ...pathNormalization(ctx.meshConfig),
      use_remote_address: options.useRemoteAddress,
      upgrade_configs: upgrades.map((upgrade_type) => ({ upgrade_type })),
      common_http_protocol_options: { idle_timeout: idleTimeout(ctx.proxy) },
      http_protocol_options: options.httpProtocolOptions,
      http2_protocol_options: http2,
      stream_idle_timeout: "0s",
      access_log: logs.length ? logs : undefined,
      tracing: buildHcmTracing(ctx, workloadMode(options.class)),
      request_id_extension: requestIdExtension(ctx),
      ...proxyHeaders(options.class),
    }),
  );
}

function isHttp2(protocol: Protocol): boolean {
  return protocol === "HTTP2" || protocol === "GRPC" || protocol === "GRPC-Web";
}

export function hcmFilter(hcm: JsonObject): JsonObject {
  return { name: HCM_FILTER_NAME, typed_config: hcm };
}
