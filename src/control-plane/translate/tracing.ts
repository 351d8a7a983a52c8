// The HCM `tracing` block as istiod's configureTracingFromTelemetry writes it: the provider,
// sampling and custom tags the Telemetry API resolves for this side of the proxy (falling back to
// defaultProviders.tracing and defaultConfig.tracing.sampling), Istio's tags (istio.canonical_service
// …, the dry-run RBAC ones), and spawn_upstream_span on gateways.
import { compareStrings } from "../../base/compare.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import {
  findExtensionProvider,
  type MeshConfig,
  type OpenTelemetryTracingProvider,
  type ProviderHeader,
  type ZipkinTracingProvider,
} from "../model/mesh-config.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { type CustomTag, tracingSpecs, type WorkloadMode } from "../model/telemetry.ts";
import { telemetryOf } from "./telemetry-scope.ts";

export const OPENTELEMETRY_TRACER = "envoy.tracers.opentelemetry";
const OPENTELEMETRY_CONFIG = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig";
export const ZIPKIN_TRACER = "envoy.tracers.zipkin";
const ZIPKIN_CONFIG = "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig";
/** istiod's collector path when the provider sets none (Zipkin's v2 API; Envoy dropped v1). */
const DEFAULT_ZIPKIN_PATH = "/api/v2/spans";
/** Istio's PILOT_TRACE_SAMPLING default. */
const DEFAULT_TRACE_SAMPLING = 1;
const RBAC_FILTER = "envoy.filters.http.rbac";

export interface TracingContext {
  meshConfig: MeshConfig;
  proxy: ProxyNode;
  snapshot?: MeshSnapshot | undefined;
}

/** Istio's proxyConfigSamplingValue: 0 means the default; above 100 falls back to 1. */
export function samplingPercent(mesh: MeshConfig): number {
  const sampling = mesh.tracingSamplingPercent;
  if (!sampling) return DEFAULT_TRACE_SAMPLING;
  return sampling > 100 ? 1 : sampling;
}

/**
 * The Envoy node's `cluster` as pilot-agent sets it (APP_LABEL_AND_NAMESPACE, Istio's default
 * tracingServiceName): the span's service.name.
 */
export function serviceCluster(proxy: ProxyNode): string {
  const app = proxy.labels.app;
  if (app) return `${app}.${proxy.namespace}`;
  const workload = proxy.metadata.WORKLOAD_NAME;
  if (typeof workload === "string" && workload) return `${workload}.${proxy.namespace}`;
  return `istio-proxy.${proxy.namespace}`;
}

/** `service` is `hostname` or `namespace/hostname` (istiod's LookupCluster). */
function providerCluster(
  service: string,
  port: number,
  snapshot: MeshSnapshot | undefined,
): { hostname: string; cluster: string } | undefined {
  const slash = service.indexOf("/");
  const namespace = slash >= 0 ? service.slice(0, slash) : undefined;
  const hostname = slash >= 0 ? service.slice(slash + 1) : service;
  if (snapshot) {
    const known = snapshot.services.some(
      (s) =>
        s.hostname === hostname &&
        (namespace === undefined || s.namespace === namespace) &&
        s.ports.some((p) => p.port === port),
    );
    // istiod leaves tracing unconfigured when the collector's service is not in the registry.
    if (!known) return undefined;
  }
  return { hostname, cluster: `outbound|${port}||${hostname}` };
}

function headerValues(headers: readonly ProviderHeader[] | undefined): JsonObject[] {
  return (headers ?? []).map((h) => ({ key: h.name, value: h.value }));
}

function duration(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : `${ms / 1000}s`;
}

function otelConfig(
  provider: OpenTelemetryTracingProvider,
  target: { hostname: string; cluster: string },
  serviceName: string,
): JsonObject {
  const config: JsonObject = { "@type": OPENTELEMETRY_CONFIG, service_name: serviceName };
  if (provider.http) {
    const path = provider.http.path ?? "";
    const timeout = duration(provider.http.timeoutMs);
    const headers = headerValues(provider.http.headers);
    config.http_service = {
      http_uri: {
        uri: `${target.hostname}${path === "" || path.startsWith("/") ? "" : "/"}${path}`,
        cluster: target.cluster,
        ...(timeout ? { timeout } : {}),
      },
      ...(headers.length
        ? {
            request_headers_to_add: headers.map((header) => ({
              append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
              header,
            })),
          }
        : {}),
    };
    return config;
  }
  const timeout = duration(provider.grpc?.timeoutMs);
  const metadata = headerValues(provider.grpc?.initialMetadata);
  config.grpc_service = {
    envoy_grpc: { cluster_name: target.cluster, authority: target.hostname },
    ...(timeout ? { timeout } : {}),
    ...(metadata.length ? { initial_metadata: metadata } : {}),
  };
  return config;
}

/**
 * istiod's zipkinConfig in the legacy form (collector_cluster/endpoint/hostname), the one the
 * repo's Envoy protos carry; their ZipkinConfig has no collector_service or trace_context_option,
 * which istiod writes only for 1.28+/1.29+ proxies anyway.
 */
