// ListenerManager over real sockets: server-first protocols are not held for inspection, an HCM's
// timeouts cannot crash a connection's setup, and a removed listener frees its address at once.
import { request } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { http1HeadersTimeoutMs } from "../hcm/connection-manager.ts";
import { ConnectionPools } from "../hcm/upstream-pools.ts";
import type { TcpProxyConfig } from "../listener/types.ts";
import { StatsStore } from "../stats/stats-store.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { ListenerManager } from "./listener-manager.ts";
import { RouteStore } from "./route-store.ts";

const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A manager whose tcp_proxy "sessions" greet the client with their stat_prefix, server-first. */
function manager(options: { drainTimeMs?: number; onBound?: () => void } = {}): ListenerManager {
  const m = new ListenerManager({
    hcm: {
      clusters: new ClusterManager({ clock: systemClock(), onEdsNames: () => {} }),
      pools: new ConnectionPools(),
      stats: new StatsStore(),
      random: Math.random,
      logger: silentLogger(),
      relayTcp: () => {},
    },
    routes: new RouteStore(),
    startTcpProxy: (socket: Socket, config: TcpProxyConfig) => {
      socket.end(`hello from ${config.statPrefix}\n`);
      return { close: () => socket.destroy() };
    },
    onRdsNames: () => {},
    drainTimeMs: options.drainTimeMs ?? 0,
    logger: silentLogger(),
    onBound: () => options.onBound?.(),
  });
  cleanups.push(() => m.close());
  return m;
}

function tcpListener(name: string, port: number, extra: JsonObject = {}): JsonObject {
  return {
    name,
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [
      {
        filters: [{ name: "t", typed_config: { "@type": TCP, stat_prefix: name, cluster: "c" } }],
      },
    ],
    ...extra,
  };
}

function hcmListener(hcmExtra: JsonObject): JsonObject {
  return {
    name: "http",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM,
              stat_prefix: "http",
              route_config: {
                name: "r",
                virtual_hosts: [
                  {
                    name: "v",
                    domains: ["*"],
                    routes: [
                      {
                        match: { prefix: "/" },
                        direct_response: { status: 200, body: { inline_string: "ok" } },
                      },
                    ],
                  },
                ],
              },
              http_filters: [{ name: "router", typed_config: { "@type": ROUTER } }],
              ...hcmExtra,
            },
          },
        ],
      },
    ],
  };
}

function apply(m: ListenerManager, listeners: JsonObject[], version: string): void {
  const result = m.handler().apply({
    added: new Map(listeners.map((l) => [l.name as string, l])),
    removed: [],
    full: true,
    version,
    versions: new Map(listeners.map((l) => [l.name as string, version])),
  });
  expect(result.errors).toEqual([]);
}

function boundPort(m: ListenerManager, name: string): number {
  const address = m.statuses().find((s) => s.name === name)!.boundAddress!;
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** Connects and collects what the server says until it closes (the client sends nothing). */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.once("error", reject);
    socket.once("close", () => resolve(text));
    cleanups.push(() => socket.destroy());
  });
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

describe("ListenerManager connection hand-off", () => {
  it("hands a tcp_proxy connection to its chain before the client speaks", async () => {
    const bound = signal();
    const m = manager({ onBound: bound.fire });
    // No inspection timeout: a listener that waited for the client's bytes would never greet.
    apply(m, [tcpListener("mysql", 0, { listener_filters_timeout: "0s" })], "1");
    await bound.promise;
    expect(await greeting(boundPort(m, "mysql"))).toBe("hello from mysql\n");
  });

  it("resets, as Envoy's kernel does, a connection that sent bytes no filter chain takes", async () => {
    const bound = signal();
    const m = manager({ onBound: bound.fire });
    // Only TLS is taken (a STRICT mTLS port); the client speaks plaintext HTTP.
    const tlsOnly = tcpListener("strict", 0);
    (tlsOnly.filter_chains as JsonObject[])[0]!.filter_chain_match = { transport_protocol: "tls" };
    apply(m, [tlsOnly], "1");
    await bound.promise;
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect(boundPort(m, "strict"), "127.0.0.1", () =>
        socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"),
      );
      socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
      socket.once("end", () => resolve("end"));
      socket.resume();
      cleanups.push(() => socket.destroy());
    });
    expect(outcome).toBe("ECONNRESET");
  });

  it("serves HTTP/1 on an HCM whose request_timeout is below node's 60 s headers timeout", async () => {
    const bound = signal();
    const m = manager({ onBound: bound.fire });
    apply(m, [hcmListener({ request_timeout: "10s" })], "1");
    await bound.promise;
    const port = boundPort(m, "http");
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(response).toEqual({ status: 200, body: "ok" });
  });
});

describe("ListenerManager removed listeners", () => {
  it("frees a removed listener's address at once for its replacement", async () => {
    let bound = signal();
    // A long drain: the old listener's connections may linger, but not its listening socket.
    const m = manager({ drainTimeMs: 600_000, onBound: () => bound.fire() });
    apply(m, [tcpListener("old", 0)], "1");
    await bound.promise;
    const port = boundPort(m, "old");
    bound = signal();
    apply(m, [tcpListener("new", port)], "2");
    await bound.promise;
    expect(m.ready()).toBe(true);
    expect(m.statuses().map((s) => [s.name, s.boundAddress])).toEqual([
      ["new", `127.0.0.1:${port}`],
    ]);
    expect(await greeting(port)).toBe("hello from new\n");
  });

  it("is not ready while a listener's address is taken by someone else", async () => {
    const squatter: Server = createServer();
    cleanups.push(() => squatter.close());
    await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
    const port = (squatter.address() as { port: number }).port;
    const bound = signal();
    const m = manager({ onBound: bound.fire });
    apply(m, [tcpListener("taken", port)], "1");
    await bound.promise;
    expect(m.ready()).toBe(false);
  });
});

describe("HCM request timeouts", () => {
  it("keeps node's headers timeout within request_timeout (node throws otherwise)", () => {
    expect(http1HeadersTimeoutMs({ requestTimeoutMs: 10_000, requestHeadersTimeoutMs: 0 })).toBe(
      10_000,
    );
    expect(
      http1HeadersTimeoutMs({ requestTimeoutMs: 10_000, requestHeadersTimeoutMs: 20_000 }),
    ).toBe(10_000);
    expect(
      http1HeadersTimeoutMs({ requestTimeoutMs: 10_000, requestHeadersTimeoutMs: 2_000 }),
    ).toBe(2_000);
    expect(http1HeadersTimeoutMs({ requestTimeoutMs: 0, requestHeadersTimeoutMs: 0 })).toBe(60_000);
    expect(http1HeadersTimeoutMs({ requestTimeoutMs: 0, requestHeadersTimeoutMs: 90_000 })).toBe(
      90_000,
    );
  });

  it("answers an HTTP/1 request that outlives request_timeout with 408, as Envoy does", async () => {
    const bound = signal();
    const m = manager({ onBound: bound.fire });
    apply(m, [hcmListener({ request_timeout: "0.2s" })], "1");
    await bound.promise;
    // Headers never finish: only the request timeout ends the request.
    const socket = connect(boundPort(m, "http"), "127.0.0.1");
    cleanups.push(() => socket.destroy());
    socket.write("GET / HTTP/1.1\r\nhost: x\r\n");
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    await new Promise((resolve) => socket.once("close", resolve));
    expect(text.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
    expect(text.endsWith("\r\n\r\nrequest timeout")).toBe(true);
  });
});
