// HttpConnectionManager.Tracing → TracingConfig: sampling percents, custom tags, path tag length,
// spawn_upstream_span and the provider (envoy.tracers.opentelemetry with an envoy_grpc or
// http_service collector, or envoy.tracers.zipkin reporting v2 JSON to a collector cluster). A
// provider or setting crema has no exporter for is a decode error, so the proxy NACKs rather than
// silently dropping or misreporting spans the operator asked for.
import type { Fields } from "../routing/decode-reader.ts";
import type {
  CustomTag,
  OpenTelemetryProvider,
  TracingConfig,
  TracingProvider,
  ZipkinProvider,
} from "./types.ts";

export const OPENTELEMETRY_CONFIG_TYPE = "envoy.config.trace.v3.OpenTelemetryConfig";
export const ZIPKIN_CONFIG_TYPE = "envoy.config.trace.v3.ZipkinConfig";

const DEFAULT_MAX_PATH_TAG_LENGTH = 256;

function typeName(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

/** envoy.type.v3.Percent: a double in [0, 100]; absent means 100 (Envoy's default for all three). */
function percent(f: Fields, field: string): number {
  const p = f.object(field);
  if (!p) return 100;
  const value = p.raw("value");
  p.finish();
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 100) {
    p.error("expected a number between 0 and 100", "value");
    return 100;
  }
  return value;
}

/** config.core.v3.HeaderValue entries (gRPC initial_metadata). */
function headerValues(list: Fields[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    out[item.string("key", 1).toLowerCase()] = item.string("value");
    item.unsupported("raw_value", "raw_value headers are not supported (use value)");
    item.finish();
  }
  return out;
}

/** config.core.v3.HeaderValueOption entries (request_headers_to_add): each header is set. */
function headerOptions(list: Fields[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const header = item.object("header");
    if (header) Object.assign(out, headerValues([header]));
    item.skip("append", "append_action", "keep_empty_value");
    item.finish();
  }
  return out;
}

function decodeGrpcCollector(g: Fields): Omit<OpenTelemetryProvider, "serviceName"> {
  const which = g.oneof(["envoy_grpc", "google_grpc"] as const);
  let clusterName = "";
  let authority = "";
  if (which === "envoy_grpc") {
    const e = g.object("envoy_grpc");
    clusterName = e?.string("cluster_name", 1) ?? "";
    authority = e?.string("authority") ?? "";
    e?.skip("max_receive_message_length", "skip_envoy_headers");
    e?.unsupported(
      "retry_policy",
      "retry policies of the collector's gRPC stream are not supported",
    );
    e?.finish();
  } else if (which === "google_grpc") {
    g.unsupported("google_grpc", "only envoy_grpc collectors (named by a cluster) are supported");
  } else g.error("envoy_grpc is required");
  const timeoutMs = g.duration("timeout");
  const headers = headerValues(g.objects("initial_metadata"));
  g.unsupported("retry_policy", "retry policies of the collector's gRPC stream are not supported");
  g.finish();
  return {
    kind: "opentelemetry",
    transport: "grpc",
    clusterName,
    authority,
    path: "",
    timeoutMs,
    headers,
  };
}

function decodeHttpCollector(h: Fields): Omit<OpenTelemetryProvider, "serviceName"> {
  const uri = h.object("http_uri");
  const raw = uri?.string("uri", 1) ?? "";
  const clusterName = uri?.string("cluster", 1) ?? "";
  const timeoutMs = uri?.duration("timeout");
  uri?.finish();
  // Istio writes `host/path` without a scheme (url.JoinPath of hostname and path).
  let authority = "";
  let path = "/v1/traces";
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
    authority = url.host;
    if (url.pathname !== "/") path = `${url.pathname}${url.search}`;
  } catch {
    uri?.error(`${JSON.stringify(raw)} is not a URI`, "uri");
  }
  const headers = headerOptions(h.objects("request_headers_to_add"));
  h.finish();
  return {
    kind: "opentelemetry",
    transport: "http",
    clusterName,
    authority,
    path,
    timeoutMs,
    headers,
  };
}

function decodeOpenTelemetry(t: Fields): OpenTelemetryProvider | undefined {
  const which = t.oneof(["grpc_service", "http_service"] as const);
  const serviceName = t.string("service_name");
  t.unsupported("resource_detectors", "OpenTelemetry resource detectors are not supported");
  t.unsupported("sampler", "OpenTelemetry samplers are not supported (use random_sampling)");
  let collector: Omit<OpenTelemetryProvider, "serviceName"> | undefined;
  const sub = which ? t.object(which) : undefined;
  if (which === "grpc_service" && sub) collector = decodeGrpcCollector(sub);
  else if (which === "http_service" && sub) collector = decodeHttpCollector(sub);
  else if (!which) t.error("grpc_service or http_service is required (crema exports spans)");
  t.finish();
  return collector ? { ...collector, serviceName } : undefined;
}

const COLLECTOR_ENDPOINT_VERSIONS = [
  "DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE",
  "HTTP_JSON",
  "HTTP_PROTO",
  "GRPC",
] as const;
const TRACE_CONTEXT_OPTIONS = ["USE_B3", "USE_B3_WITH_W3C_PROPAGATION"] as const;

