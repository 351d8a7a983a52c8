// The router through a real listener, HTTP connection manager and static cluster on port-0
// loopback sockets: invalid upstream statuses, gRPC trailers-only responses, the load balancer's
// active-request bookkeeping on aborted attempts, timeouts beyond Node's timer limit, and gRPC
// statuses in outlier detection.

import { Agent, createServer as createHttpServer, type IncomingMessage, request } from "node:http";
import { createServer as createHttp2Server, connect as http2Connect } from "node:http2";
import {
  type AddressInfo,
  connect as createNetConnection,
  createServer as createNetServer,
  type Server,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { newStreamInfo } from "../http/stream-info.ts";
import type { RouterFilterConfig } from "../listener/types.ts";
import {
  decodeRouteConfiguration,
  releaseRouteConfiguration,
  selectRoute,
} from "../routing/index.ts";
import type { ForwardAction, MutableHeaders } from "../routing/types.ts";
import { startHttpListener } from "../runtime/listener-manager-testing.ts";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import type { Downstream, LocalReplyRequest } from "./downstream.ts";
import { RequestBody } from "./request-body.ts";
import { routeToCluster } from "./router.ts";
import { connectionStreamFields } from "./stream-record.ts";
import { ConnectionPools } from "./upstream-pools.ts";

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

/** Cluster "up": one static host on `upstreamPort`. */
function staticCluster(upstreamPort: number, extra: JsonObject = {}): ClusterManager {
  const clusters = new ClusterManager({ clock: systemClock(), onEdsNames: () => {} });
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
          ...extra,
        },
      ],
    ]),
    removed: [],
    full: true,
    version: "1",
    versions: new Map([["up", "1"]]),
  });
  expect(cds.errors).toEqual([]);
  return clusters;
}

/** A listener on port 0 routing everything to cluster "up" (one static host). */
async function proxyTo(
  upstreamPort: number,
  options: {
    route?: JsonObject;
    cluster?: JsonObject;
    router?: JsonObject;
    virtualHost?: JsonObject;
    /** HTTP filters before the router. */
    filters?: JsonObject[];
  } = {},
): Promise<Proxy> {
  const clusters = staticCluster(upstreamPort, options.cluster);
  const stats = new StatsStore();
  const listener = await startHttpListener(
    clusters,
    {
      stat_prefix: "x",
      route_config: {
        name: "r",
        virtual_hosts: [
          {
            name: "v",
            domains: ["*"],
            routes: [options.route ?? { match: { prefix: "/" }, route: { cluster: "up" } }],
            ...options.virtualHost,
          },
        ],
      },
      http_filters: [
        ...(options.filters ?? []),
        { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER, ...options.router } },
      ],
    },
    stats,
  );
  cleanups.push(() => {
    listener.close();
    clusters.close();
  });
  return { port: listener.port, clusters, stats };
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

/** A loopback port nothing listens on (bound, then released). */
async function deadPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

interface Answer {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** Reads one node:http response in full. */
function answerOf(response: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let body = "";
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      body += chunk;
    });
    response.on("end", () =>
      resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
    );
    response.on("error", reject);
  });
}

/** A POST whose body is sent in two parts: `finish()` sends the rest. */
function splitUpload(
  port: number,
  path: string,
): { response: Promise<Answer>; finish: () => void } {
  const client = request({
    port,
    host: "127.0.0.1",
    path,
    method: "POST",
    headers: { "content-length": "6" },
  });
  cleanups.push(() => client.destroy());
  const response = new Promise<Answer>((resolve, reject) => {
    client.on("response", (res) => resolve(answerOf(res)));
    client.on("error", reject);
  });
  client.write("abc");
  return { response, finish: () => client.end("def") };
}

