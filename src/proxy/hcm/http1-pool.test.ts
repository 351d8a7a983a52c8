// The HTTP/1.1 pool's admission against a real server on a port-0 loopback socket: pending
// requests, overflow, the cluster's connection limit and max_requests_per_connection.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StreamResetReason } from "../http/reset-reason.ts";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import { CircuitBreakers } from "../upstream/circuit-breakers.ts";
import type { CircuitBreakerThresholds } from "../upstream/cluster-config.ts";
import { Http1Pool } from "./http1-pool.ts";
import type { UpstreamAttempt, UpstreamTarget } from "./upstream-types.ts";

interface Held {
  req: IncomingMessage;
  res: ServerResponse;
}

let server: Server;
let port: number;
/** Requests the server holds until the test answers them. */
let held: Held[];
let waiters: Array<() => void>;
/** Server-side sockets that carried a request, in order (remote port of each). */
let requestPorts: number[];
const pools: Http1Pool[] = [];

beforeEach(async () => {
  held = [];
  waiters = [];
  requestPorts = [];
  server = createServer((req, res) => {
    requestPorts.push(req.socket.remotePort ?? 0);
    req.resume();
    held.push({ req, res });
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  for (const pool of pools.splice(0)) pool.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function heldCount(n: number): Promise<void> {
  while (held.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
}

function breakers(limits: Partial<CircuitBreakerThresholds>): CircuitBreakers {
  const t = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
  return new CircuitBreakers({ DEFAULT: { ...t, ...limits }, HIGH: t });
}

function target(cb: CircuitBreakers, maxRequestsPerConnection = 0): UpstreamTarget {
  return {
    address: "127.0.0.1",
    port,
    protocol: "http1",
    connectTimeoutMs: 5000,
    idleTimeoutMs: 60_000,
    limits: { cluster: "c", breakers: cb, maxRequestsPerConnection },
  };
}

type Outcome = { status: number } | { reset: StreamResetReason };

function stream(
  pool: Http1Pool,
  t: UpstreamTarget,
): { attempt: UpstreamAttempt; done: Promise<Outcome> } {
  let attempt!: UpstreamAttempt;
  const done = new Promise<Outcome>((resolve) => {
    attempt = pool.start(
      t,
      { method: "GET", path: "/", authority: "svc", scheme: "http", headers: {} },
      {
        onResponse: (response) => {
          response.body.resume();
          response.body.on("end", () => resolve({ status: response.status }));
        },
        onReset: (reason) => resolve({ reset: reason }),
      },
    );
  });
  attempt.end();
  return { attempt, done };
}

function newPool(t: UpstreamTarget): Http1Pool {
  const pool = new Http1Pool(t);
  pools.push(pool);
  return pool;
}

describe("HTTP/1.1 pool admission", () => {
  it("queues one pending request behind the only connection and overflows the next", async () => {
    const cb = breakers({ maxConnections: 1, maxPendingRequests: 1 });
    const t = target(cb);
    const pool = newPool(t);
    const first = stream(pool, t);
    await heldCount(1);
    const second = stream(pool, t);
    const third = stream(pool, t);
    expect(await third.done).toEqual({ reset: "overflow" });
    expect(cb.overflows.pendingRequests).toBe(1);
    held[0]!.res.end("one");
    expect(await first.done).toEqual({ status: 200 });
    await heldCount(2);
    held[1]!.res.end("two");
    expect(await second.done).toEqual({ status: 200 });
    // The pending request waited for the one connection rather than opening another.
    expect(requestPorts[1]).toBe(requestPorts[0]);
    expect(cb.active("pendingRequests")).toBe(0);
  });

  it("opens one connection for a host that has none even when the cluster is at its limit", async () => {
    const cb = breakers({ maxConnections: 1 });
    const elsewhere = cb.tryAcquire("connections");
    expect(elsewhere).toBeDefined();
    const t = target(cb);
    const s = stream(newPool(t), t);
    await heldCount(1);
    held[0]!.res.end();
    expect(await s.done).toEqual({ status: 200 });
  });

  it("closes a connection after max_requests_per_connection", async () => {
    const t = target(breakers({}), 1);
    const pool = newPool(t);
    for (let i = 0; i < 3; i++) {
      const s = stream(pool, t);
      await heldCount(i + 1);
      held[i]!.res.end();
      expect(await s.done).toEqual({ status: 200 });
    }
    expect(new Set(requestPorts).size).toBe(3);
  });

  it("retires a connection at max_connection_duration: idle at once, busy after its request", async () => {
    const stats = clusterStats(new StatsStore(), "c");
    const base = target(breakers({}));
    const t = { ...base, maxConnectionDurationMs: 100, limits: { ...base.limits!, stats } };
    const pool = newPool(t);
    const reached = async (n: number) => {
      while (stats.upstreamCxMaxDurationReached.value < n)
        await new Promise((resolve) => setImmediate(resolve));
    };
    // Idle when its time is up: closed then.
    const first = stream(pool, t);
    await heldCount(1);
    const closed = new Promise((resolve) => held[0]!.req.socket.once("close", resolve));
    held[0]!.res.end();
    expect(await first.done).toEqual({ status: 200 });
    await closed;
    expect(stats.upstreamCxMaxDurationReached.value).toBe(1);
    // Busy when its time is up: it finishes its request, then closes; the next gets a new one.
    const second = stream(pool, t);
    await heldCount(2);
    await reached(2);
    held[1]!.res.end();
    expect(await second.done).toEqual({ status: 200 });
    const third = stream(pool, t);
    await heldCount(3);
    held[2]!.res.end();
    expect(await third.done).toEqual({ status: 200 });
    expect(new Set(requestPorts).size).toBe(3);
  });

  it("reuses a keep-alive connection when no limit says otherwise", async () => {
    const t = target(breakers({}));
    const pool = newPool(t);
    for (let i = 0; i < 3; i++) {
      const s = stream(pool, t);
      await heldCount(i + 1);
      held[i]!.res.end();
      expect(await s.done).toEqual({ status: 200 });
    }
    expect(new Set(requestPorts).size).toBe(1);
  });

  it("gives back the pending slot of a request aborted while it waits", async () => {
    const cb = breakers({ maxConnections: 1, maxPendingRequests: 1 });
    const t = target(cb);
    const pool = newPool(t);
    const first = stream(pool, t);
    await heldCount(1);
    const waiting = stream(pool, t);
    expect(cb.active("pendingRequests")).toBe(1);
    waiting.attempt.abort();
    expect(cb.active("pendingRequests")).toBe(0);
    const next = stream(pool, t);
    held[0]!.res.end();
    expect(await first.done).toEqual({ status: 200 });
    await heldCount(2);
    held[1]!.res.end();
    expect(await next.done).toEqual({ status: 200 });
    expect(held).toHaveLength(2);
  });

  it("pushes back on the body of a request waiting for a connection and resumes it once dispatched", async () => {
    const cb = breakers({ maxConnections: 1 });
    const t = target(cb);
    const pool = newPool(t);
    const first = stream(pool, t);
    await heldCount(1);
    let attempt!: UpstreamAttempt;
    const done = new Promise<Outcome>((resolve) => {
      attempt = pool.start(
        t,
        {
          method: "POST",
          path: "/upload",
          authority: "svc",
          scheme: "http",
          headers: { "content-length": String(3 * 40 * 1024) },
        },
        {
          onResponse: (response) => {
            response.body.resume();
            response.body.on("end", () => resolve({ status: response.status }));
          },
          onReset: (reason) => resolve({ reset: reason }),
        },
      );
    });
    // Queued behind the only connection: the body is held only up to the high-water mark.
    expect(attempt.write(new Uint8Array(40 * 1024))).toBe(true);
    expect(attempt.write(new Uint8Array(40 * 1024))).toBe(false);
    const drained = new Promise<void>((resolve) => attempt.onDrain(resolve));
    held[0]!.res.end();
    expect(await first.done).toEqual({ status: 200 });
    await drained;
    attempt.write(new Uint8Array(40 * 1024));
    attempt.end();
    await heldCount(2);
    const upload = held[1]!;
    if (!upload.req.readableEnded) await new Promise((resolve) => upload.req.once("end", resolve));
    upload.res.end();
    expect(await done).toEqual({ status: 200 });
  });

  it("holds at most 64 KiB of a waiting request's body when the target names no buffer limit", async () => {
    const cb = breakers({ maxConnections: 1 });
    const t = target(cb);
    const pool = newPool(t);
    const first = stream(pool, t);
    await heldCount(1);
    const attempt = pool.start(
      t,
      { method: "POST", path: "/", authority: "svc", scheme: "http", headers: {} },
      { onResponse: () => {}, onReset: () => {} },
    );
    expect(attempt.write(new Uint8Array(64 * 1024 - 1))).toBe(true);
    expect(attempt.write(new Uint8Array(1))).toBe(false);
    attempt.abort();
    held[0]!.res.end();
    expect(await first.done).toEqual({ status: 200 });
  });
});
