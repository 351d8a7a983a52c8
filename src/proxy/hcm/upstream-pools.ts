// The proxy's upstream connection pools, keyed by host, protocol and source address: HTTP/1.1
// keep-alive pools and multiplexed HTTP/2 sessions.
import type { Agent } from "node:http";
import { createHttp1Agent, startHttp1Attempt } from "./upstream-http1.ts";
import { Http2Connection, startHttp2Attempt } from "./upstream-http2.ts";
import type {
  AttemptCallbacks,
  UpstreamAttempt,
  UpstreamPools,
  UpstreamRequestHead,
  UpstreamTarget,
} from "./upstream-types.ts";

function poolKey(target: UpstreamTarget): string {
  return `${target.protocol}|${target.address}|${target.port}|${target.sourceAddress ?? ""}`;
}

export class ConnectionPools implements UpstreamPools {
  private readonly http1 = new Map<string, Agent>();
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
    let agent = this.http1.get(key);
    if (!agent) {
      agent = createHttp1Agent(target);
      this.http1.set(key, agent);
    }
    return startHttp1Attempt(agent, target, head, callbacks);
  }

  close(): void {
    for (const agent of this.http1.values()) agent.destroy();
    for (const connection of this.http2.values()) connection.close();
    this.http1.clear();
    this.http2.clear();
  }
}
