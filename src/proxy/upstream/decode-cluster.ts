// CDS Cluster JSON → ClusterConfig, collecting every problem with its field path (the proxy NACKs).
import {
  decodeMetadataExchange,
  METADATA_EXCHANGE_TYPE,
  type MetadataExchangeConfig,
} from "../telemetry/metadata-exchange-config.ts";
import { decodeUpstreamTransportSocket } from "../tls/decode-tls-context.ts";
import type { UpstreamTransportSocket } from "../tls/tls-context.ts";
import {
  type ClusterConfig,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DNS_REFRESH_RATE_MS,
  DEFAULT_PER_CONNECTION_BUFFER_LIMIT_BYTES,
  type DiscoveryType,
  type DnsConfig,
  type TransportSocketMatch,
} from "./cluster-config.ts";
import {
  defaultHttpOptions,
  readCircuitBreakers,
  readCommonHttpOptions,
  readOutlierDetection,
  readTypedProtocolOptions,
} from "./decode-cluster-options.ts";
import { type LoadAssignment, readLoadAssignment } from "./decode-endpoints.ts";
import { type Decoded, type Fields, readerFor } from "./decode-fields.ts";
import { readLoadBalancing } from "./decode-lb-config.ts";

export type { ClusterConfig } from "./cluster-config.ts";

const DISCOVERY_TYPES = ["STATIC", "STRICT_DNS", "LOGICAL_DNS", "EDS", "ORIGINAL_DST"] as const;
const LOOKUP_FAMILIES = ["AUTO", "V4_ONLY", "V6_ONLY", "V4_PREFERRED", "ALL"] as const;

/** Fields with no effect on crema's proxy (stats, DNS resolver plumbing, connection tuning). */
const IGNORED = [
  "dns_failure_refresh_rate",
  "dns_resolvers",
  "use_tcp_for_dns_lookups",
  "dns_resolution_config",
  "typed_dns_resolver_config",
  "wait_for_warm_on_init",
  "cleanup_interval",
  "upstream_connection_options",
  "close_connections_on_host_health_failure",
  "ignore_health_on_host_removal",
  "lrs_server",
  "lrs_report_endpoint_metrics",
  "track_timeout_budgets",
  "track_cluster_stats",
  "preconnect_policy",
  "connection_pool_per_downstream_connection",
  "http_protocol_options",
  "upstream_http_protocol_options",
];

function readDiscovery(f: Fields): { discovery: DiscoveryType; edsServiceName?: string } {
  if (f.has("cluster_type")) f.error("custom cluster types are not supported", "cluster_type");
  const discovery = f.enumValue("type", DISCOVERY_TYPES);
  const eds = f.object("eds_cluster_config");
  if (discovery !== "EDS") return { discovery };
  if (!eds) {
    f.error("is required for an EDS cluster", "eds_cluster_config");
    return { discovery };
  }
  const source = eds.object("eds_config");
  if (!source) eds.error("is required", "eds_config");
  else {
    const kind = source.oneof(["ads", "self", "path", "path_config_source", "api_config_source"]);
    if (kind !== "ads" && kind !== "self")
      source.error("endpoints must come over ADS (ads or self config source)");
    source.skip("initial_fetch_timeout", "resource_api_version", "authorities");
  }
  const serviceName = eds.string("service_name");
  return { discovery, edsServiceName: serviceName || f.string("name") };
}

function readMetadata(f: Fields): ClusterConfig["metadata"] {
  const out: Record<string, Record<string, unknown>> = {};
  const metadata = f.object("metadata");
  if (!metadata) return out;
  metadata.skip("typed_filter_metadata");
  for (const [key, value, path] of metadata.entries("filter_metadata")) {
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      out[key] = value as Record<string, unknown>;
    else f.ctx.errors.push(`${path}: expected an object (Struct)`);
  }
  return out;
}

