// ListenerManager updates over real sockets: an update that changes only filter chains keeps the
// connections of unchanged chains (Envoy's filter-chain-only update) and drains the others; an
// update of anything else about the listener drains every connection.
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ConnectionPools } from "../hcm/upstream-pools.ts";
import type { TcpProxyConfig } from "../listener/types.ts";
import { StatsStore } from "../stats/stats-store.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { ListenerManager } from "./listener-manager.ts";
import { RouteStore } from "./route-store.ts";

const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
/** The kept chain matches clients from this address; every other client takes the default chain. */
const KEPT_SOURCE = "127.0.0.2";

const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** tcp_proxy "sessions" echo every line prefixed with their stat_prefix, until closed. */
function manager(onBound: () => void): ListenerManager {
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
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => socket.write(`${config.statPrefix}: ${chunk}`));
      socket.resume();
      return { close: () => socket.destroy() };
    },
    onRdsNames: () => {},
    // The drain ends at once: a connection the update drains is closed on the next timer tick.
    drainTimeMs: 0,
    logger: silentLogger(),
    onBound,
  });
  cleanups.push(() => m.close());
  return m;
}

function tcpFilter(statPrefix: string): JsonObject {
  return { name: "t", typed_config: { "@type": TCP, stat_prefix: statPrefix, cluster: "c" } };
}

function listener(port: number, defaultPrefix: string, extra: JsonObject = {}): JsonObject {
  return {
    name: "l",
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [
      {
        filter_chain_match: {
          source_prefix_ranges: [{ address_prefix: KEPT_SOURCE, prefix_len: 32 }],
        },
        filters: [tcpFilter("kept")],
      },
    ],
    default_filter_chain: { filters: [tcpFilter(defaultPrefix)] },
    ...extra,
  };
}

function apply(m: ListenerManager, l: JsonObject, version: string): void {
  const result = m.handler().apply({
    added: new Map([["l", l]]),
    removed: [],
    full: true,
    version,
    versions: new Map([["l", version]]),
  });
  expect(result.errors).toEqual([]);
}

function boundPort(m: ListenerManager): number {
  const address = m.statuses()[0]!.boundAddress!;
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

interface Client {
  socket: Socket;
  /** Sends a line and resolves with the reply, or with "closed" when the connection ends. */
  ask(line: string): Promise<string>;
  closed: Promise<void>;
}

async function client(port: number, localAddress: string): Promise<Client> {
  const socket = connect({ port, host: "127.0.0.1", localAddress });
  cleanups.push(() => socket.destroy());
  socket.setEncoding("utf8");
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const ask = (line: string): Promise<string> =>
    new Promise((resolve) => {
      if (socket.destroyed) return resolve("closed");
      socket.once("data", (chunk: string) => resolve(chunk));
      void closed.then(() => resolve("closed"));
      socket.write(`${line}\n`);
    });
  return { socket, ask, closed };
}

function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { promise, fire };
}

describe("ListenerManager filter-chain-only update", () => {
  it("keeps connections on unchanged chains open and drains those of a changed chain", async () => {
    const bound = signal();
    const m = manager(bound.fire);
    apply(m, listener(0, "old"), "1");
    await bound.promise;
    const port = boundPort(m);
    const kept = await client(port, KEPT_SOURCE);
    const changed = await client(port, "127.0.0.1");
    expect(await kept.ask("a")).toBe("kept: a\n");
    expect(await changed.ask("b")).toBe("old: b\n");

    // Only the default chain changes: a filter-chain-only update (port 0 again: the same address).
    apply(m, listener(0, "new"), "2");
    await changed.closed;
    expect(kept.socket.destroyed).toBe(false);
    expect(await kept.ask("c")).toBe("kept: c\n");
    // New connections take the new chains.
    const fresh = await client(port, "127.0.0.1");
    expect(await fresh.ask("d")).toBe("new: d\n");
    // A later update still drains the kept chain's connections once that chain changes.
    apply(
      m,
      {
        ...listener(0, "new"),
        filter_chains: [
          {
            filter_chain_match: {
              source_prefix_ranges: [{ address_prefix: KEPT_SOURCE, prefix_len: 32 }],
            },
            filters: [tcpFilter("kept2")],
          },
        ],
      },
      "3",
    );
    await kept.closed;
    expect(await fresh.ask("e")).toBe("new: e\n");
  });

  it("drains every connection when the listener itself changes", async () => {
    const bound = signal();
    const m = manager(bound.fire);
    apply(m, listener(0, "old"), "1");
    await bound.promise;
    const port = boundPort(m);
    const kept = await client(port, KEPT_SOURCE);
    expect(await kept.ask("a")).toBe("kept: a\n");
    // Same chains, but a listener-level field differs: Envoy replaces the whole listener.
    apply(m, listener(0, "old", { listener_filters_timeout: "1s" }), "2");
    await kept.closed;
    const fresh = await client(port, KEPT_SOURCE);
    expect(await fresh.ask("b")).toBe("kept: b\n");
  });
});
