// Telemetry API tracing → the HCM tracing block: providers, randomSamplingPercentage,
// customTags, disableSpanReporting and CLIENT/SERVER match, over meshConfig's defaults.
import { describe, expect, it } from "vitest";
import type { MeshConfig } from "../model/mesh-config.ts";
import type { WorkloadMode } from "../model/telemetry.ts";
import { snapshotFromYaml, telemetryYaml } from "../model/testing.ts";
import { proxyNode } from "./clusters-testing.ts";
import { buildHcmTracing } from "./tracing.ts";

const COLLECTOR = `apiVersion: v1
kind: Service
metadata: {name: otel, namespace: observability}
spec:
  ports: [{name: grpc-otlp, port: 4317}]
---
`;
const MESH: Partial<MeshConfig> = {
  extensionProviders: [
    {
      name: "otel",
      opentelemetry: { service: "otel.observability.svc.cluster.local", port: 4317 },
    },
    {
      name: "other",
      opentelemetry: { service: "otel.observability.svc.cluster.local", port: 4317 },
    },
  ],
};

const SHOP = proxyNode({ namespace: "shop", labels: { app: "customer" } });

function tracing(yaml: string, mode: WorkloadMode, mesh: Partial<MeshConfig> = MESH, proxy = SHOP) {
  const snapshot = snapshotFromYaml(COLLECTOR + yaml, mesh);
  return buildHcmTracing({ meshConfig: snapshot.meshConfig, proxy, snapshot }, mode);
}

describe("Telemetry tracing", () => {
  it("enables a provider with its sampling for both sides", () => {
    const yaml = telemetryYaml(
      "mesh-default",
      "istio-system",
      "tracing: [{providers: [{name: otel}], randomSamplingPercentage: 100}]",
    );
    for (const mode of ["CLIENT", "SERVER"] as const) {
      expect(tracing(yaml, mode)).toMatchObject({
        random_sampling: { value: 100 },
        provider: { name: "envoy.tracers.opentelemetry" },
      });
    }
    expect(tracing("", "CLIENT")).toBeUndefined();
  });

  it("keeps the mesh sampling default when the Telemetry sets none", () => {
    const yaml = telemetryYaml("t", "shop", "tracing: [{providers: [{name: otel}]}]");
    expect(tracing(yaml, "CLIENT", { ...MESH, tracingSamplingPercent: 7 })).toMatchObject({
      random_sampling: { value: 7 },
    });
  });

  it("lets a namespace override the mesh's sampling and a workload disable span reporting", () => {
    const yaml =
      telemetryYaml(
        "mesh",
        "istio-system",
        "tracing: [{providers: [{name: otel}], randomSamplingPercentage: 10}]",
      ) +
      telemetryYaml("ns", "shop", "tracing: [{randomSamplingPercentage: 0}]") +
      telemetryYaml(
        "quiet",
        "shop",
        "selector: {matchLabels: {app: quiet}}\ntracing: [{disableSpanReporting: true}]",
      );
    expect(tracing(yaml, "CLIENT")).toMatchObject({ random_sampling: { value: 0 } });
    const quiet = proxyNode({ namespace: "shop", labels: { app: "quiet" } });
    expect(tracing(yaml, "CLIENT", MESH, quiet)).toBeUndefined();
    const elsewhere = proxyNode({ namespace: "web", labels: { app: "x" } });
    expect(tracing(yaml, "SERVER", MESH, elsewhere)).toMatchObject({
      random_sampling: { value: 10 },
    });
  });

  it("applies a match to one side only", () => {
    const yaml = telemetryYaml(
      "server-only",
      "shop",
      "tracing: [{providers: [{name: otel}], match: {mode: SERVER}}]",
    );
    expect(tracing(yaml, "SERVER")).toBeDefined();
    expect(tracing(yaml, "CLIENT")).toBeUndefined();
  });

  it("adds literal, environment and header custom tags beside Istio's, sorted by tag", () => {
    const yaml = telemetryYaml(
      "tags",
      "shop",
      `tracing:
- providers: [{name: otel}]
  customTags:
    team: {literal: {value: coffee}}
    region: {environment: {name: REGION, defaultValue: here}}
    user: {header: {name: x-user}}`,
    );
    const tags = tracing(yaml, "CLIENT")?.custom_tags as { tag: string }[];
    expect(tags.map((t) => t.tag)).toEqual([...tags.map((t) => t.tag)].sort());
    expect(tags).toContainEqual({ tag: "team", literal: { value: "coffee" } });
    expect(tags).toContainEqual({
      tag: "region",
      environment: { name: "REGION", default_value: "here" },
    });
    expect(tags).toContainEqual({ tag: "user", request_header: { name: "x-user" } });
    expect(tags).toContainEqual(expect.objectContaining({ tag: "istio.canonical_service" }));
  });

  it("follows defaultProviders.tracing, and a Telemetry naming another provider replaces it", () => {
    const mesh = { ...MESH, defaultTracingProviders: ["otel"] };
    expect(tracing("", "CLIENT", mesh)).toBeDefined();
    const yaml = telemetryYaml("t", "shop", "tracing: [{providers: [{name: envoy}]}]");
    // The built-in envoy provider is an access logger: no tracer, so no tracing block.
    expect(tracing(yaml, "CLIENT", mesh)).toBeUndefined();
  });

  it("switches a workload to a zipkin provider whose collector is in the registry", () => {
    const zipkinService = `apiVersion: v1
kind: Service
metadata: {name: zipkin, namespace: istio-system}
spec:
  ports: [{name: http-query, port: 9411}]
---
`;
    const mesh: Partial<MeshConfig> = {
      ...MESH,
      extensionProviders: [
        ...(MESH.extensionProviders ?? []),
        {
          name: "zipkin",
          zipkin: { service: "zipkin.istio-system.svc.cluster.local", port: 9411 },
        },
        { name: "lost", zipkin: { service: "nowhere.istio-system.svc.cluster.local", port: 9411 } },
      ],
      defaultTracingProviders: ["otel"],
    };
    const yaml = telemetryYaml("t", "shop", "tracing: [{providers: [{name: zipkin}]}]");
    expect(tracing(zipkinService + yaml, "CLIENT", mesh)).toMatchObject({
      provider: {
        name: "envoy.tracers.zipkin",
        typed_config: {
          collector_cluster: "outbound|9411||zipkin.istio-system.svc.cluster.local",
        },
      },
    });
    // As istiod does, a collector that is not in the registry leaves the side untraced.
    const lost = telemetryYaml("t", "shop", "tracing: [{providers: [{name: lost}]}]");
    expect(tracing(zipkinService + lost, "CLIENT", mesh)).toBeUndefined();
  });
});
