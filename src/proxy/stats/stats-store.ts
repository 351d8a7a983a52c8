// Envoy-style stats: counters and gauges under dotted names (`cluster.<name>.upstream_rq_total`),
// created once and held as handles so the request path only increments numbers.

export class Counter {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

export class Gauge {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

/**
 * A stat's name with its tag values taken out, and those tags, as Envoy's tag extraction makes
 * them (`cluster.<name>.upstream_rq_total` → `cluster.upstream_rq_total` + cluster_name). Recorded
 * where the stat is created: Istio's cluster names (`outbound|80||reviews.default.svc.cluster.local`)
 * contain dots, so no regex over the full name can split them reliably.
 */
export interface StatTags {
  readonly extractedName: string;
  /** [label name, value] pairs, label names already valid for Prometheus. */
  readonly tags: readonly (readonly [string, string])[];
}

export class StatsStore {
  private readonly counters = new Map<string, Counter>();
  private readonly gauges = new Map<string, Gauge>();
  private readonly tagsByName = new Map<string, StatTags>();

  counter(name: string, tags?: StatTags): Counter {
    let c = this.counters.get(name);
    if (!c) {
      c = new Counter();
      this.counters.set(name, c);
    }
    if (tags && !this.tagsByName.has(name)) this.tagsByName.set(name, tags);
    return c;
  }

  gauge(name: string, tags?: StatTags): Gauge {
    let g = this.gauges.get(name);
    if (!g) {
      g = new Gauge();
      this.gauges.set(name, g);
    }
    if (tags && !this.tagsByName.has(name)) this.tagsByName.set(name, tags);
    return g;
  }

  /** The tags recorded when the stat was created, if any. */
  tags(name: string): StatTags | undefined {
    return this.tagsByName.get(name);
  }

  /** Every counter, by name (unsorted). */
  counterEntries(): IterableIterator<[string, Counter]> {
    return this.counters.entries();
  }

  gaugeEntries(): IterableIterator<[string, Gauge]> {
    return this.gauges.entries();
  }
}

/** The per-cluster stats the router and TCP proxy update (Envoy's names). */
export interface ClusterStats {
  upstreamRqTotal: Counter;
  upstreamRq2xx: Counter;
  upstreamRq3xx: Counter;
  upstreamRq4xx: Counter;
  upstreamRq5xx: Counter;
  upstreamRqActive: Gauge;
  upstreamRqTimeout: Counter;
  upstreamRqRetry: Counter;
  upstreamRqPendingOverflow: Counter;
  upstreamCxTotal: Counter;
  upstreamCxActive: Gauge;
  upstreamCxConnectFail: Counter;
  upstreamCxConnectTimeout: Counter;
  upstreamCxDestroy: Counter;
  upstreamCxMaxDurationReached: Counter;
  upstreamCxRxBytesTotal: Counter;
  upstreamCxTxBytesTotal: Counter;
}

/**
 * A family of stat handles, built once per store and name (a cluster, a stat prefix) so that
 * streams and connections look their handles up instead of building stat names.
 */
export function heldStats<T>(
  build: (store: StatsStore, name: string) => T,
): (store: StatsStore, name: string) => T {
  const cache = new WeakMap<StatsStore, Map<string, T>>();
  return (store, name) => {
    let byName = cache.get(store);
    if (!byName) {
      byName = new Map();
      cache.set(store, byName);
    }
    let stats = byName.get(name);
    if (stats === undefined) {
      stats = build(store, name);
      byName.set(name, stats);
    }
    return stats;
  };
}

export const clusterStats = heldStats((store, cluster): ClusterStats => {
  const tags = [["cluster_name", cluster]] as const;
  const counter = (stat: string) =>
    store.counter(`cluster.${cluster}.${stat}`, { extractedName: `cluster.${stat}`, tags });
  const gauge = (stat: string) =>
    store.gauge(`cluster.${cluster}.${stat}`, { extractedName: `cluster.${stat}`, tags });
  return {
    upstreamRqTotal: counter("upstream_rq_total"),
    upstreamRq2xx: counter("upstream_rq_2xx"),
    upstreamRq3xx: counter("upstream_rq_3xx"),
    upstreamRq4xx: counter("upstream_rq_4xx"),
    upstreamRq5xx: counter("upstream_rq_5xx"),
    upstreamRqActive: gauge("upstream_rq_active"),
    upstreamRqTimeout: counter("upstream_rq_timeout"),
    upstreamRqRetry: counter("upstream_rq_retry"),
    upstreamRqPendingOverflow: counter("upstream_rq_pending_overflow"),
    upstreamCxTotal: counter("upstream_cx_total"),
    upstreamCxActive: gauge("upstream_cx_active"),
    upstreamCxConnectFail: counter("upstream_cx_connect_fail"),
    upstreamCxConnectTimeout: counter("upstream_cx_connect_timeout"),
    upstreamCxDestroy: counter("upstream_cx_destroy"),
    upstreamCxMaxDurationReached: counter("upstream_cx_max_duration_reached"),
    upstreamCxRxBytesTotal: counter("upstream_cx_rx_bytes_total"),
    upstreamCxTxBytesTotal: counter("upstream_cx_tx_bytes_total"),
  };
});

/** Counts a response status in its class counter (upstream_rq_2xx …). */
export function countStatusClass(stats: ClusterStats, status: number): void {
  if (status >= 500) stats.upstreamRq5xx.inc();
  else if (status >= 400) stats.upstreamRq4xx.inc();
  else if (status >= 300) stats.upstreamRq3xx.inc();
  else if (status >= 200) stats.upstreamRq2xx.inc();
}
