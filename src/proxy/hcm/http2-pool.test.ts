// The HTTP/2 pool's admission against a real h2c server on a port-0 loopback socket: streams
// waiting for a session are pending (max_pending_requests, else overflow), sessions within the
// cluster's max_connections, max_requests_per_connection.
import {
  createServer,
  type Http2Server,
  type Http2Session,
  type ServerHttp2Stream,
} from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StreamResetReason } from "../http/reset-reason.ts";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import { CircuitBreakers } from "../upstream/circuit-breakers.ts";
import type { CircuitBreakerThresholds } from "../upstream/cluster-config.ts";
import { Http2Pool } from "./upstream-http2.ts";
import type { UpstreamAttempt, UpstreamTarget } from "./upstream-types.ts";

let server: Http2Server;
let port: number;
/** Streams the server holds until the test answers them, with the session each came on. */
let held: Array<{ stream: ServerHttp2Stream; session: Http2Session }>;
let waiters: Array<() => void>;
const pools: Http2Pool[] = [];

beforeEach(async () => {
  held = [];
  waiters = [];
  server = createServer();
  server.on("stream", (stream) => {
    stream.resume();
    held.push({ stream, session: stream.session! });
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  for (const pool of pools.splice(0)) pool.close();
  for (const { session } of held) session.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function heldCount(n: number): Promise<void> {
  while (held.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
}

function respond(i: number): void {
  const { stream } = held[i]!;
  stream.respond({ ":status": 200 });
  stream.end("ok");
}

function breakers(limits: Partial<CircuitBreakerThresholds>): CircuitBreakers {
  const t = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 };
  return new CircuitBreakers({ DEFAULT: { ...t, ...limits }, HIGH: t });
}

function target(cb: CircuitBreakers, maxRequestsPerConnection = 0): UpstreamTarget {
  return {
    address: "127.0.0.1",
    port,
    protocol: "http2",
    connectTimeoutMs: 5000,
    idleTimeoutMs: 60_000,
    limits: { cluster: "c", breakers: cb, maxRequestsPerConnection },
  };
}

type Outcome = { status: number } | { reset: StreamResetReason };

function stream(
  pool: Http2Pool,
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

function newPool(t: UpstreamTarget): Http2Pool {
  const pool = new Http2Pool(t);
  pools.push(pool);
  return pool;
}

describe("HTTP/2 pool admission", () => {
  it("counts streams waiting for the connection to open as pending and overflows past the limit", async () => {
    const cb = breakers({ maxPendingRequests: 1 });
    const t = target(cb);
    const pool = newPool(t);
    const first = stream(pool, t);
    const second = stream(pool, t);
    expect(await second.done).toEqual({ reset: "overflow" });
    expect(cb.overflows.pendingRequests).toBe(1);
    await heldCount(1);
    respond(0);
    expect(await first.done).toEqual({ status: 200 });
    expect(cb.active("pendingRequests")).toBe(0);
    // Once connected, streams multiplex at once: no longer pending.
    const a = stream(pool, t);
    const b = stream(pool, t);
    await heldCount(3);
    respond(1);
    respond(2);
    expect(await a.done).toEqual({ status: 200 });
    expect(await b.done).toEqual({ status: 200 });
    expect(held[2]!.session === held[0]!.session).toBe(true);
  });

  it("queues a stream behind a connection out of requests when max_connections is reached", async () => {
    const cb = breakers({ maxConnections: 1, maxPendingRequests: 1 });
    const t = target(cb, 1);
    const pool = newPool(t);
    const first = stream(pool, t);
    await heldCount(1);
    const second = stream(pool, t);
    const third = stream(pool, t);
    expect(await third.done).toEqual({ reset: "overflow" });
    expect(cb.active("connections")).toBe(1);
    respond(0);
    expect(await first.done).toEqual({ status: 200 });
    // The first session closes after its one request; the pending stream gets a new one.
    await heldCount(2);
    respond(1);
    expect(await second.done).toEqual({ status: 200 });
    expect(held[1]!.session === held[0]!.session).toBe(false);
    expect(cb.active("pendingRequests")).toBe(0);
  });

  it("drains a session at max_connection_duration: its streams finish, new ones get a new session", async () => {
    const stats = clusterStats(new StatsStore(), "c");
    const base = target(breakers({}));
    const t = { ...base, maxConnectionDurationMs: 100, limits: { ...base.limits!, stats } };
    const pool = newPool(t);
    const first = stream(pool, t);
    await heldCount(1);
    while (stats.upstreamCxMaxDurationReached.value < 1)
      await new Promise((resolve) => setImmediate(resolve));
    // Draining: the open stream is served; a new one goes to a new session.
    const second = stream(pool, t);
    await heldCount(2);
    expect(held[1]!.session === held[0]!.session).toBe(false);
    const closed = new Promise((resolve) => held[0]!.session.once("close", resolve));
    respond(0);
    respond(1);
    expect(await first.done).toEqual({ status: 200 });
    expect(await second.done).toEqual({ status: 200 });
    await closed;
  });

  it("fails the pending streams when the connection cannot be established", async () => {
    const cb = breakers({});
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const t = { ...target(cb), port: deadPort };
    const pool = newPool(t);
    const a = stream(pool, t);
    const b = stream(pool, t);
    expect(await a.done).toEqual({ reset: "remote_connection_failure" });
    expect(await b.done).toEqual({ reset: "remote_connection_failure" });
    expect(cb.active("pendingRequests")).toBe(0);
    expect(cb.active("connections")).toBe(0);
  });
});
