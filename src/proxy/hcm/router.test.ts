// The router through a real listener, HTTP connection manager and static cluster on port-0
// loopback sockets: invalid upstream statuses, gRPC trailers-only responses, the load balancer's
// active-request bookkeeping on aborted attempts, timeouts beyond Node's timer limit, and gRPC
// statuses in outlier detection.
import { createServer as createHttpServer, type IncomingMessage, request } from "node:http";
import { createServer as createHttp2Server, connect as http2Connect } from "node:http2";
import {
  type AddressInfo,
  connect as createNetConnection,
  createServer as createNetServer,
  type Server,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ListenerManager } from "../runtime/listener-manager.ts";
import { RouteStore } from "../runtime/route-store.ts";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { ConnectionPools } from "./upstream-pools.ts";

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
const H2_CLUSTER: JsonObject = {
  typed_extension_protocol_options: {
    [HTTP_OPTIONS]: {
      "@type": `type.googleapis.com/${HTTP_OPTIONS}`,
      explicit_http_config: { http2_protocol_options: {} },
    },
  },
};

const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    if ("closeAllConnections" in server) server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

interface Proxy {
  port: number;
  clusters: ClusterManager;
  stats: StatsStore;
}

/** A listener on port 0 routing everything to cluster "up" (one static host). */
async function proxyTo(
  upstreamPort: number,
  options: { route?: JsonObject; cluster?: JsonObject } = {},
): Promise<Proxy> {
  const clusters = new ClusterManager({ clock: systemClock(), onEdsNames: () => {} });
  const stats = new StatsStore();
  const pools = new ConnectionPools();
  const cds = clusters.cdsHandler().apply({
    added: new Map([
      [
        "up",
        {
          name: "up",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: {
            cluster_name: "up",
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: {
                        socket_address: { address: "127.0.0.1", port_value: upstreamPort },
                      },
                    },
                  },
                ],
              },
            ],
          },
          ...options.cluster,
        },
      ],
    ]),
    removed: [],
    full: true,
    version: "1",
    versions: new Map([["up", "1"]]),
  });
  expect(cds.errors).toEqual([]);
  let bound!: () => void;
  const wasBound = new Promise<void>((resolve) => {
    bound = resolve;
  });
  const manager = new ListenerManager({
    hcm: {
      clusters,
      pools,
      stats,
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
  cleanups.push(() => {
    manager.close();
    pools.close();
    clusters.close();
  });
  const lds = manager.handler().apply({
    added: new Map([
      [
        "l",
        {
          name: "l",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": HCM,
                    stat_prefix: "x",
                    route_config: {
                      name: "r",
                      virtual_hosts: [
                        {
                          name: "v",
                          domains: ["*"],
                          routes: [
                            options.route ?? { match: { prefix: "/" }, route: { cluster: "up" } },
                          ],
                        },
                      ],
                    },
                    http_filters: [
                      { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    ]),
    removed: [],
    full: true,
    version: "1",
    versions: new Map([["l", "1"]]),
  });
  expect(lds.errors).toEqual([]);
  await wasBound;
  const address = manager.statuses()[0]!.boundAddress!;
  return { port: Number(address.slice(address.lastIndexOf(":") + 1)), clusters, stats };
}

interface H2Answer {
  headers: Record<string, unknown>;
  endStream: boolean;
  dataFrames: number;
  body: string;
}

/** One HTTP/2 request through the proxy: the response head, whether it ended the stream, the body. */
async function h2Request(
  port: number,
  headers: Record<string, string>,
  body?: Uint8Array,
): Promise<H2Answer> {
  const session = http2Connect(`http://127.0.0.1:${port}`);
  cleanups.push(() => session.destroy());
  const stream = session.request({ ":method": "GET", ":path": "/", ...headers });
  return await new Promise<H2Answer>((resolve, reject) => {
    const answer: H2Answer = { headers: {}, endStream: false, dataFrames: 0, body: "" };
    stream.on("response", (h, flags) => {
      answer.headers = h;
      answer.endStream = (flags & 1) !== 0;
    });
    stream.on("data", (chunk: Buffer) => {
      answer.dataFrames++;
      answer.body += chunk.toString();
    });
    stream.on("error", reject);
    stream.on("close", () => resolve(answer));
    stream.end(body);
  });
}

describe("router: invalid upstream status", () => {
  it("answers an upstream status outside 100–599 with a 502 protocol error, also to HTTP/2", async () => {
    const upstream = createNetServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 600 Weird\r\ncontent-length: 2\r\n\r\nok"));
    });
    const proxy = await proxyTo(await listen(upstream));
    const answer = await h2Request(proxy.port, {});
    expect(answer.headers[":status"]).toBe(502);
    expect(answer.body).toBe(
      "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
    );
    const h1 = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(h1.status).toBe(502);
    await h1.text();
  });
});

describe("router: gRPC over an HTTP/2 upstream", () => {
  it("forwards a trailers-only response as one HEADERS frame with END_STREAM", async () => {
    const upstream = createHttp2Server();
    upstream.on("stream", (stream) => {
      stream.resume();
      stream.on("end", () =>
        stream.respond(
          {
            ":status": 200,
            "content-type": "application/grpc",
            "grpc-status": "5",
            "grpc-message": "nope",
          },
          { endStream: true },
        ),
      );
    });
    const proxy = await proxyTo(await listen(upstream as unknown as Server), {
      cluster: H2_CLUSTER,
    });
    const answer = await h2Request(
      proxy.port,
      { ":method": "POST", "content-type": "application/grpc", te: "trailers" },
      new Uint8Array(5),
    );
    expect(answer.headers["grpc-status"]).toBe("5");
    expect(answer.headers["grpc-message"]).toBe("nope");
    expect(answer.endStream).toBe(true);
    expect(answer.dataFrames).toBe(0);
  });

  it("feeds outlier detection the HTTP status a trailers-only gRPC status maps to (14 → 503)", async () => {
    const upstream = createHttp2Server();
    upstream.on("stream", (stream) => {
      stream.resume();
      stream.on("end", () =>
        stream.respond(
          { ":status": 200, "content-type": "application/grpc", "grpc-status": "14" },
          { endStream: true },
        ),
      );
    });
    const proxy = await proxyTo(await listen(upstream as unknown as Server), {
      cluster: {
        ...H2_CLUSTER,
        outlier_detection: {
          consecutive_5xx: 2,
          enforcing_consecutive_5xx: 100,
          max_ejection_percent: 100,
        },
      },
    });
    const grpcHeaders = { ":method": "POST", "content-type": "application/grpc", te: "trailers" };
    const cluster = proxy.clusters.cluster("up")!;
    const host = cluster.hostSet!.hosts[0]!;
    await h2Request(proxy.port, grpcHeaders, new Uint8Array(5));
    expect(cluster.outlierDetector!.isEjected(host)).toBe(false);
    await h2Request(proxy.port, grpcHeaders, new Uint8Array(5));
    expect(cluster.outlierDetector!.isEjected(host)).toBe(true);
  });
});

describe("router: active requests of aborted attempts", () => {
  it("ends the attempt's bookkeeping on the route timeout and on a client disconnect", async () => {
    const upstreamClosed: Array<() => void> = [];
    const upstream = createHttpServer((req: IncomingMessage) => {
      // Never answers; tells the test when the proxy gives up on the request.
      req.socket.once("close", () => upstreamClosed.shift()?.());
    });
    const proxy = await proxyTo(await listen(upstream), {
      route: { match: { prefix: "/" }, route: { cluster: "up", timeout: "0.05s" } },
    });
    const host = proxy.clusters.cluster("up")!.hostSet!.hosts[0]!;
    const active = clusterStats(proxy.stats, "up").upstreamRqActive;

    const timedOut = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(timedOut.status).toBe(504);
    await timedOut.text();
    expect(host.stats.activeRequests).toBe(0);
    expect(active.value).toBe(0);

    const closed = new Promise<void>((resolve) => upstreamClosed.push(resolve));
    const client = request({ port: proxy.port, host: "127.0.0.1", path: "/" });
    client.on("error", () => {});
    upstream.once("request", () => client.destroy());
    client.end();
    await closed;
    expect(host.stats.activeRequests).toBe(0);
    expect(active.value).toBe(0);
  });
});

describe("router: timeouts beyond Node's timer limit", () => {
  it("does not answer 504 at once for a route timeout of 720h", async () => {
    const upstream = createHttpServer((_req, res) => {
      // Long enough that a timer clamped to 1 ms fires first.
      setTimeout(() => res.end("ok"), 30);
    });
    const proxy = await proxyTo(await listen(upstream), {
      route: {
        match: { prefix: "/" },
        route: {
          cluster: "up",
          timeout: "2592000s",
          retry_policy: { per_try_timeout: "2592000s" },
        },
      },
    });
    const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("ok");
  });
});

describe("router: a response that ends before the request body", () => {
  it("keeps the HTTP/1.1 connection serving its next request", async () => {
    // The upstream answers without reading the upload, as a server rejecting it would.
    const upstream = createHttpServer((req, res) => res.end(`early ${req.url}`));
    const proxy = await proxyTo(await listen(upstream));
    const client = createNetConnection(proxy.port, "127.0.0.1");
    cleanups.push(() => client.destroy());
    client.on("error", () => {});
    const upload = "x".repeat(200_000);
    let received = "";
    const responses = (n: number) =>
      new Promise<void>((resolve) => {
        const check = (): void => {
          if ((received.match(/HTTP\/1\.1 200/g) ?? []).length >= n) {
            client.off("data", onData);
            resolve();
          }
        };
        const onData = (chunk: Buffer): void => {
          received += chunk.toString();
          check();
        };
        client.on("data", onData);
        check();
      });
    client.write(
      `POST /first HTTP/1.1\r\nhost: x\r\ncontent-length: ${upload.length + 3}\r\n\r\nabc`,
    );
    await responses(1);
    client.write(`${upload}GET /second HTTP/1.1\r\nhost: x\r\n\r\n`);
    await responses(2);
    expect(received).toContain("early /second");
  });
});

describe("router: the retries circuit breaker", () => {
  it("holds a retry's slot until the retried attempt ends (max_retries 1: a second retry overflows)", async () => {
    const held: Array<() => void> = [];
    const seen = new Map<string, number>();
    const upstream = createHttpServer((req, res) => {
      const count = (seen.get(req.url ?? "") ?? 0) + 1;
      seen.set(req.url ?? "", count);
      if (count === 1) {
        res.statusCode = 503;
        res.end("first attempt fails");
      } else held.push(() => res.end("retried"));
    });
    cleanups.push(() => {
      for (const finish of held) finish();
    });
    const proxy = await proxyTo(await listen(upstream), {
      route: {
        match: { prefix: "/" },
        route: { cluster: "up", retry_policy: { retry_on: "5xx", num_retries: 1 } },
      },
      cluster: { circuit_breakers: { thresholds: [{ max_retries: 1 }] } },
    });
    const first = fetch(`http://127.0.0.1:${proxy.port}/a`);
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // The first request's retry is in flight and holds the only retry slot.
    const second = await fetch(`http://127.0.0.1:${proxy.port}/b`);
    expect(second.status).toBe(503);
    expect(await second.text()).toBe("first attempt fails");
    held.shift()!();
    const answer = await first;
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe("retried");
  });
});
