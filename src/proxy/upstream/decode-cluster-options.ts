// Decoders for a Cluster's circuit_breakers, outlier_detection and HTTP protocol options.
import {
  type AutoSni,
  type CircuitBreakerThresholds,
  DEFAULT_CIRCUIT_BREAKERS,
  DEFAULT_OUTLIER_DETECTION,
  DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
  type OutlierDetectionConfig,
  type UpstreamProtocol,
} from "./cluster-config.ts";
import { checkRange, type Fields } from "./decode-fields.ts";

export function readCircuitBreakers(f: Fields | undefined): {
  DEFAULT: CircuitBreakerThresholds;
  HIGH: CircuitBreakerThresholds;
} {
  const out = { DEFAULT: DEFAULT_CIRCUIT_BREAKERS, HIGH: DEFAULT_CIRCUIT_BREAKERS };
  if (!f) return out;
  const seen = new Set<string>();
  for (const t of f.objects("thresholds")) {
    const priority = t.enumValue("priority", ["DEFAULT", "HIGH"] as const);
    if (seen.has(priority)) t.error(`duplicate thresholds for priority ${priority}`, "priority");
    seen.add(priority);
    out[priority] = {
      maxConnections: t.uint("max_connections", DEFAULT_CIRCUIT_BREAKERS.maxConnections),
      maxPendingRequests: t.uint(
        "max_pending_requests",
        DEFAULT_CIRCUIT_BREAKERS.maxPendingRequests,
      ),
      maxRequests: t.uint("max_requests", DEFAULT_CIRCUIT_BREAKERS.maxRequests),
      maxRetries: t.uint("max_retries", DEFAULT_CIRCUIT_BREAKERS.maxRetries),
    };
    t.unsupported("retry_budget", "retry budgets are not supported");
    t.skip("track_remaining", "max_connection_pools");
  }
  if (f.list("per_host_thresholds").length > 0)
    f.error("per-host circuit breakers are not supported", "per_host_thresholds");
  return out;
}

function positiveDuration(f: Fields, field: string, fallback: number): number {
  const ms = f.duration(field);
  if (ms === 0) f.error("must be greater than 0", field);
  return ms || fallback;
}

function percent(f: Fields, field: string, fallback: number): number {
  const value = f.optUint(field);
  checkRange(f, field, value, 0, 100);
  return value === undefined || value > 100 ? fallback : value;
}

/**
 * OutlierDetection with Envoy's defaults. Consecutive-error detection is implemented; success-rate
 * detection (Envoy enables it by default, Istio sets enforcing_success_rate 0) is not run, and an
 * enforced failure-percentage detection is rejected rather than silently ignored.
 */
export function readOutlierDetection(f: Fields): OutlierDetectionConfig {
  const d = DEFAULT_OUTLIER_DETECTION;
  const baseEjectionTimeMs = positiveDuration(f, "base_ejection_time", d.baseEjectionTimeMs);
  const config: OutlierDetectionConfig = {
    consecutive5xx: f.uint("consecutive_5xx", d.consecutive5xx),
    consecutiveGatewayFailure: f.uint("consecutive_gateway_failure", d.consecutiveGatewayFailure),
    consecutiveLocalOriginFailure: f.uint(
      "consecutive_local_origin_failure",
      d.consecutiveLocalOriginFailure,
    ),
    intervalMs: positiveDuration(f, "interval", d.intervalMs),
    baseEjectionTimeMs,
    // The detector caps at max(base, max) as Envoy does ("whatever is larger").
    maxEjectionTimeMs: positiveDuration(f, "max_ejection_time", d.maxEjectionTimeMs),
    maxEjectionTimeJitterMs: f.duration("max_ejection_time_jitter") ?? 0,
    maxEjectionPercent: percent(f, "max_ejection_percent", d.maxEjectionPercent),
    enforcingConsecutive5xx: percent(f, "enforcing_consecutive_5xx", d.enforcingConsecutive5xx),
    enforcingConsecutiveGatewayFailure: percent(
      f,
      "enforcing_consecutive_gateway_failure",
      d.enforcingConsecutiveGatewayFailure,
    ),
    enforcingConsecutiveLocalOriginFailure: percent(
      f,
      "enforcing_consecutive_local_origin_failure",
      d.enforcingConsecutiveLocalOriginFailure,
    ),
    splitExternalLocalOriginErrors: f.bool("split_external_local_origin_errors"),
    alwaysEjectOneHost: f.bool("always_eject_one_host"),
  };
  for (const field of ["enforcing_success_rate", "enforcing_local_origin_success_rate"])
    checkRange(f, field, f.optUint(field), 0, 100);
  for (const field of ["enforcing_failure_percentage", "enforcing_failure_percentage_local_origin"])
    if ((f.optUint(field) ?? 0) > 0)
      f.error("failure-percentage outlier detection is not supported", field);
  f.skip(
    "success_rate_minimum_hosts",
    "success_rate_request_volume",
    "success_rate_stdev_factor",
    "failure_percentage_threshold",
    "failure_percentage_minimum_hosts",
    "failure_percentage_request_volume",
    "successful_active_health_check_uneject_host",
  );
  if (f.list("monitors").length > 0) f.error("passive monitors are not supported", "monitors");
  return config;
}

