// The HCM's `tracing` block as decodeListener sees it: decoded, or a NACK naming the field.
import { describe, expect, it } from "vitest";
import { messageType } from "../../xds/envoy-protos.ts";
import { decodeJson, encodeJson } from "../../xds/proto-json.ts";
import { decodeListener } from "../listener/decode-listener.ts";

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const OTEL = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig";
const ZIPKIN = "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig";
const ROUTER = {
  name: "envoy.filters.http.router",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};

function decode(tracing: unknown) {
  return decodeListener({
    name: "l",
    address: { socket_address: { address: "0.0.0.0", port_value: 80 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM,
              stat_prefix: "s",
              rds: { route_config_name: "r", config_source: { ads: {} } },
              http_filters: [ROUTER],
              tracing,
            },
          },
        ],
      },
    ],
  });
}

function tracingOf(tracing: unknown) {
  const result = decode(tracing);
  if (!result.ok) throw new Error(result.errors.join("\n"));
  const filter = result.value.filterChains[0]?.filters[0];
  return filter?.kind === "http_connection_manager" ? filter.config.tracing : undefined;
}

const GRPC_PROVIDER = {
  name: "envoy.tracers.opentelemetry",
  typed_config: {
    "@type": OTEL,
    service_name: "sleep.default",
    grpc_service: {
      envoy_grpc: {
        cluster_name: "outbound|4317||otel.observability.svc.cluster.local",
        authority: "otel",
      },
      timeout: "2s",
      initial_metadata: [{ key: "X-Token", value: "t" }],
    },
  },
};

