// gRPC, WebSocket and HTTP/2 through a real `crema proxy` sidecar driven by the real control plane:
// clients reach it the way the local runtime's apps do (HTTP_PROXY → CONNECT or absolute form).
import { Agent } from "node:http";
import {
  type ClientHttp2Session,
  constants as h2,
  connect as http2Connect,
  type IncomingHttpHeaders,
} from "node:http2";
import { connect } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import {
  type EchoResponseMessage,
  type EchoStreamRequestMessage,
  loadEchoService,
} from "../../src/echo/index.ts";
import {
  connectTunnel,
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
  subsetsYaml,
} from "./support/mesh.ts";

const SUBNET = 33;
const ip = (h: number) => `127.${SUBNET}.${h}.1`;
const SIDECAR = ip(9);
let mesh: Mesh;

type Callback = (error: grpc.ServiceError | null, response?: EchoResponseMessage) => void;
interface EchoClient extends grpc.Client {
  Echo(
    request: { message: string },
    metadata: grpc.Metadata,
    callback: Callback,
  ): grpc.ClientUnaryCall;
  EchoStream(
    request: EchoStreamRequestMessage,
    metadata: grpc.Metadata,
  ): grpc.ClientReadableStream<EchoResponseMessage>;
}

const CONFIG = `
${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo", {
  ports: [
    { name: "http", port: 80, targetPort: 8080 },
    { name: "http2", port: 8081, targetPort: 8080 },
    { name: "grpc", port: 9090, targetPort: 9090 },
  ],
})}---
${serviceYaml("echo-upgraded", { selector: "echo" })}---
${serviceYaml("echo-rpc", { selector: "echo", ports: [{ name: "rpc", port: 7070, targetPort: 9090, appProtocol: "grpc" }] })}---
${podYaml({ name: "echo-v1", ip: ip(1), labels: { app: "echo", version: "v1" }, ports: [8080, 9090] })}---
${podYaml({ name: "echo-v2", ip: ip(2), labels: { app: "echo", version: "v2" }, ports: [8080, 9090] })}---
${podYaml({ name: "sleep", ip: SIDECAR, labels: { app: "sleep" } })}---
${subsetsYaml("echo")}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo-upgraded, namespace: default}
spec:
  host: echo-upgraded
  trafficPolicy:
    connectionPool: {http: {h2UpgradePolicy: UPGRADE}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - name: grpc-unavailable
    match: [{port: 9090, headers: {x-fault: {exact: grpc-unavailable}}}]
    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}
    route: [{destination: {host: echo, subset: v1}}]
  - name: http-503
    match: [{port: 9090, headers: {x-fault: {exact: http-503}}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 100}}}
    route: [{destination: {host: echo, subset: v1}}]
  - name: forbidden
    match: [{port: 9090, headers: {x-fault: {exact: http-403}}}]
    fault: {abort: {httpStatus: 403, percentage: {value: 100}}}
    route: [{destination: {host: echo, subset: v1}}]
  - name: grpc-v2
    match: [{port: 9090, headers: {x-version: {exact: v2}}}]
    route: [{destination: {host: echo, subset: v2}}]
  - name: grpc-only-echo
    match: [{port: 9090, uri: {exact: /crema.echo.v1.EchoService/Echo}}, {port: 9090, uri: {exact: /crema.echo.v1.EchoService/EchoStream}}]
    route: [{destination: {host: echo, subset: v1}}]
  - name: http
    match: [{port: 80}, {port: 8081}]
    route: [{destination: {host: echo, subset: v1}}]
`;

beforeAll(async () => {
  mesh = await startMesh(SUBNET, CONFIG);
  await mesh.startEcho({ pod: "echo-v1", ip: ip(1), version: "v1", grpcPort: 9090 });
  await mesh.startEcho({ pod: "echo-v2", ip: ip(2), version: "v2", grpcPort: 9090 });
  await mesh.startProxy({ pod: "sleep", ip: SIDECAR, labels: { app: "sleep" } });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
});

/**
 * A grpc-js client as an app in the local runtime makes it: `http_proxy` points at the sidecar,
 * so grpc-js opens `CONNECT <target>` to it and speaks HTTP/2 inside the tunnel.
 */
function grpcClient(target: string): EchoClient {
  const saved = { http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy };
  process.env.http_proxy = `http://${SIDECAR}:15001`;
  delete process.env.no_proxy;
  try {
    const Client = grpc.makeClientConstructor(loadEchoService(), "EchoService");
    return new Client(target, grpc.credentials.createInsecure()) as unknown as EchoClient;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function metadata(entries: Record<string, string>): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of Object.entries(entries)) md.set(key, value);
  return md;
}

interface UnaryResult {
  error: grpc.ServiceError | null;
  response?: EchoResponseMessage;
  initial?: grpc.Metadata;
  status?: grpc.StatusObject;
}