export interface HttpOptions {
  protocol: UpstreamProtocol;
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  maxConnectionDurationMs?: number;
  autoSni?: AutoSni;
}

/** core.v3.HttpProtocolOptions (common_http_protocol_options) into `out`. */
export function readCommonHttpOptions(f: Fields | undefined, out: HttpOptions): void {
  if (!f) return;
  out.idleTimeoutMs = f.duration("idle_timeout") ?? out.idleTimeoutMs;
  out.maxConnectionDurationMs = f.duration("max_connection_duration");
  out.maxRequestsPerConnection = f.uint(
    "max_requests_per_connection",
    out.maxRequestsPerConnection,
  );
  f.skip(
    "max_headers_count",
    "max_stream_duration",
    "headers_with_underscores_action",
    "max_response_headers_kb",
  );
}

const HTTP_OPTIONS_TYPE =
  "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const TCP_OPTIONS_TYPE = "type.googleapis.com/envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions";

function readUpstreamProtocol(f: Fields): UpstreamProtocol | undefined {
  const kind = f.oneof(["explicit_http_config", "use_downstream_protocol_config", "auto_config"]);
  const sub = kind ? f.object(kind) : undefined;
  if (!sub) return undefined;
  if (kind === "auto_config") {
    sub.error("ALPN-negotiated upstream protocol (auto_config) is not supported");
    return undefined;
  }
  sub.unsupported("http3_protocol_options", "HTTP/3 upstreams are not supported");
  sub.skip("http_protocol_options", "http2_protocol_options");
  if (kind === "use_downstream_protocol_config") return "downstream";
  const which = sub.oneof(["http_protocol_options", "http2_protocol_options"]);
  return which === "http2_protocol_options" ? "http2" : "http1";
}

/** Cluster.typed_extension_protocol_options: HttpProtocolOptions decoded, TCP options accepted. */
export function readTypedProtocolOptions(f: Fields, out: HttpOptions): void {
  for (const [name, value, path] of f.entries("typed_extension_protocol_options")) {
    const any = value as Record<string, unknown> | null;
    const type = typeof any === "object" && any !== null ? any["@type"] : undefined;
    if (type === TCP_OPTIONS_TYPE) continue;
    if (type !== HTTP_OPTIONS_TYPE) {
      f.ctx.errors.push(`${path}: unsupported protocol options ${JSON.stringify(type ?? name)}`);
      continue;
    }
    const opts = f.object("typed_extension_protocol_options")?.object(name);
    if (!opts) continue;
    opts.skip("@type", "header_validation_config");
    const upstream = opts.object("upstream_http_protocol_options");
    if (upstream) {
      if (upstream.bool("auto_sni"))
        out.autoSni = { sanValidation: upstream.bool("auto_san_validation") };
      upstream.unsupported(
        "override_auto_sni_header",
        "override_auto_sni_header is not supported by crema's proxy",
      );
      upstream.finish();
    }
    readCommonHttpOptions(opts.object("common_http_protocol_options"), out);
    out.protocol = readUpstreamProtocol(opts) ?? out.protocol;
    if (opts.list("http_filters").length > 0)
      opts.error("upstream HTTP filters are not supported", "http_filters");
  }
}

export function defaultHttpOptions(): HttpOptions {
  return {
    protocol: "http1",
    idleTimeoutMs: DEFAULT_UPSTREAM_IDLE_TIMEOUT_MS,
    maxRequestsPerConnection: 0,
  };
}
