// CONNECT relayed as TCP through a ListenerManager's HCM and the real TCP proxy over real sockets:
// the 200 waits for the upstream connection, and a failed one is answered 503 as Envoy does.
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ConnectionPools } from "../hcm/upstream-pools.ts";
import { StatsStore } from "../stats/stats-store.ts";
import { startTcpProxy } from "../tcp/tcp-proxy.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { ListenerManager } from "./listener-manager.ts";
import { RouteStore } from "./route-store.ts";

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A proxy whose HCM relays every CONNECT to cluster "up" (one endpoint at `upstreamPort`). */
async function connectProxy(upstreamPort: number): Promise<number> {
  const clusters = new ClusterManager({ clock: systemClock(), onEdsNames: () => {} });
  const endpoint = {
    address: { socket_address: { address: "127.0.0.1", port_value: upstreamPort } },
  };
  const cds = clusters.cdsHandler().apply({
    added: new Map([
      [
        "up",
        {
          name: "up",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: { cluster_name: "up", endpoints: [{ lb_endpoints: [{ endpoint }] }] },
        },
      ],
    ]),
    removed: [],
    full: true,
    version: "1",
    versions: new Map([["up", "1"]]),
  });
  expect(cds.errors).toEqual([]);
  const stats = new StatsStore();
  let bound!: () => void;
  const wasBound = new Promise<void>((resolve) => {
    bound = resolve;
  });
  // Wired as proxy.ts wires it.
  const m = new ListenerManager({
    hcm: {
      clusters,
      pools: new ConnectionPools(),
      stats,
      random: Math.random,
      logger: silentLogger(),
      relayTcp: (socket, clusterName, target, idleTimeoutMs, events) => {
        startTcpProxy(
          socket as Socket,
          {
            statPrefix: "connect",
            cluster: { kind: "cluster", name: clusterName },
            idleTimeoutMs: idleTimeoutMs ?? 3_600_000,
            maxConnectAttempts: 1,
          },
          { clusters, stats },
          {
            originalDestination: target,
            ...(events
              ? { onConnected: events.onConnected, onConnectFailure: events.onConnectFailure }
              : {}),
          },
        );
      },
    },
    routes: new RouteStore(),
    startTcpProxy: (socket) => {
      socket.destroy();
      return { close() {} };
    },
    onRdsNames: () => {},
    drainTimeMs: 0,
    logger: silentLogger(),
    onBound: () => bound(),
  });
  cleanups.push(() => {
    m.close();
    clusters.close();
  });
  const listener: JsonObject = {
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
              upgrade_configs: [{ upgrade_type: "CONNECT" }],
              route_config: {
                name: "r",
                virtual_hosts: [
                  {
                    name: "v",
                    domains: ["*"],
                    routes: [
                      {
                        match: { connect_matcher: {} },
                        route: {
                          cluster: "up",
                          upgrade_configs: [{ upgrade_type: "CONNECT" }],
                        },
                      },
                    ],
                  },
                ],
              },
              http_filters: [{ name: "router", typed_config: { "@type": ROUTER } }],
            },
          },
        ],
      },
    ],
  };
  const result = m.handler().apply({
    added: new Map([["http", listener]]),
    removed: [],
    full: true,
    version: "1",
    versions: new Map([["http", "1"]]),
  });
  expect(result.errors).toEqual([]);
  await wasBound;
  const address = m.statuses()[0]!.boundAddress!;
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

async function listen(server: Server): Promise<number> {
  cleanups.push(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

/** Sends a CONNECT (and `early` bytes right behind it); resolves with all the proxy said. */
function connectThrough(port: number, early = ""): { socket: Socket; text: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  cleanups.push(() => socket.destroy());
  socket.setEncoding("utf8");
  socket.on("error", () => {});
  let text = "";
  socket.on("data", (chunk: string) => {
    text += chunk;
  });
  socket.write(`CONNECT svc.example:443 HTTP/1.1\r\nhost: svc.example:443\r\n\r\n${early}`);
  return { socket, text: new Promise((resolve) => socket.once("close", () => resolve(text))) };
}

describe("HCM CONNECT relayed as TCP", () => {
  it("answers 503 UF when the upstream connection fails, instead of 200 then a close", async () => {
    // A port nothing listens on: bound, then released.
    const gone = createServer();
    const deadPort = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    const port = await connectProxy(deadPort);
    const { text } = connectThrough(port);
    const reply = await text;
    expect(reply.split("\r\n")[0]).toBe("HTTP/1.1 503 Service Unavailable");
    expect(reply).toContain(
      "upstream connect error or disconnect/reset before headers. reset reason: remote connection failure",
    );
  });

  it("answers 200 only once the upstream accepted, before any upstream byte", async () => {
    let accepted = false;
    // A server-first upstream: its greeting must follow the 200 on the client's side.
    const upstream = createServer((socket) => {
      accepted = true;
      socket.on("data", (chunk) => socket.write(`echo ${chunk}`));
      socket.write("greeting\n");
    });
    const port = await connectProxy(await listen(upstream));
    const { socket } = connectThrough(port, "early\n");
    let text = "";
    await new Promise<void>((resolve) => {
      socket.on("data", (chunk: string) => {
        if (text === "") expect(accepted).toBe(true);
        text += chunk;
        if (text.includes("echo early")) resolve();
      });
    });
    expect(text).toBe("HTTP/1.1 200 OK\r\n\r\ngreeting\necho early\n");
  });
});
