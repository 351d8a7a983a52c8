// The fault filter's stats under `http.<stat_prefix>.fault.` (Envoy's names), as held handles.
import type { Counter, Gauge, StatsStore } from "../stats/stats-store.ts";

export interface FaultStats {
  delaysInjected: Counter;
  abortsInjected: Counter;
  /** Streams a fault was injected into that have not ended yet. */
  activeFaults: Gauge;
}

const cache = new WeakMap<StatsStore, Map<string, FaultStats>>();

export function faultStats(store: StatsStore, statPrefix: string): FaultStats {
  let byPrefix = cache.get(store);
  if (!byPrefix) {
    byPrefix = new Map();
    cache.set(store, byPrefix);
  }
  let stats = byPrefix.get(statPrefix);
  if (stats) return stats;
  // Istio's stat prefixes (inbound_0.0.0.0_8080) have dots in them: record the tag, don't parse it.
  const tags = [["envoy_http_conn_manager_prefix", statPrefix]] as const;
  const name = (stat: string) => `http.${statPrefix}.fault.${stat}`;
  const extracted = (stat: string) => ({ extractedName: `http.fault.${stat}`, tags });
  stats = {
    delaysInjected: store.counter(name("delays_injected"), extracted("delays_injected")),
    abortsInjected: store.counter(name("aborts_injected"), extracted("aborts_injected")),
    activeFaults: store.gauge(name("active_faults"), extracted("active_faults")),
  };
  byPrefix.set(statPrefix, stats);
  return stats;
}