function unary(
  client: EchoClient,
  message: string,
  md = new grpc.Metadata(),
): Promise<UnaryResult> {
  return new Promise((resolve) => {
    const result: UnaryResult = { error: null };
    const call = client.Echo({ message }, md, (error, response) => {
      result.error = error;
      if (response) result.response = response;
    });
    call.on("metadata", (m: grpc.Metadata) => {
      result.initial = m;
    });
    call.on("status", (s: grpc.StatusObject) => {
      result.status = s;
      resolve(result);
    });
  });
}

describe("gRPC through a sidecar", () => {
  let client: EchoClient;
  let rpcClient: EchoClient;
  beforeAll(() => {
    client = grpcClient("echo:9090");
    rpcClient = grpcClient("echo-rpc.default.svc.cluster.local:7070");
  });
  afterAll(() => {
    client?.close();
    rpcClient?.close();
  });

  it("makes unary calls through the sidecar, with headers, trailers and grpc-status", async () => {
    const result = await unary(client, "hello", metadata({ "x-caller": "sleep" }));
    expect(result.error).toBeNull();
    expect(result.response?.message).toBe("hello");
    expect(result.response?.pod).toBe("echo-v1");
    expect(result.response?.metadata["x-caller"]).toBe("sleep");
    // The sidecar added its request headers on the way.
    expect(result.response?.metadata["x-request-id"]).toBeTruthy();
    expect(result.initial?.get("x-crema-pod")).toEqual(["echo-v1"]);
    expect(result.status?.code).toBe(grpc.status.OK);
    // A backend's own failure travels in the trailers, untouched.
    const failed = await unary(
      client,
      "x",
      metadata({ "x-echo-grpc-status": "RESOURCE_EXHAUSTED" }),
    );
    expect(failed.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(failed.status?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });

  it("streams server responses through the sidecar", async () => {
    const responses: EchoResponseMessage[] = [];
    const call = client.EchoStream({ message: "tick", count: 200 }, new grpc.Metadata());
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    for await (const response of call) responses.push(response as EchoResponseMessage);
    expect(responses).toHaveLength(200);
    expect(responses.every((r) => r.message === "tick" && r.pod === "echo-v1")).toBe(true);
    expect((await status).code).toBe(grpc.status.OK);
  });

  it("routes gRPC by VirtualService header match, and by method path", async () => {
    for (let i = 0; i < 5; i++) {
      const v2 = await unary(client, "v2", metadata({ "x-version": "v2" }));
      expect(v2.response?.pod).toBe("echo-v2");
      const v1 = await unary(client, "v1");
      expect(v1.response?.pod).toBe("echo-v1");
    }
  });

  it("reaches a service whose port says appProtocol: grpc", async () => {
    const result = await unary(rpcClient, "rpc");
    expect(result.error).toBeNull();
    expect(["echo-v1", "echo-v2"]).toContain(result.response?.pod);
  });

  it("turns local replies into gRPC statuses (fault grpcStatus, 503, 403, no route)", async () => {
    const unavailable = await unary(client, "x", metadata({ "x-fault": "grpc-unavailable" }));
    expect(unavailable.status?.code).toBe(grpc.status.UNAVAILABLE);
    expect(unavailable.status?.details).toBe("fault filter abort");
    const http503 = await unary(client, "x", metadata({ "x-fault": "http-503" }));
    expect(http503.status?.code).toBe(grpc.status.UNAVAILABLE);
    const http403 = await unary(client, "x", metadata({ "x-fault": "http-403" }));
    expect(http403.status?.code).toBe(grpc.status.PERMISSION_DENIED);
    // The health service's path matches no route of the VirtualService: 404 NR → UNIMPLEMENTED.
    const Health = grpc.makeGenericClientConstructor(
      {
        Check: {
          path: "/grpc.health.v1.Health/Check",
          requestStream: false,
          responseStream: false,
          requestSerialize: (b: Buffer) => b,
          requestDeserialize: (b: Buffer) => b,
          responseSerialize: (b: Buffer) => b,
          responseDeserialize: (b: Buffer) => b,
        },
      },
      "Health",
    );
    const saved = process.env.http_proxy;
    process.env.http_proxy = `http://${SIDECAR}:15001`;
    const health = new Health("echo:9090", grpc.credentials.createInsecure());
    if (saved === undefined) delete process.env.http_proxy;
    else process.env.http_proxy = saved;
    const noRoute = await new Promise<grpc.ServiceError | null>((resolve) =>
      (
        health as unknown as {
          Check: (b: Buffer, cb: (e: grpc.ServiceError | null) => void) => void;
        }
      ).Check(Buffer.alloc(0), resolve),
    );
    health.close();
    expect(noRoute?.code).toBe(grpc.status.UNIMPLEMENTED);
  });
});

describe("WebSocket through a sidecar", () => {
  async function echoBothWays(ws: WebSocket): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) =>
        reject(new Error(`handshake answered ${res.statusCode}`)),
      );
    });
    const received: Array<{ data: Buffer; binary: boolean }> = [];
    const done = new Promise<void>((resolve) =>
      ws.on("message", (data: Buffer, binary: boolean) => {
        received.push({ data, binary });
        if (received.length === 3) resolve();
      }),
    );
    ws.send("hello barista");
    ws.send(Buffer.from([0, 1, 2, 255]));
    ws.send("x".repeat(100_000));
    await done;
    expect(received[0]).toEqual({ data: Buffer.from("hello barista"), binary: false });
    expect(received[1]).toEqual({ data: Buffer.from([0, 1, 2, 255]), binary: true });
    expect(received[2]!.data.length).toBe(100_000);
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.close(1000);
    expect(await closed).toBe(1000);
  }

  it("upgrades a request sent in absolute form (Node's env proxy, curl -x)", async () => {
    // What `ws` does under NODE_USE_ENV_PROXY=1: an absolute-form upgrade request to the proxy.
    const agent = new Agent({ proxyEnv: { HTTP_PROXY: `http://${SIDECAR}:15001` } });
    const ws = new WebSocket("ws://echo/ws", { agent });
    let pod: string | undefined;
    ws.once("upgrade", (res) => {
      pod = String(res.headers["x-crema-pod"]);
    });
    await echoBothWays(ws);
    expect(pod).toBe("echo-v1");
  });

  it("upgrades inside a CONNECT tunnel to the sidecar", async () => {
    const tunnel = await connectTunnel(SIDECAR, "echo:80");
    const ws = new WebSocket("ws://echo/ws", { createConnection: () => tunnel } as never);
    await echoBothWays(ws);
  });
});

interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function h2Request(
  session: ClientHttp2Session,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: IncomingHttpHeaders = {};
    stream.on("response", (h) => {
      head = h;
    });
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () =>
      resolve({
        status: Number(head[h2.HTTP2_HEADER_STATUS]),
        headers: head,
        body: Buffer.concat(chunks),
      }),
    );
    stream.on("error", reject);
    if (body !== undefined) stream.end(body);
  });
}

describe("HTTP/2 end to end", () => {
  async function session(authority: string, viaConnect: boolean): Promise<ClientHttp2Session> {
    const socket = viaConnect ? await connectTunnel(SIDECAR, authority) : connect(15001, SIDECAR);
    const s = http2Connect(`http://${authority}`, { createConnection: () => socket });
    s.on("error", () => {});
    return s;
  }

  async function concurrentCalls(s: ClientHttp2Session, authority: string): Promise<string[]> {
    const uploads = Array.from({ length: 50 }, (_, i) => Buffer.alloc(1000 + i * 500, i));
    const replies = await Promise.all(
      uploads.map((body, i) =>
        h2Request(
          s,
          {
            ":method": "POST",
            ":path": `/upload/${i}`,
            ":authority": authority,
            "content-type": "application/octet-stream",
          },
          body,
        ),
      ),
    );
    const downloads = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h2Request(s, {
          ":method": "GET",
          ":path": `/bytes/${70_000 + i}`,
          ":authority": authority,
        }),
      ),
    );
    for (const [i, d] of downloads.entries()) {
      expect(d.status).toBe(200);
      expect(d.body.length).toBe(70_000 + i);
      expect(d.body[300]).toBe(300 % 256);
    }
    return replies.map((r, i) => {
      expect(r.status).toBe(200);
      const seen = JSON.parse(r.body.toString());
      expect(seen.bodyLength).toBe(uploads[i]!.length);
      expect(seen.path).toBe(`/upload/${i}`);
      return seen.protocol as string;
    });
  }

  it("carries many concurrent h2c streams in a CONNECT tunnel, and an http2 port upstream speaks HTTP/2", async () => {
    const s = await session("echo:8081", true);
    const protocols = await concurrentCalls(s, "echo:8081");
    expect(new Set(protocols)).toEqual(new Set(["HTTP/2"]));
    // Inside a tunnel the CONNECT target names the service port, whatever :authority says.
    const bare = await h2Request(s, { ":method": "GET", ":path": "/", ":authority": "echo" });
    expect(JSON.parse(bare.body.toString()).protocol).toBe("HTTP/2");
    s.close();
  });

  it("carries h2c with prior knowledge sent straight to the sidecar", async () => {
    const s = await session("echo:8081", false);
    const protocols = await concurrentCalls(s, "echo:8081");
    expect(new Set(protocols)).toEqual(new Set(["HTTP/2"]));
    s.close();
  });

  it("speaks HTTP/1.1 upstream for an http port, HTTP/2 when the DestinationRule says UPGRADE", async () => {
    const s = await session("echo:80", true);
    expect(new Set(await concurrentCalls(s, "echo:80"))).toEqual(new Set(["HTTP/1.1"]));
    s.close();
    const up = await session("echo-upgraded:80", true);
    expect(new Set(await concurrentCalls(up, "echo-upgraded:80"))).toEqual(new Set(["HTTP/2"]));
    up.close();
  });
});
