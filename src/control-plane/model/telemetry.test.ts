// Telemetry API metrics merged as istiod's mergeMetrics does (pilot/pkg/model/telemetry.go and
// its TestMergeMetrics): default providers, root → namespace → workload precedence, ALL_METRICS
// disabled per side and turned back on by a narrower level, CLIENT/SERVER matches, tag overrides,
// and provider inheritance between levels.
import { describe, expect, it } from "vitest";
import type { MeshConfig } from "./mesh-config.ts";
import { applicableTelemetry, type MetricsByMode, metricsProviders } from "./telemetry.ts";
import { snapshotFromYaml, telemetryYaml } from "./testing.ts";

const ROOT = "istio-system";
const PROXY = { namespace: "shop", labels: { app: "orders" } };

const root = (spec: string) => telemetryYaml("mesh-default", ROOT, spec);
const namespace = (spec: string) => telemetryYaml("shop-default", "shop", spec);
const workload = (spec: string) =>
  telemetryYaml("orders", "shop", `selector: {matchLabels: {app: orders}}\n${spec}`);

function merged(
  yaml: string,
  mesh: Partial<Pick<MeshConfig, "defaultMetricsProviders">> = {},
  proxy = PROXY,
): Record<string, MetricsByMode> {
  const snapshot = snapshotFromYaml(
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n${yaml}`,
  );
  const applicable = applicableTelemetry(snapshot.config.telemetries, proxy, ROOT);
  const result = metricsProviders(applicable, {
    defaultMetricsProviders: mesh.defaultMetricsProviders ?? ["prometheus"],
  });
  return Object.fromEntries(result);
}

const override = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  drop: false,
  dimensions: {},
  tagsToRemove: [],
  ...extra,
});

describe("metricsProviders (mergeMetrics)", () => {
  it("gives the default providers, with no overrides, when no Telemetry configures metrics", () => {
    expect(merged("")).toEqual({ prometheus: { CLIENT: [], SERVER: [] } });
    expect(merged("", { defaultMetricsProviders: [] })).toEqual({});
    // A Telemetry that only configures tracing leaves metrics to the defaults.
    expect(merged(root("tracing: [{randomSamplingPercentage: 10}]"))).toEqual({
      prometheus: { CLIENT: [], SERVER: [] },
    });
  });

  it("turns a provider on by naming it, even with no default providers", () => {
    expect(
      merged(root("metrics: [{providers: [{name: prometheus}]}]"), { defaultMetricsProviders: [] }),
    ).toEqual({ prometheus: { CLIENT: [], SERVER: [] } });
  });

  it("merges root, namespace and workload levels in that order, tag by tag", () => {
    const yaml =
      root(`metrics:
- overrides:
  - match: {metric: REQUEST_COUNT}
    tagOverrides:
      source_app: {operation: REMOVE}
      team: {value: "'mesh'"}`) +
      namespace(`metrics:
- overrides:
  - match: {metric: REQUEST_COUNT}
    tagOverrides:
      team: {value: "'shop'"}`) +
      workload(`metrics:
- overrides:
  - match: {metric: REQUEST_COUNT}
    disabled: true`);
    const requests = override("requests_total", {
      drop: true,
      dimensions: { team: "'shop'" },
      tagsToRemove: ["source_app"],
    });
    expect(merged(yaml)).toEqual({ prometheus: { CLIENT: [requests], SERVER: [requests] } });
    // Another workload of the namespace sees only the root and namespace levels.
    const other = override("requests_total", {
      dimensions: { team: "'shop'" },
      tagsToRemove: ["source_app"],
    });
    expect(merged(yaml, {}, { namespace: "shop", labels: { app: "payments" } })).toEqual({
      prometheus: { CLIENT: [other], SERVER: [other] },
    });
  });

  it("leaves a provider out when ALL_METRICS is disabled for both sides", () => {
    const disableAll = "metrics: [{overrides: [{match: {metric: ALL_METRICS}, disabled: true}]}]";
    expect(merged(root(disableAll))).toEqual({});
    // A selector without a metric selects all of them, as istiod's isAllMetrics says.
    expect(merged(root("metrics: [{overrides: [{disabled: true}]}]"))).toEqual({});
    // Disabling one metric is an override, not the provider switched off.
    expect(
      merged(root("metrics: [{overrides: [{match: {metric: REQUEST_SIZE}, disabled: true}]}]")),
    ).toEqual({
      prometheus: {
        CLIENT: [override("request_bytes", { drop: true })],
        SERVER: [override("request_bytes", { drop: true })],
      },
    });
  });

  it("turns a side back on when a narrower level overrides anything on it", () => {
    const yaml =
      root("metrics: [{overrides: [{match: {metric: ALL_METRICS}, disabled: true}]}]") +
      namespace(`metrics:
- overrides:
  - match: {metric: REQUEST_COUNT, mode: SERVER}
    tagOverrides: {request_protocol: {operation: REMOVE}}`);
    expect(merged(yaml)).toEqual({
      prometheus: {
        SERVER: [override("requests_total", { tagsToRemove: ["request_protocol"] })],
      },
    });
    // Explicitly enabling everything turns both sides back on, each metric marked kept.
    const enableAll = namespace(
      "metrics: [{overrides: [{match: {metric: ALL_METRICS}, disabled: false}]}]",
    );
    const all = merged(
      root("metrics: [{overrides: [{match: {metric: ALL_METRICS}, disabled: true}]}]") + enableAll,
    ).prometheus!;
    expect(all.CLIENT).toHaveLength(10);
    expect(all.SERVER!.every((o) => !o.drop)).toBe(true);
  });

  it("applies an override to the side its mode selects", () => {
    const spec = `metrics:
- overrides:
  - match: {metric: ALL_METRICS, mode: SERVER}
    disabled: true
  - match: {metric: REQUEST_COUNT, mode: CLIENT}
    disabled: true`;
    expect(merged(workload(spec))).toEqual({
      prometheus: { CLIENT: [override("requests_total", { drop: true })] },
    });
    // An override listed after the SERVER switch-off touches SERVER too, so it turns it back on.
    const later = `${spec}
  - match: {metric: REQUEST_DURATION, mode: CLIENT_AND_SERVER}
    tagOverrides: {response_flags: {operation: REMOVE}}`;
    const duration = override("request_duration_milliseconds", {
      tagsToRemove: ["response_flags"],
    });
    expect(merged(workload(later))).toEqual({
      prometheus: {
        // Sorted by selector name: REQUEST_COUNT before REQUEST_DURATION.
        CLIENT: [override("requests_total", { drop: true }), duration],
        SERVER: [duration],
      },
    });
  });

  it("writes UPSERT tags as dimensions and REMOVE tags as tags to remove, sorted by tag", () => {
    const yaml = root(`metrics:
- overrides:
  - match: {metric: TCP_OPENED_CONNECTIONS, mode: CLIENT}
    tagOverrides:
      zone: {value: "upstream.address"}
      request_protocol: {operation: REMOVE}
      destination_port: {operation: UPSERT, value: "string(destination.port)"}
      connection_security_policy: {operation: REMOVE}
  - match: {customMetric: my_custom_metric, mode: CLIENT}
    tagOverrides:
      zone: {value: "'a'"}`);
    const client = merged(yaml).prometheus!.CLIENT!;
    // Byte order of the selector names, as Go's sort: TCP_… before a lower-case custom name.
    expect(client).toEqual([
      override("tcp_connections_opened_total", {
        dimensions: { destination_port: "string(destination.port)", zone: "upstream.address" },
        tagsToRemove: ["connection_security_policy", "request_protocol"],
      }),
      override("my_custom_metric", { dimensions: { zone: "'a'" } }),
    ]);
    expect(Object.keys(client[0]!.dimensions)).toEqual(["destination_port", "zone"]);
    expect(merged(yaml).prometheus!.SERVER).toEqual([]);
  });

  it("lets a later level's tag override replace an earlier one's operation", () => {
    const yaml =
      root(`metrics:
- overrides:
  - match: {metric: REQUEST_COUNT, mode: CLIENT}
    tagOverrides: {request_protocol: {operation: REMOVE}}`) +
      namespace(`metrics:
- overrides:
  - match: {metric: REQUEST_COUNT, mode: CLIENT}
    tagOverrides: {request_protocol: {value: "request.protocol"}}`);
    expect(merged(yaml).prometheus!.CLIENT).toEqual([
      override("requests_total", { dimensions: { request_protocol: "request.protocol" } }),
    ]);
  });

  it("inherits providers from the level above and keeps only the deepest level's", () => {
    const custom = `apiVersion: v1
kind: Namespace
metadata: {name: other}
---
`;
    // The namespace names no provider: it inherits the root's choice.
    const inherited =
      root("metrics: [{providers: [{name: stats-a}]}]") +
      namespace(
        "metrics: [{overrides: [{match: {metric: REQUEST_COUNT, mode: CLIENT}, disabled: true}]}]",
      );
    expect(merged(custom + inherited)).toEqual({
      "stats-a": { CLIENT: [override("requests_total", { drop: true })], SERVER: [] },
    });
    // The workload names another provider: the root's is out of scope altogether.
    const replaced = inherited + workload("metrics: [{providers: [{name: prometheus}]}]");
    expect(merged(custom + replaced)).toEqual({ prometheus: { CLIENT: [], SERVER: [] } });
  });

  it("keeps the deepest reporting interval naming the provider", () => {
    const yaml =
      root("metrics: [{providers: [{name: prometheus}], reportingInterval: 15s}]") +
      namespace("metrics: [{reportingInterval: 30s}]");
    expect(merged(yaml)).toEqual({
      prometheus: { CLIENT: [], SERVER: [], reportingInterval: "30s" },
    });
  });
});
