// Istio's metrics of one proxy thread as plain data, and the sum over threads: a worker thread
// sends its snapshot to the main thread, whose admin server renders the sum (Envoy sums its
// workers' thread-local histograms the same way before exposition).
import { type Histogram, IstioMetrics } from "./request-metrics.ts";

interface HistogramData {
  readonly counts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

export interface IstioMetricsSnapshot {
  /** [labels, requests, duration, request bytes, response bytes] */
  readonly requests: readonly (readonly [
    string,
    number,
    HistogramData,
    HistogramData,
    HistogramData,
  ])[];
  /** [labels, request messages, response messages] */
  readonly messages: readonly (readonly [string, number, number])[];
  /** [labels, opened, closed, sent, received] */
  readonly tcp: readonly (readonly [string, number, number, number, number])[];
}

const data = (h: Histogram): HistogramData => ({
  counts: [...h.counts],
  sum: h.sum,
  count: h.count,
});

function add(into: Histogram, from: HistogramData): void {
  for (let i = 0; i < from.counts.length && i < into.counts.length; i++)
    into.counts[i]! += from.counts[i]!;
  into.sum += from.sum;
  into.count += from.count;
}

export function snapshotIstioMetrics(metrics: IstioMetrics): IstioMetricsSnapshot {
  return {
    requests: [...metrics.requestSeries()].map(
      (s) =>
        [
          s.labels,
          s.requests,
          data(s.duration),
          data(s.requestBytes),
          data(s.responseBytes),
        ] as const,
    ),
    messages: [...metrics.messageSeries()].map((s) => [s.labels, s.request, s.response] as const),
    tcp: [...metrics.tcpSeries()].map(
      (s) => [s.labels, s.opened, s.closed, s.sent, s.received] as const,
    ),
  };
}

/** A fresh recorder holding the sum of `main` and every snapshot, for exposition only. */
export function sumIstioMetrics(
  main: IstioMetrics,
  snapshots: readonly IstioMetricsSnapshot[],
): IstioMetrics {
  const sum = new IstioMetrics(main.local);
  for (const snapshot of [snapshotIstioMetrics(main), ...snapshots]) {
    for (const [labels, requests, duration, requestBytes, responseBytes] of snapshot.requests) {
      const series = sum.requestSeriesFor(labels);
      series.requests += requests;
      add(series.duration, duration);
      add(series.requestBytes, requestBytes);
      add(series.responseBytes, responseBytes);
    }
    for (const [labels, request, response] of snapshot.messages) {
      const series = sum.messageSeriesFor(labels);
      series.request += request;
      series.response += response;
    }
    for (const [labels, opened, closed, sent, received] of snapshot.tcp) {
      const series = sum.tcpSeriesFor(labels);
      series.opened += opened;
      series.closed += closed;
      series.sent += sent;
      series.received += received;
    }
  }
  return sum;
}
