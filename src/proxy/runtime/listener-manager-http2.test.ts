// HTTP/2 downstream connections through a ListenerManager over real sockets: codec_type HTTP2
// serves without sniffing, and the HCM's common_http_protocol_options.idle_timeout ends a
// connection without streams with a GOAWAY.
import { type ClientHttp2Session, connect } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ConnectionPools } from "../hcm/upstream-pools.ts";
import { StatsStore } from "../stats/stats-store.ts";
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

async function http2Listener(hcmExtra: JsonObject): Promise<number> {
  let bound!: () => void;
  const wasBound = new Promise<void>((resolve) => {
    bound = resolve;
  });
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
    onBound: () => bound(),
  });
  cleanups.push(() => m.close());
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
              codec_type: "HTTP2",
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

function session(port: number): ClientHttp2Session {
  const client = connect(`http://127.0.0.1:${port}`);
  client.on("error", () => {});
  cleanups.push(() => client.destroy());
  return client;
}

function get(client: ClientHttp2Session): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = client.request({ ":path": "/", ":method": "GET" });
    let status = 0;
    let body = "";
    stream.setEncoding("utf8");
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
    });
    stream.on("data", (chunk: string) => {
      body += chunk;
    });
    stream.on("end", () => resolve({ status, body }));
    stream.on("error", reject);
    stream.end();
  });
}

describe("HCM HTTP/2 idle_timeout", () => {
  it("sends GOAWAY and closes a connection once no stream was active for idle_timeout", async () => {
    const port = await http2Listener({ common_http_protocol_options: { idle_timeout: "0.2s" } });
    const client = session(port);
    const goaway = new Promise<number>((resolve) => client.once("goaway", resolve));
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    expect(await get(client)).toEqual({ status: 200, body: "ok" });
    // Envoy's idle timeout is a graceful close: GOAWAY with NO_ERROR, then the connection ends.
    expect(await goaway).toBe(0);
    await closed;
  });
});

describe("HCM codec_type HTTP2", () => {
  it("serves a connection handed over without a preface sniff (prior knowledge)", async () => {
    const port = await http2Listener({});
    expect(await get(session(port))).toEqual({ status: 200, body: "ok" });
  });
});
