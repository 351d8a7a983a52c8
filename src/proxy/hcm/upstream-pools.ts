// The proxy's upstream connection pools, keyed by cluster, host, protocol and source address:
// HTTP/1.1 keep-alive pools and multiplexed HTTP/2 sessions.
import { Http1Pool } from "./http1-pool.ts";
import { Http2Connection, startHttp2Attempt } from "./upstream-http2.ts";
import type {
  AttemptCallbacks,
  UpstreamAttempt,
  UpstreamPools,
  UpstreamRequestHead,
  UpstreamTarget,
} from "./upstream-types.ts";

function poolKey(target: UpstreamTarget): string {
  // Per cluster, as Envoy's pools are: each enforces its own cluster's limits.
  return `${target.protocol}|${target.address}|${target.port}|${target.sourceAddress ?? ""}|${target.limits?.cluster ?? ""}`;
}

export class ConnectionPools implements UpstreamPools {
  private readonly http1 = new Map<string, Http1Pool>();
  private readonly http2 = new Map<string, Http2Connection>();

  start(
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ): UpstreamAttempt {
    const key = poolKey(target);
    if (target.protocol === "http2") {
      let connection = this.http2.get(key);
      if (!connection) {
        connection = new Http2Connection(target);
        this.http2.set(key, connection);
      }
      return startHttp2Attempt(connection, head, callbacks);
    }
    let pool = this.http1.get(key);
    if (!pool) {
      pool = new Http1Pool(target);
      this.http1.set(key, pool);
    }
    return pool.start(target, head, callbacks);
  }

  close(): void {
    for (const pool of this.http1.values()) pool.close();
    for (const connection of this.http2.values()) connection.close();
    this.http1.clear();
    this.http2.clear();
  }
}
