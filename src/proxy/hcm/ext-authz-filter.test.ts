// ext_authz through a real listener, HTTP connection manager and static clusters on port-0
// loopback sockets: an HTTP and a gRPC authorizer run in the test, behind Istio's CUSTOM marker
// (a shadow RBAC filter), and answer allow, deny, garbage, nothing, or are not there at all.
import { createServer as createHttpServer, type IncomingMessage, request } from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../base/clock.ts";
import { messageType } from "../../xds/envoy-protos.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { startHttpListener } from "../runtime/listener-manager-testing.ts";
import { StatsStore } from "../stats/stats-store.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { decodeExtAuthz } from "./ext-authz-config.ts";

const ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const RBAC = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
const EXT_AUTHZ = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz";
const H2 = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** Istio's CUSTOM marker: requests under /secure get the shadow policy id ext_authz waits for. */
const MARKER: JsonObject = {
  name: "envoy.filters.http.rbac",
  typed_config: {
    "@type": RBAC,
    shadow_rules: {
      action: "DENY",
      policies: {
        "istio-ext-authz-ns[foo]-policy[p]-rule[0]": {
          permissions: [{ url_path: { path: { prefix: "/secure" } } }],
          principals: [{ any: true }],
        },
      },
    },
    shadow_rules_stat_prefix: "istio_ext_authz_",
  },
};

const ENABLED = {
  filter: "envoy.filters.http.rbac",
  path: [{ key: "istio_ext_authz_shadow_effective_policy_id" }],
  value: { string_match: { prefix: "istio-ext-authz" } },
};

function httpExtAuthz(extra: JsonObject = {}, service: JsonObject = {}): JsonObject {
  return {
    name: "envoy.filters.http.ext_authz",
    typed_config: {
      "@type": EXT_AUTHZ,
      transport_api_version: "V3",
      filter_enabled_metadata: ENABLED,
      http_service: {
        server_uri: { uri: "http://authz", cluster: "authz", timeout: "2s" },
        path_prefix: "/check",
        authorization_request: {
          allowed_headers: { patterns: [{ exact: "x-user", ignore_case: true }] },
        },
        authorization_response: {
          allowed_upstream_headers: { patterns: [{ exact: "x-authz-result" }] },
          allowed_client_headers: { patterns: [{ exact: "x-reason" }] },
          allowed_client_headers_on_success: { patterns: [{ exact: "x-on-success" }] },
        },
        ...service,
      },
      ...extra,
    },
  };
}

function grpcExtAuthz(extra: JsonObject = {}): JsonObject {
  return {
    name: "envoy.filters.http.ext_authz",
    typed_config: {
      "@type": EXT_AUTHZ,
      transport_api_version: "V3",
      filter_enabled_metadata: ENABLED,
      grpc_service: {
        envoy_grpc: { cluster_name: "authz", authority: "outbound_.9000_._.authz" },
        timeout: "2s",
      },
      ...extra,
    },
  };
}

function cluster(name: string, port: number, extra: JsonObject = {}): [string, JsonObject] {
  return [
    name,
    {
      name,
      type: "STATIC",
      connect_timeout: "1s",
      load_assignment: {
        cluster_name: name,
        endpoints: [
          {
            lb_endpoints: [
              {
                endpoint: {
                  address: { socket_address: { address: "127.0.0.1", port_value: port } },
                },
              },
            ],
          },
        ],
      },
      ...extra,
    },
  ];
}

async function listen(server: ReturnType<typeof createHttpServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

/** The app: echoes what it received as JSON. */
async function startApp(): Promise<number> {
  return listen(
    createHttpServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ path: req.url, headers: req.headers }));
    }),
  );
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Proxy {
  port: number;
  stats: StatsStore;
}

