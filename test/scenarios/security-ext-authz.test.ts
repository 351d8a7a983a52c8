// AuthorizationPolicy `action: CUSTOM` end to end: the real control plane, given `--mesh-config`
// with four extension providers (an HTTP and a gRPC authorizer this test runs, a dead one, and the
// dead one with failOpen), registered as ServiceEntries with STATIC endpoints; a server sidecar in
// front of `crema echo` and a client sidecar, both with workload certificates (authorization is
// enforced only then). Each provider in turn guards /secure/*: allowed requests reach the app with
// the header the authorizer added, denied ones get the authorizer's answer, other paths never reach
// the authorizer, and a dead authorizer fails closed (403) or open. Loopback subnet 67.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  issueBootstrapToken,
  loadOrCreateBootstrapTokenKey,
} from "../../src/ca/bootstrap-token.ts";
import { messageType } from "../../src/xds/envoy-protos.ts";
import { everyProxyAcked } from "./support/control-plane-process.ts";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 67;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const SERVER = ip(1);
const CLIENT = ip(2);
const HTTP_AUTHZ = ip(9, 1);
const GRPC_AUTHZ = ip(9, 2);
const DEAD_AUTHZ = ip(9, 3);

const serviceEntry = (name: string, address: string, port: number, protocol: string) =>
  `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
  hosts: [${name}.authz.internal]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{name: p, number: ${port}, protocol: ${protocol}}]
  endpoints: [{address: ${address}}]
`;

const MESH_CONFIG = `extensionProviders:
- name: http-authz
  envoyExtAuthzHttp:
    service: http-authz.authz.internal
    port: 8000
    timeout: 2s
    statusOnError: "503"
    pathPrefix: /check
    includeRequestHeadersInCheck: [x-user]
    headersToUpstreamOnAllow: [x-authz-result]
    headersToDownstreamOnDeny: [x-reason]
- name: grpc-authz
  envoyExtAuthzGrpc:
    service: grpc-authz.authz.internal
    port: 9000
    timeout: 2s
- name: dead-authz
  envoyExtAuthzHttp: {service: dead-authz.authz.internal, port: 8000, timeout: 1s}
- name: dead-open-authz
  envoyExtAuthzHttp: {service: dead-authz.authz.internal, port: 8000, timeout: 1s, failOpen: true}
`;

/**
 * A connection accepted under the previous listener config keeps its filters while it drains, so
 * a pooled sidecar-to-sidecar connection could carry a request past a provider change.
 */
const ONE_REQUEST_PER_CONNECTION = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo.default.svc.cluster.local
  trafficPolicy: {connectionPool: {http: {maxRequestsPerConnection: 1}}}
`;

const customPolicy = (provider: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ext-authz, namespace: default}
spec:
  selector: {matchLabels: {app: echo}}
  action: CUSTOM
  provider: {name: ${provider}}
  rules:
    - to: [{operation: {paths: ["/secure/*"]}}]
`;

/** What the authorizers saw, by provider. */
const calls = { http: [] as string[], grpc: [] as string[] };

function startHttpAuthorizer(): Promise<Server> {
  const server = createServer((req, res) => {
    calls.http.push(req.url ?? "");
    if (req.headers["x-user"] === "alice") {
      res.writeHead(200, { "x-authz-result": "http-allowed" });
      res.end();
    } else {
      res.writeHead(401, { "x-reason": "unknown user", "content-type": "text/plain" });
      res.end("denied by http authz");
    }
  });
  return new Promise((resolve) => server.listen(8000, HTTP_AUTHZ, () => resolve(server)));
}

async function startGrpcAuthorizer(): Promise<grpc.Server> {
  const requestType = messageType("envoy.service.auth.v3.CheckRequest");
  const responseType = messageType("envoy.service.auth.v3.CheckResponse");
  const server = new grpc.Server();
  server.register<Buffer, Buffer>(
    "/envoy.service.auth.v3.Authorization/Check",
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const check = requestType.toObject(requestType.decode(call.request)) as {
        attributes: { request: { http: { path: string; headers: Record<string, string> } } };
      };
      const http = check.attributes.request.http;
      calls.grpc.push(http.path);
      const answer =
        http.headers["x-user"] === "alice"
          ? {
              status: { code: 0 },
              ok_response: {
                headers: [{ header: { key: "x-authz-result", value: "grpc-allowed" } }],
              },
            }
          : {
              status: { code: 7 },
              denied_response: { status: { code: 418 }, body: "denied by grpc authz" },
            };
      callback(null, Buffer.from(responseType.encode(responseType.fromObject(answer)).finish()));
    },
    (b: Buffer) => b,
    (b: Buffer) => b,
    "unary",
  );
  await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${GRPC_AUTHZ}:9000`, grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return server;
}

interface Reply {
  status: number;
  headers: IncomingMessage["headers"];
  body: string;
}

/** A request from the client app through its sidecar (15001) to the echo service. */
function send(path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: CLIENT,
        port: 15001,
        path: `http://echo.default.svc.cluster.local${path}`,
        headers: { host: "echo.default.svc.cluster.local", ...headers },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The header the app received, from crema echo's JSON description of the request. */
function appHeader(reply: Reply, name: string): unknown {
  return (JSON.parse(reply.body) as { headers: Record<string, unknown> }).headers[name];
}

