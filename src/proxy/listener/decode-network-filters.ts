// A filter chain's network filters: http_connection_manager → HcmConfig, tcp_proxy →
// TcpProxyConfig, Istio's stats filter checked, Istio's metadata exchange decoded, Envoy's
// contrib variant of it skipped, anything else an error (the proxy NACKs).
import { decodeAccessLogs } from "../access-log/decode-access-log.ts";
import { decodeNetworkRbac, RBAC_NETWORK_TYPE, releaseRbacConfig } from "../rbac/index.ts";
import type { Fields } from "../routing/decode-reader.ts";
import {
  decodeMetadataExchange,
  METADATA_EXCHANGE_TYPE,
} from "../telemetry/metadata-exchange-config.ts";
import { decodeStatsFilterConfig, ISTIO_STATS_TYPE } from "../telemetry/stats-filter-config.ts";
import { decodeHcm, type HcmDecodeOptions } from "./decode-hcm.ts";
import { typeName } from "./decode-listener-filters.ts";
import type { NetworkFilter, TcpProxyConfig, TcpProxyWeightedCluster } from "./types.ts";

export const HCM_TYPE =
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const TCP_PROXY_TYPE = "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

const BY_NAME: Record<string, string> = {
  "envoy.filters.network.http_connection_manager": HCM_TYPE,
  "envoy.filters.network.tcp_proxy": TCP_PROXY_TYPE,
  "envoy.filters.network.rbac": RBAC_NETWORK_TYPE,
};

/**
 * Envoy's contrib copy of Istio's metadata exchange: istiod never sends it, and crema has not its
 * proto, so it is skipped as before.
 */
const TELEMETRY_ONLY = new Set([
  "envoy.extensions.filters.network.metadata_exchange.v3.MetadataExchange",
]);

function decodeWeightedClusters(w: Fields): TcpProxyConfig["cluster"] {
  const clusters: TcpProxyWeightedCluster[] = [];
  for (const c of w.objects("clusters")) {
    const name = c.string("name", 1);
    const weight = c.uint("weight");
    if (weight < 1) c.error("must be at least 1", "weight");
    c.unsupported("metadata_match", "metadata_match subsets are not supported");
    c.finish();
    clusters.push({ name, weight });
  }
  if (clusters.length === 0) w.error("at least one cluster is required", "clusters");
  w.finish();
  return { kind: "weighted", clusters, totalWeight: clusters.reduce((s, c) => s + c.weight, 0) };
}

export function decodeTcpProxy(f: Fields): TcpProxyConfig {
  // Periodic flushing and a log line on connect: crema logs once, when the connection closes.
  f.skip("@type", "access_log_flush_interval", "flush_access_log_on_connected");
  f.skip("access_log_options");
  const statPrefix = f.string("stat_prefix", 1);
  const which = f.oneof(["cluster", "weighted_clusters", "on_demand"] as const);
  let cluster: TcpProxyConfig["cluster"] = { kind: "cluster", name: "" };
  if (which === "cluster") cluster = { kind: "cluster", name: f.string("cluster", 1) };
  else if (which === "weighted_clusters") {
    const w = f.object("weighted_clusters");
    if (w) cluster = decodeWeightedClusters(w);
  } else if (which === undefined) f.error("one of cluster, weighted_clusters is required");
  f.skip("cluster", "weighted_clusters"); // the other member of a reported oneof conflict
  for (const field of ["on_demand", "metadata_match", "hash_policy", "tunneling_config"]) {
    f.unsupported(field);
  }
  const config: TcpProxyConfig = {
    statPrefix,
    cluster,
    idleTimeoutMs: f.duration("idle_timeout") ?? 3_600_000,
    maxConnectAttempts: f.optUint("max_connect_attempts") ?? 1,
    accessLogs: decodeAccessLogs(f),
  };
  if (config.maxConnectAttempts < 1) f.error("must be at least 1", "max_connect_attempts");
  const maxDuration = f.duration("max_downstream_connection_duration");
  if (maxDuration !== undefined) config.maxDownstreamConnectionDurationMs = maxDuration;
  f.unsupported("downstream_idle_timeout");
  f.unsupported("upstream_idle_timeout");
  f.finish();
  return config;
}

/** One network filter; undefined when skipped or invalid (errors recorded). */
export function decodeNetworkFilter(
  f: Fields,
  options: HcmDecodeOptions,
): NetworkFilter | undefined {
  const name = f.string("name", 1);
  f.unsupported("config_discovery", "filter config discovery (ECDS) is not supported");
  const typed = f.object("typed_config");
  f.finish();
  const url = typed ? typed.string("@type", 1) : "";
  const type = url ? typeName(url) : (BY_NAME[name] ?? "");
  if (type === HCM_TYPE && typed) {
    return { kind: "http_connection_manager", name, config: decodeHcm(typed, options) };
  }
  if (type === TCP_PROXY_TYPE && typed) {
    return { kind: "tcp_proxy", name, config: decodeTcpProxy(typed) };
  }
  if (type === RBAC_NETWORK_TYPE && typed) {
    const config = f.json("typed_config") ?? {};
    const decoded = decodeNetworkRbac(config);
    if (decoded.ok) releaseRbacConfig(decoded.value);
    else for (const error of decoded.errors) f.ctx.errors.push(`${f.at("typed_config")}.${error}`);
    return { kind: "rbac", name, config };
  }
  if (type === METADATA_EXCHANGE_TYPE && typed) {
    return { kind: "metadata_exchange", name, config: decodeMetadataExchange(typed) };
  }
  if (type === ISTIO_STATS_TYPE && typed) {
    const config = f.json("typed_config") ?? {};
    const decoded = decodeStatsFilterConfig(config);
    if (!decoded.ok)
      for (const error of decoded.errors) f.ctx.errors.push(`${f.at("typed_config")}.${error}`);
    return { kind: "istio_stats", name, config };
  }
  if (
    type === HCM_TYPE ||
    type === TCP_PROXY_TYPE ||
    type === RBAC_NETWORK_TYPE ||
    type === METADATA_EXCHANGE_TYPE
  )
    f.error("typed_config is required");
  else if (!TELEMETRY_ONLY.has(type)) {
    f.error(`unsupported network filter ${JSON.stringify(name)}${url ? ` (${url})` : ""}`);
  }
  return undefined;
}
