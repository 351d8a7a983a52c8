// Probes against real servers on loopback (127.47.1.0/24 is this file's): HTTP with redirects,
// headers, body limits and timeouts; HTTPS with a self-signed certificate; TCP; gRPC health.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { probeApp, probeHeaders, probeHost } from "./app-probe.ts";
import type { AppProber, HttpGetProber } from "./app-probers.ts";
import { HEALTH_CHECK_PATH } from "./grpc-health-probe.ts";

const APP = "127.47.1.1";
/** Nothing listens here: connections are refused. */
const NOWHERE = "127.47.1.2";

const servers: Array<{ close(): void }> = [];
let httpPort = 0;
let seen: IncomingHttpHeaders[] = [];

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, APP, () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  const app = createServer((req, res) => {
    seen.push(req.headers);
    const path = req.url ?? "/";
    if (path === "/ok") res.writeHead(200).end("fine");
    else if (path === "/down") res.writeHead(503).end("down");
    else if (path === "/headers") res.writeHead(200).end(JSON.stringify(req.headers));
    else if (path === "/big") res.writeHead(200).end("x".repeat(30_000));
    else if (path === "/to-ok") res.writeHead(302, { location: "/ok" }).end();
    else if (path === "/to-down")
      res.writeHead(307, { location: `http://${APP}:${httpPort}/down` }).end();
    else if (path === "/away") res.writeHead(302, { location: "http://elsewhere.invalid/" }).end();
    else if (path === "/loop") res.writeHead(302, { location: "/loop" }).end();
    else if (path === "/moved-nowhere") res.writeHead(301).end();
    else if (path === "/not-modified") res.writeHead(304).end();
    else if (path === "/slow")
      return; // never answers
    else res.writeHead(404).end("no such page");
  });
  httpPort = await listen(app);
});

afterAll(() => {
  for (const server of servers) server.close();
});

const incoming = (headers: IncomingHttpHeaders = {}, statusPort = 15020) => ({
  headers,
  statusPort,
});

function httpProber(path: string, extra: Partial<HttpGetProber> = {}): HttpGetProber {
  return {
    kind: "httpGet",
    path,
    port: httpPort,
    scheme: "HTTP",
    httpHeaders: [],
    timeoutMs: 2000,
    ...extra,
  };
}

async function probe(prober: AppProber, headers: IncomingHttpHeaders = {}, address = APP) {
  const outcome = await probeApp(prober, { appAddress: address, incoming: incoming(headers) });
  return { status: outcome.status, body: outcome.body.toString() };
}

describe("httpGet probes", () => {
  it("answer with the app's status and body", async () => {
    expect(await probe(httpProber("/ok"))).toEqual({ status: 200, body: "fine" });
    expect(await probe(httpProber("/down"))).toEqual({ status: 503, body: "down" });
    expect(await probe(httpProber("/missing"))).toEqual({ status: 404, body: "no such page" });
  });

  it("return at most 10 KiB of the body", async () => {
    const { status, body } = await probe(httpProber("/big"));
    expect(status).toBe(200);
    expect(body.length).toBe(10 * 1024);
  });

  it("follow redirects to the same host, and pass any other 3xx as 200", async () => {
    expect(await probe(httpProber("/to-ok"))).toEqual({ status: 200, body: "fine" });
    expect(await probe(httpProber("/to-down"))).toEqual({ status: 503, body: "down" });
    expect(await probe(httpProber("/away"))).toEqual({ status: 200, body: "" });
    expect(await probe(httpProber("/moved-nowhere"))).toEqual({ status: 200, body: "" });
    expect(await probe(httpProber("/not-modified"))).toEqual({ status: 200, body: "" });
  });

  it("give up after 10 requests of a redirect loop", async () => {
    seen = [];
    const { status, body } = await probe(httpProber("/loop"));
    expect(status).toBe(500);
    expect(body).toContain("stopped after 10 redirects");
    expect(seen.length).toBe(10);
  });

  it("fail with 500 when the app refuses or does not answer in time", async () => {
    const refused = await probe(httpProber("/ok"), {}, NOWHERE);
    expect(refused.status).toBe(500);
    expect(refused.body).toContain("ECONNREFUSED");
    const slow = await probe(httpProber("/slow", { timeoutMs: 100 }));
    expect(slow).toEqual({ status: 500, body: expect.stringContaining("no answer within 100 ms") });
  });

  it("send the probe's headers and the kubelet's, and its Host with the app's port", async () => {
    const prober = httpProber("/headers", {
      httpHeaders: [
        { name: "X-Probe", value: "a" },
        { name: "X-Probe", value: "b" },
        { name: "X-Custom", value: "probe" },
      ],
    });
    const { body } = await probe(prober, {
      host: "10.0.0.5:15020",
      "user-agent": "kube-probe/1.33",
      accept: "*/*",
      "x-custom": "kubelet",
      connection: "keep-alive",
    });
    const headers = JSON.parse(body) as Record<string, string>;
    expect(headers).toMatchObject({
      host: `10.0.0.5:${httpPort}`,
      "user-agent": "kube-probe/1.33",
      accept: "*/*",
      "x-probe": "a, b",
      "x-custom": "kubelet",
      connection: "close",
    });
  });

  it("send a Host header of the probe's own as given", async () => {
    const prober = httpProber("/headers", { httpHeaders: [{ name: "Host", value: "web.local" }] });
    const { body } = await probe(prober, { host: `${APP}:15020` });
    expect(JSON.parse(body)).toMatchObject({ host: "web.local" });
  });
});