async function startProxy(
  authzPort: number,
  extAuthz: JsonObject,
  options: { grpc?: boolean } = {},
): Promise<Proxy> {
  const appPort = await startApp();
  const clusters = new ClusterManager({ clock: systemClock(), onEdsNames: () => {} });
  const h2 = {
    typed_extension_protocol_options: {
      [H2]: {
        "@type": `type.googleapis.com/${H2}`,
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  };
  const cds = clusters.cdsHandler().apply({
    added: new Map([cluster("up", appPort), cluster("authz", authzPort, options.grpc ? h2 : {})]),
    removed: [],
    full: true,
    version: "1",
    versions: new Map([
      ["up", "1"],
      ["authz", "1"],
    ]),
  });
  expect(cds.errors).toEqual([]);
  const stats = new StatsStore();
  const listener = await startHttpListener(
    clusters,
    {
      stat_prefix: "inbound",
      route_config: {
        name: "r",
        virtual_hosts: [
          {
            name: "v",
            domains: ["*"],
            routes: [{ match: { prefix: "/" }, route: { cluster: "up" } }],
          },
        ],
      },
      http_filters: [
        MARKER,
        extAuthz,
        { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER } },
      ],
    },
    stats,
  );
  cleanups.push(() => {
    listener.close();
    clusters.close();
  });
  return { port: listener.port, stats };
}

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const counter = (stats: StatsStore, name: string) =>
  stats.counter(`http.inbound.ext_authz.${name}`).value;

describe("ext_authz with an HTTP authorizer", () => {
  interface Answer {
    status: number;
    headers?: Record<string, string>;
    body?: string;
  }

  async function authorizer(answer: (req: IncomingMessage) => Answer) {
    const seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"] }> = [];
    const port = await listen(
      createHttpServer((req, res) => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers });
        const a = answer(req);
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? "");
      }),
    );
    return { port, seen };
  }

  it("asks only for requests the CUSTOM marker matched, and adds the allowed headers", async () => {
    const authz = await authorizer(
      (req): Answer =>
        req.headers["x-user"] === "alice"
          ? {
              status: 200,
              headers: { "x-authz-result": "allowed", "x-on-success": "yes", "x-other": "no" },
            }
          : {
              status: 401,
              headers: { "x-reason": "who are you", "x-other": "no" },
              body: "denied by authz",
            },
    );
    const proxy = await startProxy(authz.port, httpExtAuthz());
    const open = await get(proxy.port, "/public");
    expect(open.status).toBe(200);
    expect(authz.seen).toEqual([]);

    const allowed = await get(proxy.port, "/secure/x?q=1", { "x-user": "alice", "x-secret": "s" });
    expect(allowed.status).toBe(200);
    expect(allowed.headers["x-on-success"]).toBe("yes");
    const app = JSON.parse(allowed.body) as { headers: Record<string, string> };
    expect(app.headers["x-authz-result"]).toBe("allowed");
    expect(app.headers["x-other"]).toBeUndefined();
    expect(authz.seen[0]).toMatchObject({ method: "GET", url: "/check/secure/x?q=1" });
    expect(authz.seen[0]!.headers["x-user"]).toBe("alice");
    expect(authz.seen[0]!.headers["x-secret"]).toBeUndefined();

    const denied = await get(proxy.port, "/secure/x", { "x-user": "mallory" });
    expect(denied).toMatchObject({ status: 401, body: "denied by authz" });
    expect(denied.headers["x-reason"]).toBe("who are you");
    expect(denied.headers["x-other"]).toBeUndefined();
    expect(authz.seen).toHaveLength(2);
    expect([counter(proxy.stats, "ok"), counter(proxy.stats, "denied")]).toEqual([1, 1]);
  });

  it("answers status_on_error when the authorizer is gone, or lets through with failure_mode_allow", async () => {
    const port = await deadPort();
    const closed = await startProxy(port, httpExtAuthz());
    expect((await get(closed.port, "/secure")).status).toBe(403);
    expect(counter(closed.stats, "error")).toBe(1);

    const custom = await startProxy(port, httpExtAuthz({ status_on_error: { code: 503 } }));
    expect((await get(custom.port, "/secure")).status).toBe(503);

    const open = await startProxy(port, httpExtAuthz({ failure_mode_allow: true }));
    expect((await get(open.port, "/secure")).status).toBe(200);
    expect(counter(open.stats, "failure_mode_allowed")).toBe(1);
  });

  it("gives up on an authorizer that never answers within the timeout", async () => {
    const hung = await listen(createHttpServer(() => {}));
    const proxy = await startProxy(
      hung,
      httpExtAuthz({}, { server_uri: { uri: "http://authz", cluster: "authz", timeout: "0.1s" } }),
    );
    expect((await get(proxy.port, "/secure")).status).toBe(403);
    expect(counter(proxy.stats, "error")).toBe(1);
  });
});

