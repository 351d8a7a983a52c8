// MeshConfig's tracing (extensionProviders, defaultProviders.tracing, defaultConfig.tracing.sampling)
// → the HCM tracing block istiod writes, and reading it from a MeshConfig YAML file with positions.
import { describe, expect, it } from "vitest";
import { parseDocuments } from "../../config/yaml-documents.ts";
import { DEFAULT_MESH_CONFIG, decodeMeshConfig, type MeshConfig } from "../model/mesh-config.ts";
import { decodeProxyNode, type ProxyNode } from "../model/proxy.ts";
import { buildHcmTracing, samplingPercent } from "./tracing.ts";

function proxy(id: string, labels: Record<string, string>, namespace = "default"): ProxyNode {
  const decoded = decodeProxyNode({
    id,
    metadata: {
      NAMESPACE: namespace,
      LABELS: labels,
      MESH_ID: "cluster.local",
      WORKLOAD_NAME: "w",
    },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

const SLEEP = proxy("sidecar~10.0.0.1~sleep-1.default~default.svc.cluster.local", { app: "sleep" });
const GATEWAY = proxy(
  "router~10.0.0.2~gw.istio-system~istio-system.svc.cluster.local",
  {
    app: "istio-ingressgateway",
    "service.istio.io/canonical-revision": "1-24",
  },
  "istio-system",
);

function mesh(overrides: Partial<MeshConfig>): MeshConfig {
  return {
    ...DEFAULT_MESH_CONFIG,
    extensionProviders: [
      {
        name: "otel",
        opentelemetry: { service: "otel.observability.svc.cluster.local", port: 4317 },
      },
      {
        name: "otel-http",
        opentelemetry: {
          service: "observability/otel.observability.svc.cluster.local",
          port: 4318,
          maxTagLength: 99,
          http: { path: "/v1/traces", timeoutMs: 3000, headers: [{ name: "a", value: "b" }] },
        },
      },
    ],
    defaultTracingProviders: ["otel"],
    ...overrides,
  };
}

describe("buildHcmTracing", () => {
  it("writes istiod's block for an OTLP/gRPC provider", () => {
    expect(buildHcmTracing({ meshConfig: mesh({}), proxy: SLEEP }, "CLIENT")).toMatchObject({
      client_sampling: { value: 100 },
      random_sampling: { value: 1 },
      overall_sampling: { value: 100 },
      provider: {
        name: "envoy.tracers.opentelemetry",
        typed_config: {
          "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
          service_name: "sleep.default",
          grpc_service: {
            envoy_grpc: {
              cluster_name: "outbound|4317||otel.observability.svc.cluster.local",
              authority: "otel.observability.svc.cluster.local",
            },
          },
        },
      },
    });
    const tags = buildHcmTracing({ meshConfig: mesh({}), proxy: SLEEP }, "CLIENT")?.custom_tags as {
      tag: string;
    }[];
    expect(tags.map((t) => t.tag)).toEqual([
      "istio.authorization.dry_run.allow_policy.name",
      "istio.authorization.dry_run.allow_policy.result",
      "istio.authorization.dry_run.deny_policy.name",
      "istio.authorization.dry_run.deny_policy.result",
      "istio.canonical_revision",
      "istio.canonical_service",
      "istio.cluster_id",
      "istio.mesh_id",
      "istio.namespace",
    ]);
  });

  it("writes http_service for an OTLP/HTTP provider and spawns upstream spans on gateways", () => {
    const tracing = buildHcmTracing(
      {
        meshConfig: mesh({ defaultTracingProviders: ["otel-http"], tracingSamplingPercent: 100 }),
        proxy: GATEWAY,
      },
      "CLIENT",
    );
    expect(tracing).toMatchObject({
      random_sampling: { value: 100 },
      max_path_tag_length: 99,
      spawn_upstream_span: true,
      provider: {
        typed_config: {
          service_name: "istio-ingressgateway.istio-system",
          http_service: {
            http_uri: {
              uri: "otel.observability.svc.cluster.local/v1/traces",
              cluster: "outbound|4318||otel.observability.svc.cluster.local",
              timeout: "3s",
            },
            request_headers_to_add: [
              { append_action: "OVERWRITE_IF_EXISTS_OR_ADD", header: { key: "a", value: "b" } },
            ],
          },
        },
      },
    });
    expect(tracing?.custom_tags).toContainEqual({
      tag: "istio.canonical_revision",
      literal: { value: "1-24" },
    });
  });

  it("writes istiod's ZipkinConfig for a zipkin provider", () => {
    const meshConfig = mesh({
      extensionProviders: [
        {
          name: "zipkin",
          zipkin: { service: "istio-system/zipkin.istio-system.svc.cluster.local", port: 9411 },
        },
        {
          name: "zipkin-64",
          zipkin: {
            service: "zipkin.istio-system.svc.cluster.local",
            port: 9411,
            maxTagLength: 77,
            path: "/custom/spans",
            enable64bitTraceId: true,
          },
        },
      ],
      defaultTracingProviders: ["zipkin"],
    });
    const tracing = buildHcmTracing({ meshConfig, proxy: SLEEP }, "SERVER");
    expect(tracing?.provider).toEqual({
      name: "envoy.tracers.zipkin",
      typed_config: {
        "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig",
        collector_cluster: "outbound|9411||zipkin.istio-system.svc.cluster.local",
        collector_endpoint: "/api/v2/spans",
        collector_hostname: "zipkin.istio-system.svc.cluster.local",
        collector_endpoint_version: "HTTP_JSON",
        trace_id_128bit: true,
        shared_span_context: false,
      },
    });
    expect(tracing).toMatchObject({ random_sampling: { value: 1 } });
    expect(tracing?.max_path_tag_length).toBeUndefined();
    expect(tracing?.custom_tags).toContainEqual({
      tag: "istio.canonical_service",
      literal: { value: "sleep" },
    });
    const narrow = buildHcmTracing(
      { meshConfig: { ...meshConfig, defaultTracingProviders: ["zipkin-64"] }, proxy: GATEWAY },
      "CLIENT",
    );
    expect(narrow).toMatchObject({
      max_path_tag_length: 77,
      spawn_upstream_span: true,
      provider: {
        typed_config: {
          collector_endpoint: "/custom/spans",
          trace_id_128bit: false,
        },
      },
    });
  });

  it("writes nothing without a default provider or with an unknown one", () => {
    // As in istiod, enableTracing governs only the legacy tracer, used when no provider is named.
    expect(
      buildHcmTracing({ meshConfig: mesh({ enableTracing: false }), proxy: SLEEP }, "CLIENT"),
    ).toBeDefined();
    expect(
      buildHcmTracing(
        { meshConfig: mesh({ defaultTracingProviders: [] }), proxy: SLEEP },
        "CLIENT",
      ),
    ).toBeUndefined();
    expect(
      buildHcmTracing(
        { meshConfig: mesh({ defaultTracingProviders: ["x"] }), proxy: SLEEP },
        "CLIENT",
      ),
    ).toBeUndefined();
  });

  it("reads sampling as istiod does: 0 is the 1 % default, above 100 is 1", () => {
    expect(samplingPercent(mesh({ tracingSamplingPercent: 0 }))).toBe(1);
    expect(samplingPercent(mesh({ tracingSamplingPercent: 150 }))).toBe(1);
    expect(samplingPercent(mesh({ tracingSamplingPercent: 42.5 }))).toBe(42.5);
  });
});

function decodeYaml(text: string) {
  const parsed = parseDocuments({ path: "mesh.yaml", text });
  const document = parsed.documents[0];
  if (!document) throw new Error(JSON.stringify(parsed.diagnostics));
  return decodeMeshConfig(document);
}

describe("decodeMeshConfig", () => {
  it("reads the tracing and access log fields, warning about the others", () => {
    const decoded = decodeYaml(`accessLogFile: /dev/stdout
accessLogEncoding: json
enableTracing: true
defaultConfig:
  discoveryAddress: istiod:15012
  tracing:
    sampling: 100
extensionProviders:
- name: otel
  opentelemetry:
    service: otel.observability.svc.cluster.local
    port: 4317
    grpc: {timeout: 2s}
defaultProviders:
  tracing: [otel]
`);
    expect(decoded.errors).toEqual([]);
    expect(decoded.meshConfig).toEqual({
      accessLogFile: "/dev/stdout",
      accessLogEncoding: "JSON",
      enableTracing: true,
      tracingSamplingPercent: 100,
      extensionProviders: [
        {
          name: "otel",
          opentelemetry: {
            service: "otel.observability.svc.cluster.local",
            port: 4317,
            grpc: { timeoutMs: 2000 },
          },
        },
      ],
      defaultTracingProviders: ["otel"],
    });
    expect(decoded.warnings).toEqual([
      {
        path: "defaultConfig.discoveryAddress",
        position: { file: "mesh.yaml", line: 5, column: 21 },
        message: "not read by crema (only tracing.sampling is)",
      },
    ]);
  });

  it("names the file, line and field of each error", () => {
    const decoded = decodeYaml(`extensionProviders:
- name: zip
  zipkin: {service: zipkin.istio-system.svc.cluster.local, port: 9411}
- name: otel
  opentelemetry: {service: otel, port: 70000}
defaultProviders:
  tracing: [zip, nope]
defaultConfig:
  tracing: {sampling: "lots"}
`);
    expect(
      decoded.errors.map((e) => `${e.position.line}:${e.position.column} ${e.path}: ${e.message}`),
    ).toEqual([
      "5:40 extensionProviders[1].opentelemetry.port: expected a number between 1 and 65535",
      "9:23 defaultConfig.tracing.sampling: expected a number between 0 and 100",
      '7:18 defaultProviders.tracing[1]: no extensionProviders entry is named "nope"',
    ]);
  });

  it("accepts a zipkin provider as the default tracer, with its 64-bit switch", () => {
    const decoded = decodeYaml(`extensionProviders:
- name: zipkin
  zipkin:
    service: zipkin.istio-system.svc.cluster.local
    port: 9411
    maxTagLength: 100
    path: /zipkin/api/v2/spans
    enable64bitTraceId: true
    traceContextOption: USE_B3_WITH_W3C_PROPAGATION
defaultProviders:
  tracing: [zipkin]
`);
    expect(decoded.errors).toEqual([]);
    expect(decoded.meshConfig.extensionProviders).toEqual([
      {
        name: "zipkin",
        zipkin: {
          service: "zipkin.istio-system.svc.cluster.local",
          port: 9411,
          maxTagLength: 100,
          path: "/zipkin/api/v2/spans",
          enable64bitTraceId: true,
        },
      },
    ]);
    expect(decoded.meshConfig.defaultTracingProviders).toEqual(["zipkin"]);
    expect(decoded.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      "extensionProviders[0].zipkin.traceContextOption: not supported by crema's proxy (ignored, as istiod ignores it for older proxies)",
    ]);
    const bad = decodeYaml(`extensionProviders:
- name: zipkin
  zipkin: {service: zipkin, port: 9411, enable64bitTraceId: "yes"}
`);
    expect(bad.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      "extensionProviders[0].zipkin.enable64bitTraceId: expected true or false",
    ]);
  });
});