describe("probeHost and probeHeaders", () => {
  const prober = httpProber("/", { port: 8080 });
  const context = (headers: IncomingHttpHeaders) => ({
    appAddress: APP,
    incoming: incoming(headers),
  });

  it("swap the status port in the kubelet's Host for the app's, and keep any other", () => {
    expect(probeHost(prober, context({ host: "10.0.0.5:15020" }))).toBe("10.0.0.5:8080");
    expect(probeHost(prober, context({ host: "[fd00::5]:15020" }))).toBe("[fd00::5]:8080");
    expect(probeHost(prober, context({ host: "web.local" }))).toBe("web.local");
    expect(probeHost(prober, context({ host: "10.0.0.5:9999" }))).toBe("10.0.0.5:9999");
    expect(probeHost(prober, context({}))).toBe(`${APP}:8080`);
  });

  it("drop the headers of the kubelet's own connection", () => {
    const headers = probeHeaders(
      httpProber("/", { httpHeaders: [{ name: "Connection", value: "upgrade" }] }),
      context({ host: "x", "transfer-encoding": "chunked", "content-length": "3", te: "trailers" }),
    );
    expect(headers).toEqual({ connection: "close" });
  });
});

describe("httpGet probes over HTTPS", () => {
  const haveOpenssl = spawnSync("openssl", ["version"]).status === 0;

  it.skipIf(!haveOpenssl)("skip certificate verification, as the kubelet does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crema-probe-tls-"));
    try {
      execFileSync(
        "openssl",
        [
          ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"],
          ...["-keyout", "key.pem", "-out", "cert.pem", "-days", "2", "-subj", "/CN=app"],
        ],
        { cwd: dir, stdio: "pipe" },
      );
      const server = createHttpsServer(
        { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
        (req, res) => res.writeHead(req.url === "/ok" ? 200 : 500).end("tls"),
      );
      const port = await listen(server);
      const prober = httpProber("/ok", { port, scheme: "HTTPS" });
      expect(await probe(prober)).toEqual({ status: 200, body: "tls" });
      // The same port over plain HTTP is no answer the kubelet would accept.
      expect((await probe(httpProber("/ok", { port }))).status).not.toBe(200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("tcpSocket probes", () => {
  it("pass when the port accepts a connection and fail with 500 when refused", async () => {
    const port = await listen(createTcpServer((socket) => socket.destroy()));
    const tcp = (address: string) =>
      probe({ kind: "tcpSocket", port, timeoutMs: 1000 }, {}, address);
    expect(await tcp(APP)).toEqual({ status: 200, body: "" });
    const refused = await tcp(NOWHERE);
    expect(refused.status).toBe(500);
    expect(refused.body).toContain(`cannot connect to ${NOWHERE}:${port}`);
  });
});

describe("grpc probes", () => {
  let grpcPort = 0;
  let status = 1;
  let userAgent: string | undefined;
  const grpcServer = new grpc.Server();

  beforeAll(async () => {
    const raw = (b: Buffer) => b;
    grpcServer.addService(
      {
        Check: {
          path: HEALTH_CHECK_PATH,
          requestStream: false,
          responseStream: false,
          requestSerialize: raw,
          requestDeserialize: raw,
          responseSerialize: raw,
          responseDeserialize: raw,
        },
      },
      {
        Check: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
          userAgent = String(call.metadata.get("user-agent")[0]);
          const service = call.request.subarray(2).toString();
          if (service === "unknown")
            done({ code: grpc.status.NOT_FOUND, details: "unknown service" });
          else done(null, Buffer.from([0x08, status]));
        },
      },
    );
    grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync(`${APP}:0`, grpc.ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
  });

  afterAll(() => grpcServer.forceShutdown());

  const grpcProber = (service = "", port = grpcPort): AppProber => ({
    kind: "grpc",
    port,
    service,
    timeoutMs: 2000,
  });

  it("pass when the app's health service says SERVING, with the kubelet's user agent", async () => {
    status = 1;
    expect(await probe(grpcProber("api"), { "user-agent": "kube-probe/1.33" })).toEqual({
      status: 200,
      body: "",
    });
    expect(userAgent).toMatch(/^kube-probe\/1\.33/);
  });

  it("fail with 500 on NOT_SERVING, an error status, or no server", async () => {
    status = 2;
    expect(await probe(grpcProber())).toEqual({
      status: 500,
      body: "gRPC health status NOT_SERVING\n",
    });
    status = 1;
    expect(await probe(grpcProber("unknown"))).toEqual({
      status: 500,
      body: "gRPC health check failed: unknown service\n",
    });
    expect(await probe(grpcProber("", httpPort))).toMatchObject({ status: 500 });
    expect(await probe(grpcProber(), {}, NOWHERE)).toMatchObject({ status: 500 });
  });
});