describe("ext_authz with a gRPC authorizer", () => {
  async function grpcAuthorizer(): Promise<{ port: number; calls: JsonObject[] }> {
    const request = messageType("envoy.service.auth.v3.CheckRequest");
    const response = messageType("envoy.service.auth.v3.CheckResponse");
    const calls: JsonObject[] = [];
    const server = new grpc.Server();
    server.register<Buffer, Buffer>(
      "/envoy.service.auth.v3.Authorization/Check",
      (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const check = request.toObject(request.decode(call.request)) as JsonObject;
        calls.push(check);
        const http = (
          check.attributes as { request: { http: { headers: Record<string, string> } } }
        ).request.http;
        const answer =
          http.headers["x-user"] === "alice"
            ? {
                status: { code: 0 },
                ok_response: {
                  headers: [{ header: { key: "x-authz-result", value: "grpc-allowed" } }],
                  headers_to_remove: ["x-user"],
                },
              }
            : {
                status: { code: 7 },
                denied_response: {
                  status: { code: 418 },
                  headers: [{ header: { key: "x-reason", value: "teapot" } }],
                  body: "no tea",
                },
              };
        callback(null, Buffer.from(response.encode(response.fromObject(answer)).finish()));
      },
      (b: Buffer) => b,
      (b: Buffer) => b,
      "unary",
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    cleanups.push(() => server.forceShutdown());
    return { port, calls };
  }

  it("allows with the authorizer's header mutations and denies with its response", async () => {
    const authz = await grpcAuthorizer();
    const proxy = await startProxy(authz.port, grpcExtAuthz(), { grpc: true });
    expect((await get(proxy.port, "/public")).status).toBe(200);
    expect(authz.calls).toEqual([]);

    const allowed = await get(proxy.port, "/secure/a", { "x-user": "alice" });
    expect(allowed.status).toBe(200);
    const app = JSON.parse(allowed.body) as { headers: Record<string, string> };
    expect(app.headers["x-authz-result"]).toBe("grpc-allowed");
    expect(app.headers["x-user"]).toBeUndefined();
    expect(authz.calls[0]).toMatchObject({
      attributes: { request: { http: { method: "GET", path: "/secure/a" } } },
    });

    const denied = await get(proxy.port, "/secure/a", { "x-user": "bob" });
    expect(denied).toMatchObject({ status: 418, body: "no tea" });
    expect(denied.headers["x-reason"]).toBe("teapot");
    expect([counter(proxy.stats, "ok"), counter(proxy.stats, "denied")]).toEqual([1, 1]);
  });

  it("fails closed when the gRPC authorizer is gone, within the timeout", async () => {
    const proxy = await startProxy(await deadPort(), grpcExtAuthz(), { grpc: true });
    expect((await get(proxy.port, "/secure")).status).toBe(403);
    expect(counter(proxy.stats, "error")).toBe(1);
  });
});

describe("decodeExtAuthz", () => {
  it("reads status_on_error by number or by the name xDS JSON carries", () => {
    const config = (code: unknown) =>
      decodeExtAuthz({ ...(grpcExtAuthz().typed_config as JsonObject), status_on_error: { code } });
    const codes = [503, "ServiceUnavailable", "Forbidden"].map((code) => {
      const decoded = config(code);
      return decoded.ok ? decoded.config.statusOnError : decoded.errors;
    });
    expect(codes).toEqual([503, 503, 403]);
    expect(config("Teapot")).toMatchObject({
      ok: false,
      errors: ["status_on_error.code: expected a status code of envoy.type.v3.StatusCode"],
    });
  });

  it("names every field the proxy cannot honour", () => {
    const decoded = decodeExtAuthz({
      transport_api_version: "V2",
      with_request_body: { max_request_bytes: 10 },
      grpc_service: { google_grpc: { target_uri: "x" } },
      http_service: { server_uri: { uri: "http://x", cluster: "c", timeout: "1s" } },
      bogus: true,
    });
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.errors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^with_request_body: /),
        expect.stringMatching(/^transport_api_version: /),
        expect.stringMatching(/only one of http_service, grpc_service/),
        expect.stringMatching(/^bogus: unknown field/),
      ]),
    );
  });
});