function zipkinConfig(
  provider: ZipkinTracingProvider,
  target: { hostname: string; cluster: string },
): JsonObject {
  return {
    "@type": ZIPKIN_CONFIG,
    collector_cluster: target.cluster,
    collector_endpoint: provider.path || DEFAULT_ZIPKIN_PATH,
    collector_hostname: target.hostname,
    collector_endpoint_version: "HTTP_JSON",
    trace_id_128bit: !provider.enable64bitTraceId,
    // The server side starts its own span, a child of the client's.
    shared_span_context: false,
  };
}

function literal(tag: string, value: string): JsonObject {
  return { tag, literal: { value } };
}

function dryRunTag(tag: string, key: string): JsonObject {
  return {
    tag,
    metadata: { kind: { request: {} }, metadata_key: { key: RBAC_FILTER, path: [{ key }] } },
  };
}

function label(proxy: ProxyNode, ...names: string[]): string | undefined {
  for (const name of names) if (proxy.labels[name]) return proxy.labels[name];
  return undefined;
}

/**
 * Istio's buildServiceTags and optionalPolicyTags, sorted by tag. The canonical labels are
 * derived as Istio's injector sets them on the pod (crema has no injector to label the node).
 */
export function istioCustomTags(proxy: ProxyNode): JsonObject[] {
  const meshId = proxy.metadata.MESH_ID;
  const workload = proxy.metadata.WORKLOAD_NAME;
  const service =
    label(proxy, "service.istio.io/canonical-name", "app.kubernetes.io/name", "app") ??
    (typeof workload === "string" && workload ? workload : "unknown");
  const revision =
    label(proxy, "service.istio.io/canonical-revision", "app.kubernetes.io/version", "version") ??
    "latest";
  const tags = [
    literal("istio.canonical_revision", revision),
    literal("istio.canonical_service", service),
    literal("istio.mesh_id", typeof meshId === "string" && meshId ? meshId : "unknown"),
    literal("istio.namespace", proxy.namespace || "default"),
    literal("istio.cluster_id", proxy.clusterId || "unknown"),
    dryRunTag(
      "istio.authorization.dry_run.allow_policy.name",
      "istio_dry_run_allow_shadow_effective_policy_id",
    ),
    dryRunTag(
      "istio.authorization.dry_run.allow_policy.result",
      "istio_dry_run_allow_shadow_engine_result",
    ),
    dryRunTag(
      "istio.authorization.dry_run.deny_policy.name",
      "istio_dry_run_deny_shadow_effective_policy_id",
    ),
    dryRunTag(
      "istio.authorization.dry_run.deny_policy.result",
      "istio_dry_run_deny_shadow_engine_result",
    ),
  ];
  return tags.sort((a, b) => compareStrings(String(a.tag), String(b.tag)));
}

/** A Telemetry customTags entry as Envoy's tracing CustomTag. */
function telemetryCustomTag(tag: string, source: CustomTag): JsonObject {
  if ("literal" in source) return literal(tag, source.literal.value);
  const { name, defaultValue } = "environment" in source ? source.environment : source.header;
  const value = { name, ...(defaultValue !== undefined ? { default_value: defaultValue } : {}) };
  return "environment" in source ? { tag, environment: value } : { tag, request_header: value };
}

/**
 * HttpConnectionManager.tracing for one side of this proxy (an opentelemetry or zipkin provider),
 * or undefined: no Telemetry tracing and no default provider (istiod would configure the proxy's
 * bootstrap Zipkin tracer when enableTracing is on; crema's proxies have no bootstrap tracer),
 * span reporting disabled, an unknown provider or collector service, or a provider kind that
 * does no tracing.
 */
export function buildHcmTracing(ctx: TracingContext, mode: WorkloadMode): JsonObject | undefined {
  const mesh = ctx.meshConfig;
  const spec = tracingSpecs(telemetryOf(ctx), mesh)?.[mode];
  if (!spec || spec.disabled || spec.provider === undefined) return undefined;
  const found = findExtensionProvider(mesh, spec.provider);
  const collector = found?.opentelemetry ?? found?.zipkin;
  if (!collector) return undefined;
  const target = providerCluster(collector.service, collector.port, ctx.snapshot);
  if (!target) return undefined;
  const provider = found?.zipkin
    ? { name: ZIPKIN_TRACER, typed_config: zipkinConfig(found.zipkin, target) }
    : found?.opentelemetry && {
        name: OPENTELEMETRY_TRACER,
        typed_config: otelConfig(found.opentelemetry, target, serviceCluster(ctx.proxy)),
      };
  if (!provider) return undefined;
  const sampling = spec.randomSamplingPercentage ?? samplingPercent(mesh);
  // Istio's tags and the Telemetry ones, sorted by tag (a Telemetry tag may replace one of Istio's).
  const tags = new Map(istioCustomTags(ctx.proxy).map((t) => [String(t.tag), t]));
  for (const [tag, source] of Object.entries(spec.customTags ?? {}))
    tags.set(tag, telemetryCustomTag(tag, source));
  const customTags = [...tags.values()].sort((a, b) =>
    compareStrings(String(a.tag), String(b.tag)),
  );
  return {
    client_sampling: { value: 100 },
    random_sampling: { value: sampling },
    overall_sampling: { value: 100 },
    custom_tags: customTags,
    ...(collector.maxTagLength ? { max_path_tag_length: collector.maxTagLength } : {}),
    provider,
    // Istio's SPAWN_UPSTREAM_SPAN_FOR_GATEWAY (on by default).
    ...(ctx.proxy.kind === "router" ? { spawn_upstream_span: true } : {}),
  };
}
