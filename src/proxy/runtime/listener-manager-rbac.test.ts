// The RBAC filters as the listener manager runs them over real sockets: the HTTP filter answers
// 403 `RBAC: access denied` before anything is routed, the network filter closes a denied
// connection before the TCP proxy starts, and a config the engine cannot honour is NACKed.
import { request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { StatsStore } from "../stats/stats-store.ts";
import type { ListenerManager } from "./listener-manager.ts";
import {
  applyListeners,
  boundPort,
  greetingManager,
  HCM_TYPE as HCM,
  HTTP_RBAC_TYPE as HTTP_RBAC,
  NETWORK_RBAC_TYPE as NETWORK_RBAC,
  ROUTER_TYPE as ROUTER,
  TCP_PROXY_TYPE as TCP,
} from "./listener-manager-testing.ts";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function manager(stats: StatsStore): ListenerManager {
  const m = greetingManager({ stats });
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
    expect(applyListeners(m, [httpListener(DENY_ADMIN)])).toEqual([]);
    const port = await boundPort(m, "http");
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
    expect(applyListeners(m, [tcpListener(denyLoopback)])).toEqual([]);
    expect(await greeting(await boundPort(m, "tcp"))).toBe("");
    const allowLoopback = {
      ...denyLoopback,
      rules: { ...denyLoopback.rules, action: "ALLOW" },
    };
    expect(applyListeners(m, [tcpListener(allowLoopback)])).toEqual([]);
    expect(await greeting(await boundPort(m, "tcp"))).toBe("hello from db\n");
  });

  it("NACKs an RBAC config it cannot honour, naming the field", () => {
    const m = manager(new StatsStore());
    const errors = applyListeners(m, [
      httpListener({ "@type": HTTP_RBAC, matcher: { matcher_list: { matchers: [] } } }),
    ]);
    expect(errors.join("\n")).toContain("matcher");
  });
});