/** An upstream answering `got <body>` once the request body ends; `/hang` is never answered. */
function echoUpstream(): ReturnType<typeof createHttpServer> {
  return createHttpServer((req, res) => {
    if (req.url === "/hang") return;
    let body = "";
    req.on("data", (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on("end", () => res.end(`got ${body}`));
  });
}

describe("router: local replies", () => {
  const route = (extra: JsonObject): JsonObject => ({
    match: { prefix: "/" },
    route: { cluster: "up", ...extra },
    response_headers_to_add: [{ header: { key: "x-route", value: "local" } }],
  });

  it("carry the route's response header mutations on a connect failure (503 UF)", async () => {
    const proxy = await proxyTo(await deadPort(), { route: route({}) });
    const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-route")).toBe("local");
    await response.text();
  });

  it("carry the route's response header mutations on the route timeout (504 UT)", async () => {
    const proxy = await proxyTo(await listen(echoUpstream()), {
      route: route({ timeout: "0.05s" }),
    });
    const response = await fetch(`http://127.0.0.1:${proxy.port}/hang`);
    expect(response.status).toBe(504);
    expect(response.headers.get("x-route")).toBe("local");
    await response.text();
  });
});

describe("router: a retry before the request body is complete", () => {
  it("resets the failed attempt, so its upstream connection is freed", async () => {
    let firstClosed!: () => void;
    const closed = new Promise<void>((resolve) => {
      firstClosed = resolve;
    });
    let seen = 0;
    const upstream = createHttpServer((req, res) => {
      if (++seen === 1) {
        // An empty 503 without reading the upload: only the unfinished request is left open.
        req.socket.once("close", firstClosed);
        res.writeHead(503, { "content-length": "0" });
        res.end();
        return;
      }
      let body = "";
      req.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on("end", () => res.end(`got ${body}`));
    });
    // Only the proxy may close the first connection (node would after its 5 s keep-alive timeout).
    upstream.keepAliveTimeout = 0;
    const proxy = await proxyTo(await listen(upstream), {
      route: {
        match: { prefix: "/" },
        route: { cluster: "up", retry_policy: { retry_on: "5xx", num_retries: 1 } },
      },
    });
    const upload = splitUpload(proxy.port, "/");
    await closed;
    upload.finish();
    const answer = await upload.response;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("got abcdef");
  });
});

describe("router: timeouts start when the request is complete", () => {
  it.each([
    ["route timeout", { timeout: "0.05s" }],
    ["per-try timeout", { timeout: "0s", retry_policy: { per_try_timeout: "0.05s" } }],
  ])("does not cut a slow upload short with the %s", async (_name, timeouts) => {
    const upstream = echoUpstream();
    const uploadArrived = new Promise<void>((resolve) => {
      upstream.on("request", (req: IncomingMessage) => {
        if (req.url === "/upload") req.once("data", () => resolve());
      });
    });
    const proxy = await proxyTo(await listen(upstream), {
      route: { match: { prefix: "/" }, route: { cluster: "up", ...timeouts } },
    });
    const upload = splitUpload(proxy.port, "/upload");
    await uploadArrived;
    // A request started later with the same timeout times out first: had the upload's timer
    // started at its headers, it would have fired before this one.
    const later = await fetch(`http://127.0.0.1:${proxy.port}/hang`);
    expect(later.status).toBe(504);
    await later.text();
    upload.finish();
    const answer = await upload.response;
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("got abcdef");
  });

  it("sends x-envoy-upstream-service-time only for a response to a complete request", async () => {
    const upstream = createHttpServer((req, res) => {
      if (req.method === "POST") res.end("early");
      else req.resume().on("end", () => res.end("ok"));
    });
    const proxy = await proxyTo(await listen(upstream));
    const upload = splitUpload(proxy.port, "/");
    const early = await upload.response;
    expect(early.body).toBe("early");
    expect(early.headers["x-envoy-upstream-service-time"]).toBeUndefined();
    upload.finish();
    const complete = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(complete.headers.get("x-envoy-upstream-service-time")).toMatch(/^\d+$/);
    await complete.text();
  });
});

describe("router: malformed upstream HTTP/1.1 responses", () => {
  it("answers a response the HTTP/1.1 codec rejects with 502 protocol error (UPE)", async () => {
    const upstream = createNetServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nbad header line\r\n\r\n"));
    });
    const proxy = await proxyTo(await listen(upstream));
    const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(response.status).toBe(502);
    expect(await response.text()).toBe(
      "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
    );
  });
});

describe("router: x-envoy-expected-rq-timeout-ms", () => {
  it("carries the per-try timeout when the route has no timeout", async () => {
    const seen: Array<string | string[] | undefined> = [];
    const upstream = createHttpServer((req, res) => {
      seen.push(req.headers["x-envoy-expected-rq-timeout-ms"]);
      res.end("ok");
    });
    const proxy = await proxyTo(await listen(upstream), {
      route: {
        match: { prefix: "/" },
        route: { cluster: "up", timeout: "0s", retry_policy: { per_try_timeout: "2s" } },
      },
    });
    const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
    await response.text();
    expect(seen).toEqual(["2000"]);
  });
});

