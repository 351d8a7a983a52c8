// Telemetry API metrics → the `istio.stats` filters istiod writes (telemetry.go
// generateStatsConfig): one per Prometheus provider, the side's overrides as MetricConfigs,
// disable_host_header_fallback on inbound and gateway classes, none where metrics are off.
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { encodeResource } from "../../xds/resource-codec.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import { decodeProxyNode } from "../model/proxy.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { proxyNode } from "./clusters-testing.ts";
import type { ListenerClass } from "./http-connection-manager.ts";
import { statsHttpFilters, statsNetworkFilters } from "./stats-filter.ts";

const NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n";
const ORDERS = proxyNode({ namespace: "shop", labels: { app: "orders" } });

function telemetry(namespace: string, spec: string, selector = ""): string {
  const body = `${selector}${spec}`
    .trim()
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
  return `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t-${namespace}${selector ? "-w" : ""}, namespace: ${namespace}}
spec:
${body}
---
`;
}

function filters(
  yaml: string,
  cls: ListenerClass,
  mesh?: Partial<MeshConfig>,
  network = false,
): JsonObject[] {
  const snapshot = snapshotFromYaml(NAMESPACE + yaml, mesh);
  const ctx = { meshConfig: snapshot.meshConfig, proxy: ORDERS, snapshot };
  return network ? statsNetworkFilters(ctx, cls) : statsHttpFilters(ctx, cls);
}

const STATS = "type.googleapis.com/stats.PluginConfig";

describe("istio.stats filters", () => {
  it("are left out for an upstream Envoy without Istio's extensions, which would reject them", () => {
    const snapshot = snapshotFromYaml(NAMESPACE);
    const node = (extra: JsonObject) => {
      const decoded = decodeProxyNode({
        id: "sidecar~10.0.0.7~orders-1.shop~shop.svc.cluster.local",
        metadata: { NAMESPACE: "shop", LABELS: { app: "orders" } },
        ...extra,
      });
      if (!decoded.ok) throw new Error(decoded.reason);
      return statsHttpFilters(
        { meshConfig: snapshot.meshConfig, proxy: decoded.proxy, snapshot },
        "sidecar-outbound",
      );
    };
    expect(node({ user_agent_name: "envoy" })).toEqual([]);
    const istioProxy = {
      user_agent_name: "envoy",
      extensions: [{ name: "istio.stats", category: "envoy.filters.http" }],
    };
    expect(node(istioProxy)).toHaveLength(1);
    expect(node({ user_agent_name: "crema" })).toHaveLength(1);
    expect(node({})).toHaveLength(1);
  });

  it("are there by default (the prometheus provider), host fallback off where Istio turns it off", () => {
    expect(filters("", "sidecar-outbound")).toEqual([
      { name: "istio.stats", typed_config: { "@type": STATS } },
    ]);
    for (const cls of ["sidecar-inbound", "gateway"] as const) {
      expect(filters("", cls)).toEqual([
        {
          name: "istio.stats",
          typed_config: { "@type": STATS, disable_host_header_fallback: true },
        },
      ]);
    }
    expect(filters("", "sidecar-inbound", {}, true)).toEqual(filters("", "sidecar-inbound"));
    expect(filters("", "sidecar-outbound", { defaultMetricsProviders: [] })).toEqual([]);
  });

  it("carry the side's overrides as MetricConfigs", () => {
    const yaml = telemetry(
      "shop",
      `metrics:
- reportingInterval: 10s
  overrides:
  - match: {metric: REQUEST_COUNT, mode: CLIENT}
    disabled: true
  - match: {metric: REQUEST_DURATION}
    tagOverrides:
      request_protocol: {operation: REMOVE}
      request_host: {value: request.host}`,
      "selector: {matchLabels: {app: orders}}\n",
    );
    const duration = {
      dimensions: { request_host: "request.host" },
      name: "request_duration_milliseconds",
      tags_to_remove: ["request_protocol"],
    };
    expect(filters(yaml, "sidecar-outbound")).toEqual([
      {
        name: "istio.stats",
        typed_config: {
          "@type": STATS,
          tcp_reporting_duration: "10s",
          metrics: [{ name: "requests_total", drop: true }, duration],
        },
      },
    ]);
    expect(filters(yaml, "sidecar-inbound")[0]!.typed_config).toEqual({
      "@type": STATS,
      disable_host_header_fallback: true,
      tcp_reporting_duration: "10s",
      metrics: [duration],
    });
  });

  it("are left out on the side whose metrics are all disabled", () => {
    const serverOff = telemetry(
      "istio-system",
      "metrics: [{overrides: [{match: {metric: ALL_METRICS, mode: SERVER}, disabled: true}]}]",
    );
    expect(filters(serverOff, "sidecar-inbound")).toEqual([]);
    expect(filters(serverOff, "sidecar-inbound", {}, true)).toEqual([]);
    expect(filters(serverOff, "sidecar-outbound")).toHaveLength(1);
    const allOff = telemetry("istio-system", "metrics: [{overrides: [{disabled: true}]}]");
    expect(filters(allOff, "gateway")).toEqual([]);
  });

  it("come only from Prometheus providers, one each, sorted by name", () => {
    const mesh: Partial<MeshConfig> = {
      extensionProviders: [
        { name: "z-prom", prometheus: {} },
        { name: "otel", opentelemetry: { service: "otel.svc", port: 4317 } },
      ],
    };
    const yaml = telemetry(
      "istio-system",
      "metrics: [{providers: [{name: z-prom}, {name: otel}, {name: prometheus}, {name: nowhere}]}]",
    );
    expect(filters(yaml, "sidecar-outbound", mesh)).toEqual([
      { name: "istio.stats", typed_config: { "@type": STATS } },
      { name: "istio.stats", typed_config: { "@type": STATS } },
    ]);
  });

  it("encode in a listener as istiod sends them", () => {
    const yaml = telemetry(
      "istio-system",
      `metrics:
- overrides:
  - match: {metric: TCP_SENT_BYTES}
    tagOverrides: {zone: {value: "'eu'"}}`,
    );
    const listener = {
      name: "l",
      address: { socket_address: { address: "0.0.0.0", port_value: 5432 } },
      filter_chains: [
        {
          filters: [
            ...filters(yaml, "sidecar-inbound", {}, true),
            {
              name: "envoy.filters.network.tcp_proxy",
              typed_config: {
                "@type":
                  "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                stat_prefix: "inbound|5432||",
                cluster: "inbound|5432||",
              },
            },
          ],
        },
      ],
    };
    expect(() => encodeResource(TYPE_URL.listener, listener)).not.toThrow();
  });
});