describe("decodeTracing", () => {
  it("decodes Istio's block: sampling, tags and an envoy_grpc collector", () => {
    process.env.CREMA_TEST_POD = "pod-1";
    const tracing = tracingOf({
      client_sampling: { value: 100 },
      random_sampling: { value: 2.5 },
      overall_sampling: { value: 100 },
      max_path_tag_length: 64,
      custom_tags: [
        { tag: "istio.canonical_service", literal: { value: "sleep" } },
        { tag: "pod", environment: { name: "CREMA_TEST_POD" } },
        { tag: "absent", environment: { name: "CREMA_TEST_NOT_SET" } },
        { tag: "h", request_header: { name: "X-Tenant", default_value: "none" } },
        {
          tag: "istio.authorization.dry_run.allow_policy.name",
          metadata: {
            kind: { request: {} },
            metadata_key: {
              key: "envoy.filters.http.rbac",
              path: [{ key: "istio_dry_run_allow_shadow_effective_policy_id" }],
            },
          },
        },
      ],
      provider: GRPC_PROVIDER,
    });
    expect(tracing).toEqual({
      clientSamplingPercent: 100,
      randomSamplingPercent: 2.5,
      overallSamplingPercent: 100,
      maxPathTagLength: 64,
      spawnUpstreamSpan: false,
      customTags: [
        { tag: "istio.canonical_service", kind: "literal", value: "sleep" },
        { tag: "pod", kind: "literal", value: "pod-1" },
        { tag: "h", kind: "request_header", name: "x-tenant", defaultValue: "none" },
        {
          tag: "istio.authorization.dry_run.allow_policy.name",
          kind: "metadata",
          filter: "envoy.filters.http.rbac",
          path: ["istio_dry_run_allow_shadow_effective_policy_id"],
          defaultValue: "",
        },
      ],
      provider: {
        kind: "opentelemetry",
        transport: "grpc",
        clusterName: "outbound|4317||otel.observability.svc.cluster.local",
        authority: "otel",
        path: "",
        timeoutMs: 2000,
        headers: { "x-token": "t" },
        serviceName: "sleep.default",
      },
    });
  });

  it("reads Istio's http_service uri (host/path without a scheme); sampling defaults to 100 %", () => {
    const tracing = tracingOf({
      provider: {
        name: "envoy.tracers.opentelemetry",
        typed_config: {
          "@type": OTEL,
          http_service: {
            http_uri: {
              uri: "otel.ns.svc.cluster.local/v1/traces",
              cluster: "outbound|4318||otel",
            },
            request_headers_to_add: [
              { append_action: "OVERWRITE_IF_EXISTS_OR_ADD", header: { key: "a", value: "b" } },
            ],
          },
        },
      },
    });
    expect(tracing?.randomSamplingPercent).toBe(100);
    expect(tracing?.maxPathTagLength).toBe(256);
    expect(tracing?.provider).toMatchObject({
      transport: "http",
      authority: "otel.ns.svc.cluster.local",
      path: "/v1/traces",
      headers: { a: "b" },
    });
  });

  it("traces nothing without a provider (Envoy's bootstrap tracer crema never has)", () => {
    expect(tracingOf({ random_sampling: { value: 1 } })).toBeUndefined();
  });

  it("NACKs what it cannot honour, naming each field", () => {
    const result = decode({
      random_sampling: { value: 101 },
      custom_tags: [{ tag: "t" }],
      provider: {
        name: "envoy.tracers.datadog",
        typed_config: { "@type": "type.googleapis.com/envoy.config.trace.v3.DatadogConfig" },
      },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const at = "filter_chains[0].filters[0].typed_config.tracing";
    expect(result.errors).toEqual(
      expect.arrayContaining([
        `${at}.random_sampling.value: expected a number between 0 and 100`,
        `${at}.custom_tags[0]: one of literal, environment, request_header, metadata is required`,
        expect.stringContaining(
          `${at}.provider.typed_config: unsupported tracer "envoy.tracers.datadog"`,
        ),
      ]),
    );
    const google = decode({
      provider: {
        name: "envoy.tracers.opentelemetry",
        typed_config: { "@type": OTEL, grpc_service: { google_grpc: { target_uri: "x" } } },
      },
    });
    expect(google.ok).toBe(false);
    if (!google.ok)
      expect(google.errors.join("\n")).toContain(
        `${at}.provider.typed_config.grpc_service.google_grpc: only envoy_grpc collectors`,
      );
  });
});

/** istiod's zipkinConfig output for a 1.27 proxy, as written by crema's control plane. */
const ISTIO_ZIPKIN = {
  "@type": ZIPKIN,
  collector_cluster: "outbound|9411||zipkin.istio-system.svc.cluster.local",
  collector_endpoint: "/api/v2/spans",
  collector_hostname: "zipkin.istio-system.svc.cluster.local",
  collector_endpoint_version: "HTTP_JSON",
  trace_id_128bit: true,
  shared_span_context: false,
};

describe("decodeTracing: envoy.tracers.zipkin", () => {
  it("decodes istiod's ZipkinConfig, after a trip through the Envoy protos", () => {
    const type = messageType(
      "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
    );
    const hcm = {
      stat_prefix: "s",
      tracing: {
        random_sampling: { value: 100 },
        provider: { name: "envoy.tracers.zipkin", typed_config: ISTIO_ZIPKIN },
      },
    };
    const wire = decodeJson(type, encodeJson(type, hcm));
    const tracing = tracingOf(wire.tracing);
    expect(tracing?.provider).toEqual({
      kind: "zipkin",
      clusterName: "outbound|9411||zipkin.istio-system.svc.cluster.local",
      authority: "zipkin.istio-system.svc.cluster.local",
      path: "/api/v2/spans",
      traceId128bit: true,
      w3cPropagation: false,
    });
  });

  it("sends the cluster's name as Host without collector_hostname; reads 64-bit and W3C options", () => {
    const tracing = tracingOf({
      provider: {
        name: "envoy.tracers.zipkin",
        typed_config: {
          ...ISTIO_ZIPKIN,
          collector_hostname: undefined,
          trace_id_128bit: false,
          trace_context_option: "USE_B3_WITH_W3C_PROPAGATION",
        },
      },
    });
    expect(tracing?.provider).toMatchObject({
      authority: "outbound|9411||zipkin.istio-system.svc.cluster.local",
      traceId128bit: false,
      w3cPropagation: true,
    });
  });

  it.each([
    [
      { collector_endpoint_version: "HTTP_PROTO" },
      "collector_endpoint_version: HTTP_PROTO is not supported",
    ],
    [{ collector_endpoint_version: "GRPC" }, "collector_endpoint_version: GRPC is not supported"],
    [
      { collector_endpoint_version: undefined },
      "collector_endpoint_version: DEPRECATED_AND_UNAVAILABLE_DO_NOT_USE is not supported",
    ],
    [{ shared_span_context: true }, "shared_span_context: only false is supported"],
    // Envoy's default is a shared context.
    [{ shared_span_context: undefined }, "shared_span_context: only false is supported"],
    [{ split_spans_for_request: true }, "split_spans_for_request: deprecated and not supported"],
    [{ collector_cluster: "" }, "collector_cluster: must be at least 1 character(s)"],
    [{ collector_endpoint: "api/v2/spans" }, "collector_endpoint: must be a path starting with /"],
    [
      { collector_service: { http_uri: { uri: "/api/v2/spans", cluster: "z", timeout: "5s" } } },
      "collector_service: collector_service is not supported",
    ],
    [{ trace_context_option: "W3C" }, "trace_context_option: expected one of USE_B3"],
  ])("NACKs %j, naming the field", (change, message) => {
    const result = decode({
      provider: { name: "envoy.tracers.zipkin", typed_config: { ...ISTIO_ZIPKIN, ...change } },
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.join("\n")).toContain(
      `filter_chains[0].filters[0].typed_config.tracing.provider.typed_config.${message}`,
    );
  });
});
