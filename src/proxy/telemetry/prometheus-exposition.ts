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
import type {
  Histogram,
  IstioMetrics,
  MessageSeries,
  RequestSeries,
  TcpSeries,
} from "./request-metrics.ts";

export interface IstioExpositionOptions {
  /** Keeps only the families whose name passes (the admin server's `?filter=`). */
  readonly filter?: (metricName: string) => boolean;
}

/** A sample value as Envoy prints it: integers plainly, others in shortest round-trip form. */
function sampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return Number.isNaN(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf";
}

type Family = { definition: IstioMetricDefinition; render: (metrics: IstioMetrics) => string };

function counter<S extends { labels: string }>(
  definition: IstioMetricDefinition,
  series: (metrics: IstioMetrics) => Iterable<S>,
  value: (s: S) => number,
): Family {
  return {
    definition,
    render: (metrics) => {
      let out = "";
      for (const s of series(metrics)) {
        out += `${definition.name}{${s.labels}} ${sampleValue(value(s))}\n`;
      }
      return out;
    },
  };
}

function histogramLines(name: string, labels: string, histogram: Histogram): string {
  let out = "";
  let cumulative = 0;
  const bounds = histogram.bounds;
  for (let i = 0; i < bounds.length; i++) {
    cumulative += histogram.counts[i]!;
    out += `${name}_bucket{${labels},le="${sampleValue(bounds[i]!)}"} ${cumulative}\n`;
  }
  out += `${name}_bucket{${labels},le="+Inf"} ${histogram.count}\n`;
  out += `${name}_sum{${labels}} ${sampleValue(histogram.sum)}\n`;
  out += `${name}_count{${labels}} ${histogram.count}\n`;
  return out;
}

function histogram(
  definition: IstioMetricDefinition,
  pick: (s: RequestSeries) => Histogram,
): Family {
  return {
    definition,
    render: (metrics) => {
      let out = "";
      for (const s of metrics.requestSeries()) {
        const h = pick(s);
        if (h.count > 0) out += histogramLines(definition.name, s.labels, h);
      }
      return out;
    },
  };
}

const requests = (m: IstioMetrics) => m.requestSeries();
const messages = (m: IstioMetrics) => m.messageSeries();
const tcp = (m: IstioMetrics) => m.tcpSeries();

/** Envoy's order: counters, then histograms, each sorted by name. */
const FAMILIES: readonly Family[] = [
  counter(ISTIO_REQUEST_MESSAGES_TOTAL, messages, (s: MessageSeries) => s.request),
  counter(ISTIO_REQUESTS_TOTAL, requests, (s: RequestSeries) => s.requests),
  counter(ISTIO_RESPONSE_MESSAGES_TOTAL, messages, (s: MessageSeries) => s.response),
  counter(ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL, tcp, (s: TcpSeries) => s.closed),
  counter(ISTIO_TCP_CONNECTIONS_OPENED_TOTAL, tcp, (s: TcpSeries) => s.opened),
  counter(ISTIO_TCP_RECEIVED_BYTES_TOTAL, tcp, (s: TcpSeries) => s.received),
  counter(ISTIO_TCP_SENT_BYTES_TOTAL, tcp, (s: TcpSeries) => s.sent),
  histogram(ISTIO_REQUEST_BYTES, (s) => s.requestBytes),
  histogram(ISTIO_REQUEST_DURATION_MILLISECONDS, (s) => s.duration),
  histogram(ISTIO_RESPONSE_BYTES, (s) => s.responseBytes),
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
    const name = family.definition.name;
    if (options.filter && !options.filter(name)) continue;
    const lines = family.render(metrics);
    if (lines !== "") out += `# TYPE ${name} ${family.definition.type}\n${lines}`;
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
