// ListenerManager: a listener counts as ready only once its socket accepts connections; closing it
// closes every connection, those still waiting for their first bytes included.
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ConnectionPools } from "../hcm/upstream-pools.ts";
import { StatsStore } from "../stats/stats-store.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { ListenerManager } from "./listener-manager.ts";
import { RouteStore } from "./route-store.ts";

const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const managers: ListenerManager[] = [];

afterEach(() => {
  for (const m of managers.splice(0)) m.close();
});

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
    startTcpProxy: (socket) => {
      socket.destroy();
      return { close() {} };
    },
    onRdsNames: () => {},
    drainTimeMs: 0,
    logger: silentLogger(),
    onBound,
  });
  managers.push(m);
  return m;
}

function tcpListener(port: number): JsonObject {
  return {
    name: "tcp",
    address: { socket_address: { address: "127.0.0.1", port_value: port } },
    filter_chains: [
      { filters: [{ name: "t", typed_config: { "@type": TCP, stat_prefix: "x", cluster: "c" } }] },
    ],
  };
}

describe("ListenerManager readiness", () => {
  it("is not ready until the listener's socket is bound, then tells onBound", async () => {
    let bound!: () => void;
    const wasBound = new Promise<void>((resolve) => {
      bound = resolve;
    });
    const m = manager(() => bound());
    const result = m.handler().apply({
      added: new Map([["tcp", tcpListener(0)]]),
      removed: [],
      full: true,
      version: "1",
      versions: new Map([["tcp", "1"]]),
    });
    expect(result.errors).toEqual([]);
    // listen() settles asynchronously: a proxy that said "ready" now could refuse connections.
    expect(m.ready()).toBe(false);
    await wasBound;
    expect(m.ready()).toBe(true);
    const address = m.statuses()[0]!.boundAddress!;
    const port = Number(address.slice(address.lastIndexOf(":") + 1));
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.destroy();
  });
});

describe("ListenerManager close", () => {
  it("closes connections still waiting for their first bytes", async () => {
    let bound!: () => void;
    const wasBound = new Promise<void>((resolve) => {
      bound = resolve;
    });
    const m = manager(() => bound());
    // No inspection timeout (Istio's protocol detection default): only close() ends the wait. A
    // listener filter makes the listener wait for the client's bytes (a bare tcp_proxy would not).
    const json = {
      ...tcpListener(0),
      listener_filters: [{ name: "envoy.filters.listener.tls_inspector" }],
      listener_filters_timeout: "0s",
    };
    m.handler().apply({
      added: new Map([["tcp", json]]),
      removed: [],
      full: true,
      version: "1",
      versions: new Map([["tcp", "1"]]),
    });
    await wasBound;
    const address = m.statuses()[0]!.boundAddress!;
    const port = Number(address.slice(address.lastIndexOf(":") + 1));
    // Connected, silent: the listener is still inspecting it, no filter chain owns it.
    const silent = connect(port, "127.0.0.1");
    silent.on("error", () => {});
    await new Promise((resolve) => silent.once("connect", resolve));
    const closed = new Promise((resolve) => silent.once("close", resolve));
    m.close();
    await closed;
    expect(silent.destroyed).toBe(true);
  });
});