function readAssignment(f: Fields, discovery: DiscoveryType): LoadAssignment | undefined {
  const lf = f.object("load_assignment");
  if (!lf) return undefined;
  if (discovery === "ORIGINAL_DST") {
    f.error("ORIGINAL_DST clusters must not have a load_assignment", "load_assignment");
    return undefined;
  }
  if (discovery === "EDS") return undefined; // Envoy ignores it: endpoints come from EDS.
  const assignment = readLoadAssignment(lf, discovery === "STATIC" ? "ip" : "dns");
  if (discovery === "LOGICAL_DNS" && assignment.endpoints.length !== 1)
    lf.error("a LOGICAL_DNS cluster needs exactly one lb_endpoint", "endpoints");
  return assignment;
}

function readDns(f: Fields, discovery: DiscoveryType): DnsConfig | undefined {
  const refresh = f.duration("dns_refresh_rate");
  if (refresh !== undefined && refresh <= 1)
    f.error("must be greater than 1ms", "dns_refresh_rate");
  const dns: DnsConfig = {
    refreshRateMs: refresh || DEFAULT_DNS_REFRESH_RATE_MS,
    respectDnsTtl: f.bool("respect_dns_ttl"),
    lookupFamily: f.enumValue("dns_lookup_family", LOOKUP_FAMILIES),
  };
  return discovery === "STRICT_DNS" || discovery === "LOGICAL_DNS" ? dns : undefined;
}

/** A transport_socket, or undefined for raw_buffer (the default). */
function readSocket(f: Fields | undefined): UpstreamTransportSocket | undefined {
  const socket = f && decodeUpstreamTransportSocket(f);
  return socket?.kind === "tls" ? socket : undefined;
}

function readTransport(f: Fields): {
  transportSocket?: UpstreamTransportSocket;
  transportSocketMatches: TransportSocketMatch[];
} {
  const transportSocket = readSocket(f.object("transport_socket"));
  const transportSocketMatches = f.objects("transport_socket_matches").map((m) => {
    const socket = readSocket(m.object("transport_socket"));
    const match: TransportSocketMatch = {
      name: m.string("name", 1),
      match: m.json("match") ?? {},
      ...(socket ? { transportSocket: socket } : {}),
    };
    m.finish();
    return match;
  });
  if (f.has("transport_socket_matcher"))
    f.error("transport_socket_matcher is not supported", "transport_socket_matcher");
  return { ...(transportSocket ? { transportSocket } : {}), transportSocketMatches };
}

