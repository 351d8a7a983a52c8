// Istio's stats filter (`istio.stats`, typed config stats.PluginConfig) as istiod computes it from
// the Telemetry API (pilot model/telemetry.go: telemetryFilters, buildHTTPTelemetryFilter,
// buildTCPTelemetryFilter, generateStatsConfig): one filter per Prometheus metrics provider in
// scope, carrying that side's merged overrides. No filter, no istio_* metrics on that chain.
import { formatDuration, parseDuration } from "../../base/duration.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { findExtensionProvider, type MeshConfig } from "../model/mesh-config.ts";
import {
  type ApplicableTelemetry,
  type MetricsByMode,
  metricsProviders,
} from "../model/telemetry.ts";
import type { ListenerClass } from "./http-connection-manager.ts";
import { compact, typed } from "./listener-common.ts";
import { type TelemetryContext, telemetryOf, workloadMode } from "./telemetry-scope.ts";

/** The filter's name in HTTP and network filter lists alike (Istio's xds.StatsFilterName). */
export const STATS_FILTER_NAME = "istio.stats";
export const STATS_PLUGIN_TYPE = "stats.PluginConfig";

// Every HCM and tcp_proxy of a proxy asks; the merge depends only on the mesh config and the
// proxy's Telemetry levels, both immutable for a snapshot.
const merged = new WeakMap<MeshConfig, WeakMap<ApplicableTelemetry, [string, MetricsByMode][]>>();

/** The Prometheus providers in scope, sorted by name as istiod orders its filters. */
function prometheusProviders(ctx: TelemetryContext): [string, MetricsByMode][] {
  const telemetry = telemetryOf(ctx);
  let byTelemetry = merged.get(ctx.meshConfig);
  if (!byTelemetry) {
    byTelemetry = new WeakMap();
    merged.set(ctx.meshConfig, byTelemetry);
  }
  let providers = byTelemetry.get(telemetry);
  if (!providers) {
    providers = [...metricsProviders(telemetry, ctx.meshConfig)]
      .filter(([name]) => findExtensionProvider(ctx.meshConfig, name)?.prometheus !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    byTelemetry.set(telemetry, providers);
  }
  return providers;
}

/** Istio sets it where the Host header comes from outside the mesh. */
function disableHostHeaderFallback(cls: ListenerClass): boolean {
  return cls === "sidecar-inbound" || cls === "gateway";
}

function reportingDuration(interval: string | undefined): string | undefined {
  if (interval === undefined) return undefined;
  const parsed = parseDuration(interval);
  return parsed.ok && parsed.ms >= 0 ? formatDuration(parsed.ms) : undefined;
}

/** generateStatsConfig: the PluginConfig for one provider and listener class, or none. */
function pluginConfig(metrics: MetricsByMode, cls: ListenerClass): JsonObject | undefined {
  const overrides = metrics[workloadMode(cls)];
  // ALL_METRICS disabled for this side: no filter on its listeners.
  if (overrides === undefined) return undefined;
  return typed(
    STATS_PLUGIN_TYPE,
    compact({
      disable_host_header_fallback: disableHostHeaderFallback(cls) ? true : undefined,
      tcp_reporting_duration: reportingDuration(metrics.reportingInterval),
      metrics: overrides.length
        ? overrides.map((o) =>
            compact({
              dimensions: Object.keys(o.dimensions).length ? { ...o.dimensions } : undefined,
              name: o.name,
              tags_to_remove: o.tagsToRemove.length ? [...o.tagsToRemove] : undefined,
              drop: o.drop ? true : undefined,
            }),
          )
        : undefined,
    }),
  );
}

function statsFilters(ctx: TelemetryContext, cls: ListenerClass): JsonObject[] {
  if (ctx.proxy.istioExtensions === false) return [];
  const out: JsonObject[] = [];
  for (const [, metrics] of prometheusProviders(ctx)) {
    const config = pluginConfig(metrics, cls);
    if (config) out.push({ name: STATS_FILTER_NAME, typed_config: config });
  }
  return out;
}

/** The HCM's stats filters (Istio puts them after fault and cors, before the router). */
export function statsHttpFilters(ctx: TelemetryContext, cls: ListenerClass): JsonObject[] {
  return statsFilters(ctx, cls);
}

/** A TCP chain's stats filters (Istio puts them after the RBAC filters, before tcp_proxy). */
export function statsNetworkFilters(ctx: TelemetryContext, cls: ListenerClass): JsonObject[] {
  return statsFilters(ctx, cls);
}
