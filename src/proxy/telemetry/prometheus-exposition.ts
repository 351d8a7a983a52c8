// Istio's standard metrics in the Prometheus text format (0.0.4), written the way Envoy's
// `/stats/prometheus` writes them: a `# TYPE` line per family and no HELP, counters before
// histograms and each group sorted by name, histogram buckets as `_bucket{…,le="…"}` with
// cumulative counts, then `+Inf`, `_sum` and `_count`. Appended after the proxy's envoy_*
// families; every family stays in one block, which is all the format asks of a mix.
import {
  ISTIO_REQUEST_BYTES,
  ISTIO_REQUEST_DURATION_MILLISECONDS,
  ISTIO_REQUEST_MESSAGES_TOTAL,
  ISTIO_REQUESTS_TOTAL,
  ISTIO_RESPONSE_BYTES,
  ISTIO_RESPONSE_MESSAGES_TOTAL,
  ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL,
  ISTIO_TCP_CONNECTIONS_OPENED_TOTAL,
  ISTIO_TCP_RECEIVED_BYTES_TOTAL,
  ISTIO_TCP_SENT_BYTES_TOTAL,
  type IstioMetricDefinition,
} from "./metric-definitions.ts";
import type { Histogram } from "./metric-series.ts";
import type { IstioMetrics } from "./request-metrics.ts";

export interface IstioExpositionOptions {
  /** Keeps only the families whose name passes (the admin server's `?filter=`). */
  readonly filter?: (metricName: string) => boolean;
}

/** A sample value as Envoy prints it: integers plainly, others in shortest round-trip form. */
function sampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}

function counterLines(name: string, metrics: IstioMetrics): string {
  let out = "";
  for (const s of metrics.store.counters(name))
    out += `${name}{${s.labels}} ${sampleValue(s.value)}\n`;
  return out;
}

function histogramLines(name: string, labels: string, histogram: Histogram): string {
  // A series whose every label was removed has nothing before `le`.
  const before = labels === "" ? "" : `${labels},`;
  let out = "";
  let cumulative = 0;
  const bounds = histogram.bounds;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += histogram.counts[i]!;
    out += `${name}_bucket{${before}le="${sampleValue(bounds[i]!)}"} ${cumulative}\n`;
  }
  out += `${name}_bucket{${before}le="+Inf"} ${histogram.count}\n`;
  out += `${name}_sum{${labels}} ${sampleValue(histogram.sum)}\n`;
  out += `${name}_count{${labels}} ${histogram.count}\n`;
  return out;
}

function histogramFamilyLines(name: string, metrics: IstioMetrics): string {
  let out = "";
  for (const s of metrics.store.histograms(name))
    if (s.histogram.count > 0) out += histogramLines(name, s.labels, s.histogram);
  return out;
}

/** Envoy's order: counters, then histograms, each sorted by name. */
const FAMILIES: readonly IstioMetricDefinition[] = [
  ISTIO_REQUEST_MESSAGES_TOTAL,
  ISTIO_REQUESTS_TOTAL,
  ISTIO_RESPONSE_MESSAGES_TOTAL,
  ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL,
  ISTIO_TCP_CONNECTIONS_OPENED_TOTAL,
  ISTIO_TCP_RECEIVED_BYTES_TOTAL,
  ISTIO_TCP_SENT_BYTES_TOTAL,
  ISTIO_REQUEST_BYTES,
  ISTIO_REQUEST_DURATION_MILLISECONDS,
  ISTIO_RESPONSE_BYTES,
];

/**
 * The istio_* families that have series. Like Envoy, a family appears once something created a
 * series in it (a gRPC stream's message counters appear with the stream, at 0).
 */
export function renderIstioMetrics(
  metrics: IstioMetrics,
  options: IstioExpositionOptions = {},
): string {
  let out = "";
  for (const family of FAMILIES) {
    const name = family.name;
    if (options.filter && !options.filter(name)) continue;
    const lines =
      family.type === "counter" ? counterLines(name, metrics) : histogramFamilyLines(name, metrics);
    // One TYPE line per family, however different its series' label sets are.
    if (lines !== "") out += `# TYPE ${name} ${family.type}\n${lines}`;
  }
  return out;
}

/**
 * `/stats/prometheus` with Istio's metrics: the proxy's Envoy-style exposition (renderPrometheus
 * in src/proxy/stats) followed by the istio_* families.
 */
export function appendIstioMetrics(
  envoyExposition: string,
  metrics: IstioMetrics,
  options: IstioExpositionOptions = {},
): string {
  const istio = renderIstioMetrics(metrics, options);
  if (istio === "") return envoyExposition;
  if (envoyExposition === "" || envoyExposition.endsWith("\n")) return envoyExposition + istio;
  return `${envoyExposition}\n${istio}`;
}
