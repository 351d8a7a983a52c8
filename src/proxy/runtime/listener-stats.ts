// A listener's downstream connection stats under Envoy's names: `listener.<ip>_<port>.…` for the
// listener and `listener.<ip>_<port>.worker_<n>.…` for each thread that accepts on it.
import { type Counter, type Gauge, heldStats, type StatsStore } from "../stats/stats-store.ts";

export interface ListenerStats {
  downstreamCxTotal: Counter;
  downstreamCxActive: Gauge;
  workerDownstreamCxTotal: Counter;
  workerDownstreamCxActive: Gauge;
}

const held = heldStats((store, key): ListenerStats => {
  const [address, worker] = key.split("\n") as [string, string];
  const listenerTags = [["envoy_listener_address", address]] as const;
  const workerTags = [...listenerTags, ["envoy_worker_id", worker]] as const;
  const prefix = `listener.${address}`;
  return {
    downstreamCxTotal: store.counter(`${prefix}.downstream_cx_total`, {
      extractedName: "listener.downstream_cx_total",
      tags: listenerTags,
    }),
    downstreamCxActive: store.gauge(`${prefix}.downstream_cx_active`, {
      extractedName: "listener.downstream_cx_active",
      tags: listenerTags,
    }),
    workerDownstreamCxTotal: store.counter(`${prefix}.worker_${worker}.downstream_cx_total`, {
      extractedName: "listener.worker.downstream_cx_total",
      tags: workerTags,
    }),
    workerDownstreamCxActive: store.gauge(`${prefix}.worker_${worker}.downstream_cx_active`, {
      extractedName: "listener.worker.downstream_cx_active",
      tags: workerTags,
    }),
  };
});

/** The stats of the listener on `address:port` as thread `worker` (0 is the main thread). */
export function listenerStats(
  store: StatsStore,
  address: { address: string; port: number },
  worker: number,
): ListenerStats {
  return held(store, `${address.address}_${address.port}\n${worker}`);
}