interface DirectAnswer {
  status: number;
  headers: MutableHeaders;
}

/**
 * One GET through routeToCluster with a given router filter config (what the HCM passes from its
 * http_filters), answered into a recording downstream.
 */
async function routeDirect(
  upstreamPort: number,
  options: {
    route?: JsonObject;
    cluster?: JsonObject;
    routerConfig: RouterFilterConfig;
    includeAttemptCountInResponse?: boolean;
  },
): Promise<DirectAnswer> {
  const clusters = staticCluster(upstreamPort, options.cluster);
  const pools = new ConnectionPools();
  cleanups.push(() => {
    pools.close();
    clusters.close();
  });
  const compiled = decodeRouteConfiguration({
    name: "r",
    virtual_hosts: [
      {
        name: "v",
        domains: ["*"],
        routes: [options.route ?? { match: { prefix: "/" }, route: { cluster: "up" } }],
      },
    ],
  });
  if (!compiled.ok) throw new Error(compiled.errors.join("\n"));
  cleanups.push(() => releaseRouteConfiguration(compiled.value));
  const routeRequest = { authority: "x", path: "/", method: "GET", scheme: "http", headers: {} };
  const selection = selectRoute(compiled.value, routeRequest);
  if (selection.noRoute) throw new Error("no route");
  return await new Promise<DirectAnswer>((resolve) => {
    const downstream: Downstream = {
      protocol: "http1",
      headersSent: false,
      closed: false,
      writeHead: (status, headers) => resolve({ status, headers }),
      write: () => true,
      onDrain: () => {},
      end: () => {},
      sendLocalReply: (reply: LocalReplyRequest) =>
        resolve({ status: reply.status, headers: { ...reply.headers } }),
      reset: () => {},
      onClose: () => {},
      flags: [],
      info: newStreamInfo({ ...connectionStreamFields(undefined), protocol: "HTTP/1.1" }),
    };
    routeToCluster(
      { clusters, pools, stats: new StatsStore(), random: Math.random },
      {
        action: selection.action as ForwardAction,
        clusterName: "up",
        routeRequest,
        method: "GET",
        authority: "x",
        path: "/",
        scheme: "http",
        headers: {},
        grpc: false,
        body: new RequestBody(undefined, 0),
        downstream,
        includeAttemptCount: false,
        includeAttemptCountInResponse: options.includeAttemptCountInResponse ?? false,
        routerConfig: options.routerConfig,
      },
    );
  });
}

