// The proxy's upstream connection pools, keyed by cluster, host, protocol and source address:
// HTTP/1.1 keep-alive pools and multiplexed HTTP/2 pools. A pool is dropped once it is empty (no
// connection, no pending stream), as Envoy's cluster manager drops idle pools, so hosts that come
// and go (pod IPs under churn) leave nothing behind. Idle connections keep a pool alive until
// their idle timeout closes them, so steady traffic reuses one pool.
import { Http1Pool } from "./http1-pool.ts";
import { Http2Pool } from "./upstream-http2.ts";
import { poolKey } from "./upstream-target.ts";
import type {
  AttemptCallbacks,
  UpstreamAttempt,
  UpstreamPools,
  UpstreamRequestHead,
  UpstreamTarget,
} from "./upstream-types.ts";

export interface ConnectionPoolsOptions {
  /** Told when an empty pool is dropped (observability). */
  onPoolDropped?(key: string): void;
}

export class ConnectionPools implements UpstreamPools {
  private readonly pools = new Map<string, UpstreamPools>();
  private readonly options: ConnectionPoolsOptions;

  constructor(options: ConnectionPoolsOptions = {}) {
    this.options = options;
  }

  /** Pools held now. */
  get size(): number {
    return this.pools.size;
  }

  start(
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ): UpstreamAttempt {
    const key = poolKey(target);
    let pool = this.pools.get(key);
    if (!pool) {
      const created: UpstreamPools =
        target.protocol === "http2"
          ? new Http2Pool(target, () => this.drop(key, created))
          : new Http1Pool(target, () => this.drop(key, created));
      pool = created;
      this.pools.set(key, pool);
    }
    return pool.start(target, head, callbacks);
  }

  private drop(key: string, pool: UpstreamPools): void {
    // A pool already replaced (or closed with the rest) is not the one to forget.
    if (this.pools.get(key) !== pool) return;
    this.pools.delete(key);
    this.options.onPoolDropped?.(key);
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }
}
