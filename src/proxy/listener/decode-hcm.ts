// HttpConnectionManager typed_config → HcmConfig: routes (RDS name or an inline table validated
// by the routing engine), HTTP filters, upgrades, codec, path normalisation, XFF and timeouts.

import { decodeAccessLogs } from "../access-log/decode-access-log.ts";
import type { Fields } from "../routing/decode-reader.ts";
import { decodeRouteConfiguration, releaseRouteConfiguration } from "../routing/index.ts";
import { decodeTracing } from "../tracing/decode-tracing.ts";
import { decodeHttpFilters, type HttpFilterOptions } from "./decode-http-filters.ts";
import type { HcmConfig, RouteSource, UpgradeConfig } from "./types.ts";

export interface HcmDecodeOptions extends HttpFilterOptions {
  /** API listener of a proxyless gRPC client: stat_prefix and rds.config_source are optional. */
  apiListener?: boolean;
  /**
   * Listeners for proxyless gRPC (xds.istio.io/grpc/lds/…): gRPC's rules instead of Envoy's —
   * stat_prefix optional, inline route tables (non_forwarding_action) not run through the proxy's
   * routing engine.
   */
  proxyless?: boolean;
}

const CODECS = ["AUTO", "HTTP1", "HTTP2", "HTTP3"] as const;
const ESCAPED_SLASHES = [
  "IMPLEMENTATION_SPECIFIC_DEFAULT",
  "KEEP_UNCHANGED",
  "REJECT_REQUEST",
  "UNESCAPE_AND_REDIRECT",
  "UNESCAPE_AND_FORWARD",
] as const;
const UNDERSCORES = ["ALLOW", "REJECT_REQUEST", "DROP_HEADER"] as const;
const FCC = [
  "SANITIZE",
  "FORWARD_ONLY",
  "APPEND_FORWARD",
  "SANITIZE_SET",
  "ALWAYS_FORWARD_ONLY",
] as const;
const SERVER_HEADER = ["OVERWRITE", "APPEND_IF_ABSENT", "PASS_THROUGH"] as const;

/** Observability and stats-only fields: accepted, not used by the data path (access_log is). */
const SKIPPED = [
  "@type",
  // Periodic and on-new-request flushing: crema logs once, at the end of each stream.
  "access_log_flush_interval",
  "flush_access_log_on_new_request",
  "access_log_options",
  "add_user_agent",
  "always_set_request_id_in_response",
  "internal_address_config",
  "request_id_extension",
  "http3_protocol_options",
  "proxy_status_config",
  "stream_error_on_invalid_http_message",
];

function decodeRoutes(f: Fields, options: HcmDecodeOptions): RouteSource {
  const which = f.oneof(["rds", "route_config", "scoped_routes"] as const);
  if (which === "rds") {
    const rds = f.object("rds");
    if (rds && !options.apiListener && !options.proxyless && !rds.has("config_source")) {
      rds.error("config_source is required", "config_source");
    }
    rds?.skip("config_source");
    const name = rds?.string("route_config_name", 1) ?? "";
    rds?.finish();
    return { kind: "rds", routeConfigName: name };
  }
  if (which === "route_config") {
    const json = f.json("route_config") ?? {};
    if (options.proxyless) return { kind: "inline", routeConfig: json };
    const result = decodeRouteConfiguration(json);
    const base = f.at("route_config");
    if (result.ok) releaseRouteConfiguration(result.value);
    else {
      for (const e of result.errors) {
        f.ctx.errors.push(e.startsWith("(root)") ? `${base}${e.slice(6)}` : `${base}.${e}`);
      }
    }
    return { kind: "inline", routeConfig: json };
  }
  if (which === "scoped_routes") f.unsupported("scoped_routes", "scoped routes are not supported");
  else f.error("one of rds, route_config is required");
  return { kind: "inline", routeConfig: {} };
}

function decodeUpgrade(u: Fields, options: HcmDecodeOptions): UpgradeConfig {
  const out: UpgradeConfig = {
    upgradeType: u.string("upgrade_type", 1),
    enabled: u.optBool("enabled") ?? true,
  };
  if (u.has("filters")) {
    out.filters = decodeHttpFilters(u.objects("filters"), u.at("filters"), u.ctx.errors, options);
  }
  u.finish();
  return out;
}

function decodeProtocolOptions(f: Fields, hcm: HcmConfig): void {
  const common = f.object("common_http_protocol_options");
  if (common) {
    hcm.idleTimeoutMs = common.duration("idle_timeout") ?? hcm.idleTimeoutMs;
    const maxConn = common.duration("max_connection_duration");
    if (maxConn !== undefined) hcm.maxConnectionDurationMs = maxConn;
    hcm.maxHeadersCount = common.optUint("max_headers_count") ?? hcm.maxHeadersCount;
    if (hcm.maxHeadersCount < 1) common.error("must be at least 1", "max_headers_count");
    const maxStream = common.duration("max_stream_duration");
    if (maxStream !== undefined) hcm.maxStreamDurationMs = maxStream;
    const maxRequests = common.optUint("max_requests_per_connection");
    if (maxRequests !== undefined) hcm.maxRequestsPerConnection = maxRequests;
    hcm.headersWithUnderscoresAction = common.enumValue(
      "headers_with_underscores_action",
      UNDERSCORES,
    );
    common.finish();
  }
  const h1 = f.object("http_protocol_options");
  if (h1) {
    // A BoolValue whose unset default is true in Envoy (Http1Settings).
    hcm.allowAbsoluteUrl = h1.optBool("allow_absolute_url") ?? true;
    hcm.acceptHttp10 = h1.bool("accept_http_10");
    hcm.defaultHostForHttp10 = h1.string("default_host_for_http_10");
    h1.skip(
      "header_key_format",
      "enable_trailers",
      "override_stream_error_on_invalid_http_message",
    );
    h1.skip("use_balsa_parser", "allow_chunked_length");
    h1.finish();
  }
  const h2 = f.json("http2_protocol_options");
  if (h2) hcm.http2ProtocolOptions = h2;
}

