// The admin server's view over every thread: the main thread's stats and hosts plus what each
// worker collected, summed as Envoy sums its workers' thread-local stats.
import type { AdminCluster } from "../admin/clusters-view.ts";
import { StatsStore } from "../stats/stats-store.ts";
import type { WorkerTotals } from "./worker-messages.ts";

/** A fresh store holding `main`'s counters and gauges plus every worker's. */
export function mergedStats(main: StatsStore, totals: readonly WorkerTotals[]): StatsStore {
  const merged = new StatsStore();
  for (const [name, counter] of main.counterEntries())
    merged.counter(name, main.tags(name)).inc(counter.value);
  for (const [name, gauge] of main.gaugeEntries())
    merged.gauge(name, main.tags(name)).inc(gauge.value);
  for (const worker of totals) {
    for (const [name, value, tags] of worker.counters) merged.counter(name, tags).inc(value);
    for (const [name, value, tags] of worker.gauges) merged.gauge(name, tags).inc(value);
  }
  return merged;
}

/** The main thread's clusters with every worker's active requests added to each host. */
export function withWorkerActiveRequests(
  clusters: readonly AdminCluster[],
  totals: readonly WorkerTotals[],
): AdminCluster[] {
  const extra = new Map<string, number>();
  for (const worker of totals)
    for (const [cluster, address, count] of worker.activeRequests) {
      const key = `${cluster}\n${address}`;
      extra.set(key, (extra.get(key) ?? 0) + count);
    }
  if (extra.size === 0) return [...clusters];
  return clusters.map((cluster) => ({
    ...cluster,
    hosts: cluster.hosts.map((host) => {
      const more = extra.get(`${cluster.name}\n${host.address}`);
      return more ? { ...host, activeRequests: host.activeRequests + more } : host;
    }),
  }));
}
