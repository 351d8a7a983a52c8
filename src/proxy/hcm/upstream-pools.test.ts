// The pools' lifetime against real port-0 loopback servers: a pool is kept while it holds an idle
// connection and dropped once it is empty, so hosts that are gone leave nothing behind.
import { createServer, type Server } from "node:http";
import { createServer as createH2Server, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectionPools } from "./upstream-pools.ts";
import type { UpstreamHttpProtocol, UpstreamTarget } from "./upstream-types.ts";

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

function target(port: number, protocol: UpstreamHttpProtocol): UpstreamTarget {
  return { address: "127.0.0.1", port, protocol, connectTimeoutMs: 5000, idleTimeoutMs: 60_000 };
}

function get(pools: ConnectionPools, t: UpstreamTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const attempt = pools.start(
      t,
      { method: "GET", path: "/", authority: "svc", scheme: "http", headers: {} },
      {
        onResponse: (response) => {
          response.body.resume();
          response.body.on("end", () => resolve(response.status));
        },
        onReset: (reason) => reject(new Error(reason)),
      },
    );
    attempt.end();
  });
}

describe("connection pools", () => {
  it("keeps an HTTP/1.1 pool while it has an idle connection and drops it once that closes", async () => {
    const server: Server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const t = target((server.address() as AddressInfo).port, "http1");
    let dropped!: () => void;
    const droppedOnce = new Promise<void>((resolve) => {
      dropped = resolve;
    });
    const pools = new ConnectionPools({ onPoolDropped: () => dropped() });
    closers.unshift(async () => pools.close());
    expect(await get(pools, t)).toBe(200);
    expect(await get(pools, t)).toBe(200);
    expect(pools.size).toBe(1);
    // The host goes away: its idle keep-alive connection closes, and the pool with it.
    server.closeAllConnections();
    await droppedOnce;
    expect(pools.size).toBe(0);
  });

  it("drops an HTTP/2 pool once its session has closed", async () => {
    const server: Http2Server = createH2Server();
    server.on("stream", (stream) => {
      stream.respond({ ":status": 200 });
      stream.end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const sessions: Array<{ destroy(): void }> = [];
    server.on("session", (session) => sessions.push(session));
    const t = target((server.address() as AddressInfo).port, "http2");
    let dropped!: () => void;
    const droppedOnce = new Promise<void>((resolve) => {
      dropped = resolve;
    });
    const pools = new ConnectionPools({ onPoolDropped: () => dropped() });
    closers.unshift(async () => pools.close());
    expect(await get(pools, t)).toBe(200);
    expect(await get(pools, t)).toBe(200);
    expect(pools.size).toBe(1);
    for (const session of sessions) session.destroy();
    await droppedOnce;
    expect(pools.size).toBe(0);
  });
});
