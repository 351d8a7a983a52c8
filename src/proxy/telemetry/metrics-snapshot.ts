// Istio's metrics of one proxy thread as plain data, and the sum over threads: a worker thread
// sends its snapshot to the main thread, whose admin server renders the sum (Envoy sums its
// workers' thread-local histograms the same way before exposition). Series are matched by family
// and label text, so threads whose stats filters wrote different label sets sum correctly.
import type { Histogram } from "./metric-series.ts";
import { IstioMetrics } from "./request-metrics.ts";

export interface IstioMetricsSnapshot {
  /** [family, labels, value] */
  readonly counters: readonly (readonly [string, string, number])[];
  /** [family, labels, bucket counts, sum, count] */
  readonly histograms: readonly (readonly [string, string, readonly number[], number, number])[];
}

function add(into: Histogram, counts: readonly number[], sum: number, count: number): void {
  for (let i = 0; i < counts.length && i < into.counts.length; i++) into.counts[i]! += counts[i]!;
  into.sum += sum;
  into.count += count;
}

export function snapshotIstioMetrics(metrics: IstioMetrics): IstioMetricsSnapshot {
  const counters: [string, string, number][] = [];
  const histograms: [string, string, number[], number, number][] = [];
  for (const family of metrics.store.families()) {
    if (family.kind === "counter") {
      for (const s of family.series.values()) counters.push([family.name, s.labels, s.value]);
    } else {
      for (const { labels, histogram: h } of family.series.values())
        histograms.push([family.name, labels, [...h.counts], h.sum, h.count]);
    }
  }
  return { counters, histograms };
}

/** A fresh recorder holding the sum of `main` and every snapshot, for exposition only. */
export function sumIstioMetrics(
  main: IstioMetrics,
  snapshots: readonly IstioMetricsSnapshot[],
): IstioMetrics {
  const sum = new IstioMetrics(main.local);
  for (const snapshot of [snapshotIstioMetrics(main), ...snapshots]) {
    for (const [family, labels, value] of snapshot.counters)
      sum.store.counter(family, labels).value += value;
    for (const [family, labels, counts, total, count] of snapshot.histograms)
      add(sum.store.histogram(family, labels).histogram, counts, total, count);
  }
  return sum;
}