function readCluster(f: Fields): ClusterConfig {
  const name = f.string("name", 1);
  const altStatName = f.optString("alt_stat_name");
  const { discovery, edsServiceName } = readDiscovery(f);
  const connectTimeout = f.duration("connect_timeout");
  if (connectTimeout === 0) f.error("must be greater than 0", "connect_timeout");
  const { lbPolicy, lbConfig } = readLoadBalancing(f);
  if ((discovery === "ORIGINAL_DST") !== (lbPolicy === "CLUSTER_PROVIDED"))
    f.error(
      discovery === "ORIGINAL_DST"
        ? "an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED"
        : `lb_policy CLUSTER_PROVIDED is not valid for a ${discovery} cluster`,
      "lb_policy",
    );
  const originalDst = f.object("original_dst_lb_config");
  const originalDstHeader = originalDst?.bool("use_http_header")
    ? originalDst.string("http_header_name") || "x-envoy-original-dst-host"
    : undefined;
  originalDst?.skip("upstream_port_override", "metadata_key");
  const circuitBreakers = readCircuitBreakers(f.object("circuit_breakers"));
  const outlier = f.object("outlier_detection");
  const http = defaultHttpOptions();
  readCommonHttpOptions(f.object("common_http_protocol_options"), http);
  http.maxRequestsPerConnection = f.uint(
    "max_requests_per_connection",
    http.maxRequestsPerConnection,
  );
  if (f.has("http2_protocol_options")) http.protocol = "http2";
  if (
    f.enumValue("protocol_selection", ["USE_CONFIGURED_PROTOCOL", "USE_DOWNSTREAM_PROTOCOL"]) ===
    "USE_DOWNSTREAM_PROTOCOL"
  )
    http.protocol = "downstream";
  readTypedProtocolOptions(f, http);
  if (f.list("health_checks").length > 0)
    f.error("active health checking is not supported", "health_checks");
  const metadataExchange = readUpstreamFilters(f);
  f.unsupported("upstream_config", "custom upstream connection pools are not supported");
  const bind = f.object("upstream_bind_config")?.object("source_address");
  const upstreamBindAddress = bind
    ? { address: bind.string("address", 1), port: bind.uint("port_value", 0, 65535) }
    : undefined;
  bind?.skip("protocol", "named_port", "resolver_name", "ipv4_compat");
  const loadAssignment = readAssignment(f, discovery);
  const dns = readDns(f, discovery);
  f.skip(...IGNORED);
  return {
    name,
    ...(altStatName !== undefined ? { altStatName } : {}),
    discovery,
    ...(edsServiceName !== undefined ? { edsServiceName } : {}),
    connectTimeoutMs: connectTimeout || DEFAULT_CONNECT_TIMEOUT_MS,
    lbPolicy,
    lbConfig,
    circuitBreakers,
    ...(outlier ? { outlierDetection: readOutlierDetection(outlier) } : {}),
    protocol: http.protocol,
    idleTimeoutMs: http.idleTimeoutMs,
    maxRequestsPerConnection: http.maxRequestsPerConnection,
    ...(http.maxConnectionDurationMs !== undefined
      ? { maxConnectionDurationMs: http.maxConnectionDurationMs }
      : {}),
    ...(http.autoSni ? { autoSni: http.autoSni } : {}),
    perConnectionBufferLimitBytes: f.uint(
      "per_connection_buffer_limit_bytes",
      DEFAULT_PER_CONNECTION_BUFFER_LIMIT_BYTES,
    ),
    ...(loadAssignment ? { loadAssignment } : {}),
    ...(dns ? { dns } : {}),
    ...(originalDstHeader ? { originalDstHeader } : {}),
    ...(upstreamBindAddress ? { upstreamBindAddress } : {}),
    ...readTransport(f),
    metadata: readMetadata(f),
    ...(metadataExchange ? { metadataExchange } : {}),
  };
}

/**
 * The cluster's upstream network filters: Istio's metadata exchange is the one crema runs; any
 * other is an error naming it.
 */
function readUpstreamFilters(f: Fields): MetadataExchangeConfig | undefined {
  let exchange: MetadataExchangeConfig | undefined;
  for (const filter of f.objects("filters")) {
    const name = filter.string("name", 1);
    filter.unsupported("config_discovery", "filter config discovery (ECDS) is not supported");
    const typed = filter.object("typed_config");
    filter.finish();
    const url = typed?.string("@type", 1) ?? "";
    if (typed && url.slice(url.lastIndexOf("/") + 1) === METADATA_EXCHANGE_TYPE) {
      const decoded = decodeMetadataExchange(typed);
      exchange ??= decoded;
      continue;
    }
    filter.error(
      `upstream network filter ${JSON.stringify(name)}${url ? ` (${url})` : ""} is not supported`,
    );
  }
  return exchange;
}

/**
 * Decodes one CDS Cluster. Features the proxy cannot honour are errors (so the update is NACKed
 * and the last good cluster kept); fields that only tune stats or plumbing are skipped.
 */
export function decodeCluster(json: unknown): Decoded<ClusterConfig> {
  const errors: string[] = [];
  const f = readerFor(errors, json, "");
  const value = f ? readCluster(f) : undefined;
  return value && errors.length === 0 ? { ok: true, value } : { ok: false, errors };
}