function stripPortMode(f: Fields): HcmConfig["stripPortMode"] {
  const any = f.bool("strip_any_host_port");
  const matching = f.bool("strip_matching_host_port");
  if (any && matching) f.error("only one of strip_any_host_port, strip_matching_host_port");
  return any ? "any" : matching ? "matching" : "none";
}

/** gRPC clients ignore access_log, so proxyless listeners must not NACK over a logger crema lacks. */
function decodeHcmAccessLogs(f: Fields, options: HcmDecodeOptions): HcmConfig["accessLogs"] {
  if (!options.apiListener && !options.proxyless) return decodeAccessLogs(f);
  f.skip("access_log");
  return [];
}

/** gRPC clients trace on their own, so proxyless listeners do not decode (or NACK) tracing. */
function decodeHcmTracing(f: Fields, options: HcmDecodeOptions): HcmConfig["tracing"] {
  const tracing = !options.apiListener && !options.proxyless ? f.object("tracing") : undefined;
  if (!tracing) {
    f.skip("tracing");
    return undefined;
  }
  return decodeTracing(tracing);
}

/** Decodes `f` (the typed_config object); errors go to f.ctx.errors. */
export function decodeHcm(f: Fields, options: HcmDecodeOptions = {}): HcmConfig {
  f.skip(...SKIPPED);
  const certDetails = f.object("set_current_client_cert_details");
  const hcm: HcmConfig = {
    statPrefix: f.string("stat_prefix", options.apiListener || options.proxyless ? 0 : 1),
    codecType: f.enumValue("codec_type", CODECS),
    routes: decodeRoutes(f, options),
    httpFilters: decodeHttpFilters(
      f.objects("http_filters"),
      f.at("http_filters"),
      f.ctx.errors,
      options,
    ),
    upgradeConfigs: f.objects("upgrade_configs").map((u) => decodeUpgrade(u, options)),
    allowAbsoluteUrl: true,
    acceptHttp10: false,
    defaultHostForHttp10: "",
    normalizePath: f.optBool("normalize_path") ?? false,
    mergeSlashes: f.bool("merge_slashes"),
    pathWithEscapedSlashesAction: f.enumValue("path_with_escaped_slashes_action", ESCAPED_SLASHES),
    stripPortMode: stripPortMode(f),
    useRemoteAddress: f.optBool("use_remote_address") ?? false,
    xffNumTrustedHops: f.uint("xff_num_trusted_hops"),
    skipXffAppend: f.bool("skip_xff_append"),
    via: f.string("via"),
    generateRequestId: f.optBool("generate_request_id") ?? true,
    preserveExternalRequestId: f.bool("preserve_external_request_id"),
    forwardClientCertDetails: f.enumValue("forward_client_cert_details", FCC),
    setCurrentClientCertDetails: {
      subject: certDetails?.optBool("subject") ?? false,
      cert: certDetails?.bool("cert") ?? false,
      chain: certDetails?.bool("chain") ?? false,
      dns: certDetails?.bool("dns") ?? false,
      uri: certDetails?.bool("uri") ?? false,
    },
    streamIdleTimeoutMs: f.duration("stream_idle_timeout") ?? 300_000,
    requestTimeoutMs: f.duration("request_timeout") ?? 0,
    requestHeadersTimeoutMs: f.duration("request_headers_timeout") ?? 0,
    drainTimeoutMs: f.duration("drain_timeout") ?? 5_000,
    delayedCloseTimeoutMs: f.duration("delayed_close_timeout") ?? 1_000,
    serverName: f.optString("server_name") || "envoy",
    serverHeaderTransformation: f.enumValue("server_header_transformation", SERVER_HEADER),
    maxRequestHeadersKb: f.optUint("max_request_headers_kb", 8192) ?? 60,
    idleTimeoutMs: 3_600_000,
    maxHeadersCount: 100,
    headersWithUnderscoresAction: "ALLOW",
    accessLogs: decodeHcmAccessLogs(f, options),
  };
  certDetails?.finish();
  const tracing = decodeHcmTracing(f, options);
  if (tracing) hcm.tracing = tracing;
  if (hcm.maxRequestHeadersKb === 0) f.error("must be greater than 0", "max_request_headers_kb");
  decodeProtocolOptions(f, hcm);
  f.unsupported("local_reply_config", "custom local replies are not supported");
  f.finish();
  return hcm;
}
