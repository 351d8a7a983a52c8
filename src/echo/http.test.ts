// Every HTTP endpoint over HTTP/1.1 and over h2c (prior knowledge) on the same port.
import type { ClientHttp2Session } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BYTE_PATTERN } from "./responses.ts";
import type { EchoServer } from "./server.ts";
import {
  closeSession,
  h1,
  h2,
  h2Session,
  json,
  type Reply,
  type RequestSpec,
  startTestEcho,
  TEST_POD,
} from "./test-support.ts";

type Send = (path: string, spec?: RequestSpec) => Promise<Reply>;

let server: EchoServer;
let session: ClientHttp2Session;

beforeAll(async () => {
  server = await startTestEcho();
  session = await h2Session(`http://127.0.0.1:${server.httpPort}`);
});

afterAll(async () => {
  await closeSession(session);
  await server.stop();
});

const protocols: Array<[string, () => Send]> = [
  ["HTTP/1.1", () => (path, spec) => h1(server.httpPort, path, spec)],
  ["HTTP/2", () => (path, spec) => h2(session, path, spec)],
];

describe.each(protocols)("echo over %s", (protocol, sender) => {
  const send: Send = (path, spec) => sender()(path, spec);

  it("answers GET with a JSON description of the request", async () => {
    const reply = await send("/some/where?a=1&a=2&b=x", { headers: { "x-custom": "yes" } });
    expect(reply.status).toBe(200);
    expect(reply.headers["x-crema-pod"]).toBe(TEST_POD);
    expect(reply.headers["content-type"]).toBe("application/json");
    const body = json(reply);
    expect(body).toMatchObject({
      pod: TEST_POD,
      namespace: "echo-ns",
      version: "v7",
      serviceAccount: "echo-sa",
      labels: { app: "echo" },
      protocol,
      method: "GET",
      host: `127.0.0.1:${server.httpPort}`,
      path: "/some/where",
      query: { a: ["1", "2"], b: "x" },
      bodyLength: 0,
      remoteAddress: "127.0.0.1",
      tls: false,
      peerCertificateUriSan: null,
    });
    expect(body.headers).toMatchObject({ "x-custom": "yes" });
    expect(Object.keys(body.headers as object).some((name) => name.startsWith(":"))).toBe(false);
    expect(body.remotePort).toBeGreaterThan(0);
  });

  it("counts the body of a POST", async () => {
    const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const reply = await send("/upload", { method: "POST", body });
    expect(json(reply)).toMatchObject({ method: "POST", bodyLength: body.length });
  });

  it("answers the status from /status/{code} and ?status=", async () => {
    const teapot = await send("/status/418");
    expect(teapot.status).toBe(418);
    expect(json(teapot).path).toBe("/status/418");
    const unavailable = await send("/anything?status=503");
    expect(unavailable.status).toBe(503);
    expect(teapot.headers["x-crema-pod"]).toBe(TEST_POD);
    const empty = await send("/status/204");
    expect(empty.status).toBe(204);
    expect(empty.body.length).toBe(0);
    expect(empty.headers["x-crema-pod"]).toBe(TEST_POD);
  });

  it("answers /delay/{ms} after the delay", async () => {
    const started = performance.now();
    const reply = await send("/delay/30");
    expect(reply.status).toBe(200);
    expect(json(reply).path).toBe("/delay/30");
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect((await send("/delay/5ms")).status).toBe(200);
  });

  it("answers /bytes/{n} with n deterministic bytes", async () => {
    const n = 200_000;
    const reply = await send(`/bytes/${n}`);
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/octet-stream");
    expect(Number(reply.headers["content-length"])).toBe(n);
    expect(reply.body.length).toBe(n);
    for (const i of [0, 1, 255, 256, 65_535, 65_536, 199_999]) expect(reply.body[i]).toBe(i % 256);
    expect(reply.body.subarray(65_536, 65_536 + 1024).equals(BYTE_PATTERN.subarray(0, 1024))).toBe(
      true,
    );
    expect((await send("/bytes/0")).body.length).toBe(0);
  });

  it("echoes request headers as response headers on /headers", async () => {
    const reply = await send("/headers?set-header=x-added:one&set-header=x-added:two", {
      headers: { "x-hello": "world", "content-type": "text/plain" },
    });
    expect(reply.status).toBe(200);
    expect(reply.headers["x-hello"]).toBe("world");
    expect(reply.headers["content-type"]).toBe("application/json");
    expect(reply.headers["x-added"]).toBe("one, two");
    expect(json(reply).path).toBe("/headers");
  });

  it("adds ?set-header headers on any path", async () => {
    const reply = await send("/?set-header=x-route:blue");
    expect(reply.headers["x-route"]).toBe("blue");
  });

  it("answers /ip with the client address", async () => {
    expect(json(await send("/ip"))).toEqual({ origin: "127.0.0.1" });
  });

  it("streams /stream/{n} as n JSON lines", async () => {
    const reply = await send("/stream/5");
    expect(reply.status).toBe(200);
    expect(reply.headers["content-type"]).toBe("application/x-ndjson");
    if (protocol === "HTTP/1.1") expect(reply.headers["transfer-encoding"]).toBe("chunked");
    const lines = reply.body.toString("utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines.map((line) => JSON.parse(line).id)).toEqual([0, 1, 2, 3, 4]);
    expect(JSON.parse(lines[0]!)).toMatchObject({ pod: TEST_POD, protocol, path: "/stream/5" });
  });

  it("answers HEAD without a body", async () => {
    const reply = await send("/", { method: "HEAD" });
    expect(reply.status).toBe(200);
    expect(reply.body.length).toBe(0);
    expect(reply.headers["x-crema-pod"]).toBe(TEST_POD);
  });

  it.each([
    "/status/abc",
    "/status/99",
    "/status/600",
    "/status/",
    "/status/200/extra",
    "/delay/forever",
    "/delay/61000",
    "/delay/-5",
    "/bytes/999999999999",
    "/bytes/1e3",
    "/stream/100001",
    "/stream/x",
    "/?status=42",
    "/?set-header=nocolon",
    "/?set-header=transfer-encoding:chunked",
    "/?set-header=bad%20name:v",
  ])("rejects %s with 400 and a JSON error", async (path) => {
    const reply = await send(path);
    expect(reply.status).toBe(400);
    expect(reply.headers["x-crema-pod"]).toBe(TEST_POD);
    expect(json(reply)).toMatchObject({ error: "bad_request" });
  });

  it("answers a plain request to /ws with 426", async () => {
    const reply = await send("/ws");
    expect(reply.status).toBe(426);
    expect(json(reply).error).toBe("upgrade_required");
  });
});
