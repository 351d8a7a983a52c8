// The RBAC filters as the listener manager runs them over real sockets: the HTTP filter answers
// 403 `RBAC: access denied` before anything is routed, the network filter closes a denied
// connection before the TCP proxy starts, and a config the engine cannot honour is NACKed.
import { request } from "node:http";
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
const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const HTTP_RBAC = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
const NETWORK_RBAC = "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function manager(stats: StatsStore): ListenerManager {
  const m = new ListenerManager({
    hcm: {
      clusters: new ClusterManager({ clock: systemClock(), onEdsNames: () => {} }),
      pools: new ConnectionPools(),
      stats,
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
    drainTimeMs: 0,
    logger: silentLogger(),
  });
  cleanups.push(() => m.close());
  return m;
}

/** DENY `GET /admin…`; everything else is allowed. */
const DENY_ADMIN = {
  "@type": HTTP_RBAC,
  rules: {
    action: "DENY",
    policies: {
      "ns[shop]-policy[no-admin]-rule[0]": {
        permissions: [{ url_path: { path: { prefix: "/admin" } } }],
        principals: [{ any: true }],
      },
    },
  },
};

function httpListener(rbac: JsonObject): JsonObject {
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
              stat_prefix: "inbound_0.0.0.0_8080",
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
              http_filters: [
                { name: "envoy.filters.http.rbac", typed_config: rbac },
                { name: "router", typed_config: { "@type": ROUTER } },
              ],
            },
          },
        ],
      },
    ],
  };
}

function tcpListener(rbac: JsonObject): JsonObject {
  return {
    name: "tcp",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [
      {
        filters: [
          { name: "envoy.filters.network.rbac", typed_config: rbac },
          { name: "t", typed_config: { "@type": TCP, stat_prefix: "db", cluster: "c" } },
        ],
      },
    ],
  };
}

function apply(m: ListenerManager, listeners: JsonObject[]): readonly string[] {
  return m.handler().apply({
    added: new Map(listeners.map((l) => [l.name as string, l])),
    removed: [],
    full: true,
    version: "1",
    versions: new Map(listeners.map((l) => [l.name as string, "1"])),
  }).errors;
}

function portOf(m: ListenerManager, name: string): number {
  const address = m.statuses().find((s) => s.name === name)!.boundAddress!;
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

async function bound(m: ListenerManager, name: string): Promise<number> {
  for (;;) {
    const status = m.statuses().find((s) => s.name === name);
    if (status?.boundAddress) return portOf(m, name);
    await new Promise((r) => setImmediate(r));
  }
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: "127.0.0.1", port, path }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.once("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .once("error", reject)
      .end();
  });
}

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
  });
}

describe("RBAC filters in the proxy", () => {
  it("the HTTP filter denies with 403 RBAC: access denied and counts as Envoy", async () => {
    const stats = new StatsStore();
    const m = manager(stats);
    expect(apply(m, [httpListener(DENY_ADMIN)])).toEqual([]);
    const port = await bound(m, "http");
    expect(await get(port, "/menu")).toEqual({ status: 200, body: "ok" });
    expect(await get(port, "/admin/restock?x=1")).toEqual({
      status: 403,
      body: "RBAC: access denied",
    });
    expect(stats.counter("http.inbound_0.0.0.0_8080.rbac.denied").value).toBe(1);
    expect(stats.counter("http.inbound_0.0.0.0_8080.rbac.allowed").value).toBe(1);
  });

  it("the network filter closes a denied connection before the TCP proxy starts", async () => {
    const m = manager(new StatsStore());
    const denyLoopback = {
      "@type": NETWORK_RBAC,
      stat_prefix: "tcp.",
      rules: {
        action: "DENY",
        policies: {
          p: {
            permissions: [{ any: true }],
            principals: [{ direct_remote_ip: { address_prefix: "127.0.0.0", prefix_len: 8 } }],
          },
        },
      },
    };
    expect(apply(m, [tcpListener(denyLoopback)])).toEqual([]);
    expect(await greeting(await bound(m, "tcp"))).toBe("");
    const allowLoopback = {
      ...denyLoopback,
      rules: { ...denyLoopback.rules, action: "ALLOW" },
    };
    expect(apply(m, [tcpListener(allowLoopback)])).toEqual([]);
    expect(await greeting(await bound(m, "tcp"))).toBe("hello from db\n");
  });

  it("NACKs an RBAC config it cannot honour, naming the field", () => {
    const m = manager(new StatsStore());
    const errors = apply(m, [
      httpListener({ "@type": HTTP_RBAC, matcher: { matcher_list: { matchers: [] } } }),
    ]);
    expect(errors.join("\n")).toContain("matcher");
  });
});