describe("router: the router filter's config", () => {
  const plain = { suppressEnvoyHeaders: false, respectExpectedRqTimeout: false };
  const suppress = { suppressEnvoyHeaders: true, respectExpectedRqTimeout: false };

  it("suppress_envoy_headers: no x-envoy-upstream-service-time nor x-envoy-expected-rq-timeout-ms", async () => {
    const seen: Array<string | string[] | undefined> = [];
    const upstream = createHttpServer((req, res) => {
      seen.push(req.headers["x-envoy-expected-rq-timeout-ms"]);
      res.end("ok");
    });
    const port = await listen(upstream);
    const shown = await routeDirect(port, { routerConfig: plain });
    expect(shown.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    const hidden = await routeDirect(port, { routerConfig: suppress });
    expect(hidden.status).toBe(200);
    expect(hidden.headers["x-envoy-upstream-service-time"]).toBeUndefined();
    expect(seen).toEqual(["15000", undefined]);
  });

  it("suppress_envoy_headers: no x-envoy-overloaded on a circuit-breaker overflow", async () => {
    const cluster = { circuit_breakers: { thresholds: [{ max_requests: 0 }] } };
    const port = await deadPort();
    const shown = await routeDirect(port, { cluster, routerConfig: plain });
    expect(shown.status).toBe(503);
    expect(shown.headers["x-envoy-overloaded"]).toBe("true");
    const hidden = await routeDirect(port, { cluster, routerConfig: suppress });
    expect(hidden.status).toBe(503);
    expect(hidden.headers["x-envoy-overloaded"]).toBeUndefined();
  });

  it("include_attempt_count_in_response: x-envoy-attempt-count, even with suppress_envoy_headers", async () => {
    let seen = 0;
    const upstream = createHttpServer((_req, res) => {
      res.statusCode = ++seen === 1 ? 503 : 200;
      res.end();
    });
    const answer = await routeDirect(await listen(upstream), {
      route: {
        match: { prefix: "/" },
        route: { cluster: "up", retry_policy: { retry_on: "5xx", num_retries: 1 } },
      },
      includeAttemptCountInResponse: true,
      routerConfig: suppress,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["x-envoy-attempt-count"]).toBe("2");
  });
});

describe("router: the Router filter's and the virtual host's settings, through the listener", () => {
  it("suppresses x-envoy-* response headers and adds x-envoy-attempt-count when configured", async () => {
    const upstream = createHttpServer((_req, res) => res.end("ok"));
    const port = await listen(upstream);
    const plain = await fetch(`http://127.0.0.1:${(await proxyTo(port)).port}/`);
    expect(plain.headers.get("x-envoy-upstream-service-time")).not.toBeNull();
    expect(plain.headers.get("x-envoy-attempt-count")).toBeNull();
    const proxy = await proxyTo(port, {
      router: { suppress_envoy_headers: true },
      virtualHost: { include_attempt_count_in_response: true },
    });
    const answer = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(await answer.text()).toBe("ok");
    expect(answer.headers.get("x-envoy-upstream-service-time")).toBeNull();
    expect(answer.headers.get("x-envoy-attempt-count")).toBe("1");
  });
});

/** An HTTP/1.1 upstream answering with the request headers it got, as JSON. */
function headersEcho(): Server {
  return createHttpServer((req, res) => res.end(JSON.stringify(req.headers)));
}

describe("router: local replies made before the router", () => {
  const route = (target: JsonObject): JsonObject => ({
    match: { prefix: "/" },
    route: target,
    response_headers_to_add: [{ header: { key: "x-route", value: "local" } }],
    response_headers_to_remove: ["x-gone"],
  });

  it("a fault abort carries the route's response header mutations", async () => {
    const fault = {
      name: "envoy.filters.http.fault",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
        abort: { http_status: 418, percentage: { numerator: 100 } },
      },
    };
    const proxy = await proxyTo(await deadPort(), {
      route: route({ cluster: "up" }),
      filters: [fault],
    });
    const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(response.status).toBe(418);
    expect(response.headers.get("x-route")).toBe("local");
    expect(await response.text()).toBe("fault filter abort");
  });

  it("a cluster not found (NC) carries the route's response header mutations", async () => {
    const proxy = await proxyTo(await deadPort(), { route: route({ cluster: "missing" }) });
    const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(response.status).toBe(503);
    expect(response.headers.get("x-route")).toBe("local");
    await response.text();
  });
});

describe("router: gRPC timeouts", () => {
  const grpc = { ":method": "POST", "content-type": "application/grpc", te: "trailers" };

  it("rewrites grpc-timeout to the expected timeout under max_grpc_timeout, even with suppress_envoy_headers", async () => {
    const port = await listen(headersEcho());
    const proxy = await proxyTo(port, {
      route: { match: { prefix: "/" }, route: { cluster: "up", max_grpc_timeout: "2s" } },
      router: { suppress_envoy_headers: true },
    });
    const capped = JSON.parse(
      (await h2Request(proxy.port, { ...grpc, "grpc-timeout": "10S" })).body,
    );
    expect(capped["grpc-timeout"]).toBe("2000m");
    expect(capped["x-envoy-expected-rq-timeout-ms"]).toBeUndefined();
    // No deadline from the client: max_grpc_timeout is the timeout, and the upstream learns it.
    const none = JSON.parse((await h2Request(proxy.port, grpc)).body);
    expect(none["grpc-timeout"]).toBe("2000m");
  });

  it("leaves grpc-timeout alone without max_grpc_timeout", async () => {
    const port = await listen(headersEcho());
    const proxy = await proxyTo(port);
    const seen = JSON.parse((await h2Request(proxy.port, { ...grpc, "grpc-timeout": "10S" })).body);
    expect(seen["grpc-timeout"]).toBe("10S");
    expect(seen["x-envoy-expected-rq-timeout-ms"]).toBe("15000");
  });

  it("max_stream_duration: the stream ends at grpc_timeout_header_max (408/504 DEADLINE_EXCEEDED), route timeout unused", async () => {
    const upstream = createHttpServer(() => {});
    const proxy = await proxyTo(await listen(upstream), {
      route: {
        match: { prefix: "/" },
        route: {
          cluster: "up",
          timeout: "0.01s",
          max_stream_duration: { grpc_timeout_header_max: "0.2s" },
        },
        response_headers_to_add: [{ header: { key: "x-route", value: "local" } }],
      },
    });
    const answer = await h2Request(proxy.port, { ...grpc, "grpc-timeout": "10S" });
    expect(answer.headers[":status"]).toBe(200);
    expect(answer.headers["grpc-status"]).toBe("4");
    expect(answer.headers["x-route"]).toBe("local");
  });
});

describe("router: suppress_envoy_headers and path rewrites", () => {
  it("sends x-envoy-original-path only without suppress_envoy_headers", async () => {
    const port = await listen(headersEcho());
    const route = { match: { prefix: "/a" }, route: { cluster: "up", prefix_rewrite: "/b" } };
    const plain = await fetch(`http://127.0.0.1:${(await proxyTo(port, { route })).port}/a/x`);
    expect(((await plain.json()) as Record<string, string>)["x-envoy-original-path"]).toBe("/a/x");
    const proxy = await proxyTo(port, { route, router: { suppress_envoy_headers: true } });
    const hidden = await fetch(`http://127.0.0.1:${proxy.port}/a/x`);
    expect(
      ((await hidden.json()) as Record<string, string>)["x-envoy-original-path"],
    ).toBeUndefined();
  });
});

describe("fault filter stats", () => {
  const fault = (config: JsonObject): JsonObject => ({
    name: "envoy.filters.http.fault",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      ...config,
    },
  });
  const all = { percentage: { numerator: 100 } };

  it("counts http.<stat_prefix>.fault.delays_injected, aborts_injected and active_faults", async () => {
    const port = await listen(createHttpServer((_req, res) => res.end("ok")));
    const proxy = await proxyTo(port, {
      filters: [
        fault({
          delay: { fixed_delay: "0.001s", ...all },
          abort: { http_status: 503, ...all },
        }),
      ],
    });
    const stat = (name: string) => proxy.stats.counter(`http.x.fault.${name}`).value;
    const response = await fetch(`http://127.0.0.1:${proxy.port}/`);
    expect(response.status).toBe(503);
    await response.text();
    expect(stat("delays_injected")).toBe(1);
    expect(stat("aborts_injected")).toBe(1);
  });

  it("keeps a delayed stream in active_faults until it ends", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrived!: () => void;
    const upstreamSaw = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const slow = createHttpServer((_req, res) => {
      arrived();
      void held.then(() => res.end("ok"));
    });
    const proxy = await proxyTo(await listen(slow), {
      filters: [fault({ delay: { fixed_delay: "0.001s", ...all } })],
    });
    const active = proxy.stats.gauge("http.x.fault.active_faults");
    const pending = fetch(`http://127.0.0.1:${proxy.port}/`);
    await upstreamSaw;
    expect(active.value).toBe(1);
    release();
    const answer = await pending;
    expect(await answer.text()).toBe("ok");
    expect(proxy.stats.counter("http.x.fault.delays_injected").value).toBe(1);
    expect(proxy.stats.counter("http.x.fault.aborts_injected").value).toBe(0);
  });
});

describe("router: upstream connection stats of the HTTP pools", () => {
  it("counts connections opened, active and closed (upstream_cx_total / _active / _destroy)", async () => {
    const upstream = createHttpServer((_req, res) => res.end("ok"));
    const proxy = await proxyTo(await listen(upstream));
    const stats = clusterStats(proxy.stats, "up");
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    for (let i = 0; i < 3; i++) {
      const answer = await fetchVia(agent, proxy.port);
      expect(answer).toBe("ok");
    }
    // One client connection in sequence: the pool reuses one upstream connection.
    expect(stats.upstreamCxTotal.value).toBe(1);
    expect(stats.upstreamCxActive.value).toBe(1);
    upstream.closeAllConnections();
    while (stats.upstreamCxActive.value !== 0) await new Promise((r) => setImmediate(r));
    expect(stats.upstreamCxDestroy.value).toBe(1);
  });
});

function fetchVia(agent: Agent, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.once("end", () => resolve(body));
    });
    req.once("error", reject);
    req.end();
  });
}