let mesh: Mesh;
let caDir: string;
let httpAuthz: Server;
let grpcAuthz: grpc.Server;

/**
 * Applies a CUSTOM policy naming `provider` and waits until /secure/probe answers `status`, then
 * until the proxies have ACKed it: the echo sidecar runs a worker thread beside its main thread,
 * each request arrives on a new connection that either may take, and the probe may have met the
 * main thread while the worker still applied the policy before.
 */
async function useProvider(provider: string, status: number): Promise<void> {
  mesh.apply("policy.yaml", customPolicy(provider));
  let last: Reply | undefined;
  await until(
    `the ${provider} policy takes effect (/secure/probe answers ${status})`,
    async () => {
      last = await send("/secure/probe", { "x-user": "mallory" });
      return last.status === status;
    },
    { detail: () => `last reply: ${JSON.stringify(last)}` },
  );
  await until("every proxy has ACKed the policy", () => everyProxyAcked(mesh.controlPlane.httpUrl));
}

beforeAll(async () => {
  httpAuthz = await startHttpAuthorizer();
  grpcAuthz = await startGrpcAuthorizer();
  caDir = mkdtempSync(join(tmpdir(), "crema-ext-authz-"));
  const meshConfig = join(caDir, "mesh.yaml");
  writeFileSync(meshConfig, MESH_CONFIG);
  const config = `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: SERVER, labels: { app: "echo" }, ports: [8080] })}---
${podYaml({ name: "sleep-1", ip: CLIENT, labels: { app: "sleep" } })}---
${serviceEntry("http-authz", HTTP_AUTHZ, 8000, "HTTP")}---
${serviceEntry("grpc-authz", GRPC_AUTHZ, 9000, "GRPC")}---
${serviceEntry("dead-authz", DEAD_AUTHZ, 8000, "HTTP")}---
${ONE_REQUEST_PER_CONNECTION}`;
  mesh = await startMesh(SUBNET, config, {
    controlPlaneArgs: [
      "--ca-dir",
      caDir,
      "--secure-xds-address",
      "127.0.0.1:0",
      "--mesh-config",
      meshConfig,
    ],
  });
  // What a sidecar needs for its workload certificate (as bench/proxy.ts gives it).
  const key = await loadOrCreateBootstrapTokenKey(caDir);
  const token = await issueBootstrapToken(key, { namespace: "default", serviceAccount: "default" });
  const tokenFile = join(caDir, "token.jwt");
  writeFileSync(tokenFile, token);
  const certificates = [
    "--ca-address",
    mesh.controlPlane.secureXdsAddress!,
    "--ca-root-cert",
    join(caDir, "root-cert.pem"),
    "--token-file",
    tokenFile,
  ];
  await mesh.startEcho({ pod: "echo-1", ip: ip(1, 2) });
  await mesh.startProxy({
    pod: "echo-1",
    ip: SERVER,
    labels: { app: "echo" },
    appAddress: ip(1, 2),
    extraArgs: certificates,
  });
  await mesh.startProxy({
    pod: "sleep-1",
    ip: CLIENT,
    labels: { app: "sleep" },
    extraArgs: certificates,
  });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
  httpAuthz?.closeAllConnections();
  httpAuthz?.close();
  grpcAuthz?.forceShutdown();
  if (caDir) rmSync(caDir, { recursive: true, force: true });
}, 30_000);

describe("AuthorizationPolicy CUSTOM with external authorizers", () => {
  it("an HTTP authorizer allows, denies with its answer, and sees only the paths of the rule", async () => {
    await useProvider("http-authz", 401);
    calls.http.length = 0;
    const allowed = await send("/secure/data?x=1", { "x-user": "alice" });
    expect(allowed.status).toBe(200);
    expect(appHeader(allowed, "x-authz-result")).toBe("http-allowed");
    const denied = await send("/secure/data", { "x-user": "mallory" });
    expect(denied).toMatchObject({ status: 401, body: "denied by http authz" });
    expect(denied.headers["x-reason"]).toBe("unknown user");
    const open = await send("/public", { "x-user": "mallory" });
    expect(open.status).toBe(200);
    expect(calls.http).toEqual(["/check/secure/data?x=1", "/check/secure/data"]);
  }, 60_000);

  it("a gRPC authorizer allows with its header and denies with its status and body", async () => {
    await useProvider("grpc-authz", 418);
    calls.grpc.length = 0;
    const allowed = await send("/secure/data", { "x-user": "alice" });
    expect(allowed.status).toBe(200);
    expect(appHeader(allowed, "x-authz-result")).toBe("grpc-allowed");
    const denied = await send("/secure/data", { "x-user": "mallory" });
    expect(denied).toMatchObject({ status: 418, body: "denied by grpc authz" });
    expect((await send("/public")).status).toBe(200);
    expect(calls.grpc).toEqual(["/secure/data", "/secure/data"]);
  }, 60_000);

  it("a dead authorizer fails closed with 403, or open with failOpen", async () => {
    await useProvider("dead-authz", 403);
    expect((await send("/secure/data", { "x-user": "alice" })).status).toBe(403);
    expect((await send("/public")).status).toBe(200);
    await useProvider("dead-open-authz", 200);
    expect((await send("/secure/data")).status).toBe(200);
  }, 60_000);
});
