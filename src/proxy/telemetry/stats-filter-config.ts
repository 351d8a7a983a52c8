// stats.PluginConfig, the typed config of Istio's `istio.stats` filter (HTTP and network alike),
// decoded and its CEL dimensions compiled. What crema's proxy cannot honour — custom metric
// definitions, the waypoint reporter, scope rotation, an expression that does not compile — is a
// decode error naming the field, so the listener is NACKed rather than its metrics quietly wrong.
import { type CelProgram, compileCelExpression } from "../cel/index.ts";
import { Fields } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import {
  compileMetricOverrides,
  type MetricConfigEntry,
  type MetricOverrides,
} from "./metric-overrides.ts";

export const ISTIO_STATS_TYPE = "stats.PluginConfig";
/** The name istiod gives the filter in HTTP and network filter lists. */
export const ISTIO_STATS_FILTER_NAME = "istio.stats";

/** The filter's default tcp_reporting_duration. */
const DEFAULT_TCP_REPORTING_MS = 5_000;

export interface StatsFilterConfig {
  /** Never fall back to the Host header for the destination service (inbound, gateways). */
  readonly disableHostHeaderFallback: boolean;
  /** How often a TCP connection's bytes are reported between open and close; 0: only at close. */
  readonly tcpReportingDurationMs: number;
  readonly overrides: MetricOverrides;
}

export type StatsFilterDecode =
  | { ok: true; config: StatsFilterConfig }
  | { ok: false; errors: string[] };

function decodeMetricConfig(f: Fields): MetricConfigEntry | undefined {
  // `match` is reserved by Istio and never implemented there either.
  f.skip("match");
  const name = f.string("name");
  const drop = f.bool("drop");
  const tagsToRemove = f.strings("tags_to_remove");
  const dimensions: [string, CelProgram][] = [];
  let valid = true;
  for (const [tag, value, path] of f.entries("dimensions")) {
    if (typeof value !== "string") {
      f.ctx.errors.push(`${path}: expected a string (a CEL expression)`);
      valid = false;
      continue;
    }
    const compiled = compileCelExpression(value);
    if (compiled.ok) dimensions.push([tag, compiled.program]);
    else {
      f.ctx.errors.push(`${path}: CEL expression ${JSON.stringify(value)}: ${compiled.error}`);
      valid = false;
    }
  }
  f.finish();
  // The filter applies a config's dimensions in label order.
  dimensions.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return valid ? { name, drop, tagsToRemove, dimensions } : undefined;
}

/** Decodes a stats.PluginConfig typed_config; `path` prefixes every error. */
export function decodeStatsFilterConfig(json: unknown, path = ""): StatsFilterDecode {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  try {
    const f = Fields.of(ctx, json, path);
    if (!f) return { ok: false, errors: ctx.errors };
    // Without rotation (refused below) the deletion delay has nothing to delay.
    f.skip("@type", "graceful_deletion_interval");
    const disableHostHeaderFallback = f.bool("disable_host_header_fallback");
    const tcpReportingDurationMs = f.duration("tcp_reporting_duration") ?? DEFAULT_TCP_REPORTING_MS;
    const metrics: MetricConfigEntry[] = [];
    for (const m of f.objects("metrics")) {
      const decoded = decodeMetricConfig(m);
      if (decoded) metrics.push(decoded);
    }
    if (f.list("definitions").length > 0)
      f.error("custom metric definitions are not supported by crema's proxy", "definitions");
    const reporter = f.enumValue("reporter", ["UNSPECIFIED", "SERVER_GATEWAY"] as const);
    if (reporter !== "UNSPECIFIED")
      f.error(
        "the SERVER_GATEWAY (waypoint) reporter is not supported by crema's proxy",
        "reporter",
      );
    if ((f.duration("rotation_interval") ?? 0) > 0)
      f.error("rotating the metrics scope is not supported by crema's proxy", "rotation_interval");
    f.finish();
    if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors };
    return {
      ok: true,
      config: {
        disableHostHeaderFallback,
        tcpReportingDurationMs,
        overrides: compileMetricOverrides(metrics),
      },
    };
  } finally {
    ctx.regexes.release();
  }
}