function decodeZipkin(t: Fields): ZipkinProvider | undefined {
  t.unsupported(
    "collector_service",
    "collector_service is not supported; name the collector with collector_cluster, collector_endpoint and collector_hostname",
  );
  const clusterName = t.string("collector_cluster", 1);
  const path = t.string("collector_endpoint", 1);
  if (path !== "" && !path.startsWith("/"))
    t.error("must be a path starting with /", "collector_endpoint");
  const hostname = t.string("collector_hostname");
  const version = t.enumValue("collector_endpoint_version", COLLECTOR_ENDPOINT_VERSIONS);
  // Envoy's default (unset) is the retired v1 API, which it refuses too.
  if (version !== "HTTP_JSON")
    t.error(
      `${version} is not supported: crema's proxy reports Zipkin v2 JSON (HTTP_JSON)`,
      "collector_endpoint_version",
    );
  const traceId128bit = t.bool("trace_id_128bit");
  // Envoy's default is a shared span context (the server span reuses the client's span id).
  if (t.optBool("shared_span_context") ?? true)
    t.error(
      "only false is supported: crema's proxy records the server side as a child span of the client's",
      "shared_span_context",
    );
  if (t.bool("split_spans_for_request"))
    t.error(
      "deprecated and not supported; use HttpConnectionManager.Tracing.spawn_upstream_span",
      "split_spans_for_request",
    );
  const option = t.enumValue("trace_context_option", TRACE_CONTEXT_OPTIONS);
  t.finish();
  return {
    kind: "zipkin",
    clusterName,
    authority: hostname || clusterName,
    path,
    traceId128bit,
    w3cPropagation: option === "USE_B3_WITH_W3C_PROPAGATION",
  };
}

function decodeProvider(p: Fields): TracingProvider | undefined {
  const name = p.string("name");
  const typed = p.object("typed_config");
  p.finish();
  if (!typed) {
    p.error("typed_config is required (an OpenTelemetryConfig or a ZipkinConfig)", "typed_config");
    return undefined;
  }
  const url = typed.string("@type", 1);
  if (typeName(url) === OPENTELEMETRY_CONFIG_TYPE) return decodeOpenTelemetry(typed);
  if (typeName(url) === ZIPKIN_CONFIG_TYPE) return decodeZipkin(typed);
  p.error(
    `unsupported tracer ${JSON.stringify(name)} (${url}); crema's proxy has envoy.tracers.opentelemetry and envoy.tracers.zipkin`,
    "typed_config",
  );
  return undefined;
}

function decodeCustomTag(c: Fields): CustomTag | undefined {
  const tag = c.string("tag", 1);
  const which = c.oneof(["literal", "environment", "request_header", "metadata"] as const);
  const sub = which ? c.object(which) : undefined;
  let out: CustomTag | undefined;
  if (which === "literal" && sub) {
    out = { tag, kind: "literal", value: sub.string("value", 1) };
  } else if (which === "environment" && sub) {
    // Envoy reads the variable once, when the config is loaded.
    const name = sub.string("name", 1);
    const fallback = sub.string("default_value");
    const value = process.env[name] ?? fallback;
    // An unset variable without a default adds no tag (Envoy's EnvironmentCustomTag).
    if (value !== "") out = { tag, kind: "literal", value };
  } else if (which === "request_header" && sub) {
    out = {
      tag,
      kind: "request_header",
      name: sub.string("name", 1).toLowerCase(),
      defaultValue: sub.string("default_value"),
    };
  } else if (which === "metadata" && sub) {
    const kind = sub.object("kind");
    const kinds = kind?.oneof(["request", "route", "cluster", "host"] as const);
    if (kinds && kinds !== "request")
      kind?.error(`only request metadata is supported, not ${kinds}`, kinds);
    kind?.skip("request", "route", "cluster", "host");
    kind?.finish();
    const key = sub.object("metadata_key");
    const filter = key?.string("key", 1) ?? "";
    const path = (key?.objects("path") ?? []).map((segment) => {
      const k = segment.string("key", 1);
      segment.finish();
      return k;
    });
    key?.finish();
    out = { tag, kind: "metadata", filter, path, defaultValue: sub.string("default_value") };
  } else if (!which) c.error("one of literal, environment, request_header, metadata is required");
  sub?.finish();
  c.finish();
  return out;
}

/** Decodes `f` (HttpConnectionManager.Tracing); undefined when it names no provider. */
export function decodeTracing(f: Fields): TracingConfig | undefined {
  const errors = f.ctx.errors.length;
  const config = {
    clientSamplingPercent: percent(f, "client_sampling"),
    randomSamplingPercent: percent(f, "random_sampling"),
    overallSamplingPercent: percent(f, "overall_sampling"),
    customTags: f
      .objects("custom_tags")
      .map(decodeCustomTag)
      .filter((t): t is CustomTag => t !== undefined),
    maxPathTagLength: f.optUint("max_path_tag_length") ?? DEFAULT_MAX_PATH_TAG_LENGTH,
    spawnUpstreamSpan: f.optBool("spawn_upstream_span") ?? false,
  };
  // Verbose adds timing events crema does not record; the spans are otherwise the same.
  f.skip("verbose");
  const providerFields = f.object("provider");
  const provider = providerFields ? decodeProvider(providerFields) : undefined;
  f.finish();
  // No provider: Envoy falls back to a bootstrap tracer, which crema's proxy never has.
  if (!provider || f.ctx.errors.length !== errors) return undefined;
  return { ...config, provider };
}
