// The HCM's `tracing` block as decodeListener sees it: decoded, or a NACK naming the field.
import { describe, expect, it } from "vitest";
import { decodeListener } from "../listener/decode-listener.ts";

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const OTEL = "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig";
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
        name: "envoy.tracers.zipkin",
        typed_config: { "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig" },
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
          `${at}.provider.typed_config: unsupported tracer "envoy.tracers.zipkin"`,
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
