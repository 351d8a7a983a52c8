// The node forwarder on real loopback sockets (127.46.1.0/24): absolute-form and CONNECT, the
// pod IP as source address, resets passed through as resets, and refusals of bad input.
import { execFile, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../base/logger.ts";
import { snapshotFromYaml } from "../control-plane/model/testing.ts";
import {
  MAX_HEAD_BYTES,
  type NodeForwarder,
  parseProxyHead,
  type ResolveService,
  scanHead,
  startNodeForwarder,
} from "./node-forwarder.ts";
import { resolveServiceEndpoints, type ServiceResolution } from "./service-resolver.ts";

const POD_IP = "127.46.1.10";
const UPSTREAM_IP = "127.46.1.20";
const PROXY = `http://${POD_IP}:15001`;
const HAS_CURL = spawnSync("curl", ["--version"]).status === 0;
const WEB = "web.shop.svc.cluster.local";

async function listen(server: Server, host: string): Promise<number> {
  server.listen(0, host);
  await once(server, "listening");
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

interface Seen {
  url: string;
  host: string | undefined;
  remote: string | undefined;
}

/** An HTTP upstream on UPSTREAM_IP that records what it receives and answers with the path. */
async function httpUpstream(): Promise<{ port: number; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createHttpServer((req: IncomingMessage, res) => {
    seen.push({ url: req.url ?? "", host: req.headers.host, remote: req.socket.remoteAddress });
    res.end(`hello from ${req.url}`);
  });
  return { port: await listen(server, UPSTREAM_IP), seen, server };
}

/** A TCP upstream that resets every connection on its first bytes. */
async function resettingUpstream(): Promise<number> {
  const server = createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => socket.resetAndDestroy());
  });
  return listen(server, UPSTREAM_IP);
}

/** A port on UPSTREAM_IP where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, UPSTREAM_IP);
  await new Promise((done) => server.close(done));
  return port;
}

interface Conversation {
  socket: Socket;
  /** Resolves with everything received once `marker` arrived (or the socket closed). */
  until(marker: string): Promise<string>;
  /** Everything received and the error code, if any, once the socket closed. */
  closed: Promise<{ data: string; error: string | undefined }>;
}

async function converse(host = POD_IP, port = 15001): Promise<Conversation> {
  const socket = connect({ host, port });
  let data = "";
  let error: string | undefined;
  let ended = false;
  const waiters: { marker: string; done: (data: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters])
      if (ended || data.includes(w.marker)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done(data);
      }
  };
  socket.on("data", (chunk: Buffer) => {
    data += chunk.toString("latin1");
    check();
  });
  socket.on("error", (e: NodeJS.ErrnoException) => {
    error = e.code;
  });
  const closed = new Promise<{ data: string; error: string | undefined }>((done) =>
    socket.once("close", () => {
      ended = true;
      check();
      done({ data, error });
    }),
  );
  await once(socket, "connect");
  return {
    socket,
    until: (marker) =>
      new Promise((done) => {
        waiters.push({ marker, done });
        check();
      }),
    closed,
  };
}

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  for (const key of ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"])
    delete env[key];
  env.NO_PROXY = "";
  env.no_proxy = "";
  return new Promise((done) => {
    execFile("curl", ["-sS", "--max-time", "20", ...args], { env }, (error, stdout, stderr) =>
      done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const table = new Map<string, ServiceResolution>();
const calls: string[] = [];
const resolve: ResolveService = (namespace, host, port) => {
  calls.push(`${namespace} ${host} ${port}`);
  return table.get(`${host}:${port}`) ?? { kind: "unknown-host", host };
};
const at = (host: string, servicePort: number, ...ports: number[]): void => {
  table.set(`${host}:${servicePort}`, {
    kind: "endpoints",
    hostname: WEB,
    port: servicePort,
    endpoints: ports.map((port) => ({ address: UPSTREAM_IP, port })),
  });
};

let forwarder: NodeForwarder;
let web: Awaited<ReturnType<typeof httpUpstream>>;

beforeAll(async () => {
  forwarder = startNodeForwarder({ resolve, logger: silentLogger() });
  await forwarder.listen(POD_IP, "shop");
  web = await httpUpstream();
});

afterAll(async () => {
  await forwarder.close();
  web.server.close();
});

beforeEach(() => {
  table.clear();
  calls.length = 0;
  web.seen.length = 0;
  at("web", 80, web.port);
});

describe("parseProxyHead", () => {
  it("rewrites an absolute-form request line to origin-form and keeps the rest", () => {
    const head = "GET http://Web.Shop:8080/a/b?c=d#frag HTTP/1.1\r\nHost: web.shop:8080\r\n\r\n";
    expect(parseProxyHead(head)).toEqual({
      ok: true,
      request: {
        kind: "absolute",
        host: "web.shop",
        port: 8080,
        head: "GET /a/b?c=d HTTP/1.1\r\nHost: web.shop:8080\r\n\r\n",
      },
    });
    const bare = parseProxyHead("HEAD http://web?x HTTP/1.0\r\n\r\n");
    expect(bare).toMatchObject({ request: { port: 80, head: "HEAD /?x HTTP/1.0\r\n\r\n" } });
  });

  it("reads CONNECT targets, IPv6 literals included", () => {
    expect(parseProxyHead("CONNECT web:80 HTTP/1.1\r\nHost: web:80\r\n\r\n")).toEqual({
      ok: true,
      request: { kind: "connect", host: "web", port: 80 },
    });
    expect(parseProxyHead("CONNECT [::1]:443 HTTP/1.1\r\n\r\n")).toMatchObject({
      request: { host: "::1", port: 443 },
    });
  });

  it.each([
    "GET / HTTP/1.1\r\n\r\n",
    "GET https://web/ HTTP/1.1\r\n\r\n",
    "CONNECT web HTTP/1.1\r\n\r\n",
    "CONNECT web:0 HTTP/1.1\r\n\r\n",
    "GET http://we b/ HTTP/1.1\r\n\r\n",
    "GET http://web:99999/ HTTP/1.1\r\n\r\n",
    "GET http://[zz]/ HTTP/1.1\r\n\r\n",
    "GET http://web/ HTTP/2.0\r\n\r\n",
    "GET  http://web/ HTTP/1.1\r\n\r\n",
  ])("refuses %j", (head) => {
    expect(parseProxyHead(head).ok).toBe(false);
  });
});

describe("scanHead", () => {
  it("waits for the end of the head, then gives it", () => {
    expect(scanHead("GET http://web/ HTTP/1.1\r\nHost: web\r\n")).toEqual({ kind: "more" });
    expect(scanHead("GET http://web/ HTTP/1.1\r\n\r\nbody")).toEqual({ kind: "head", end: 28 });
    expect(scanHead("CONN")).toEqual({ kind: "more" });
    expect(scanHead("GET http://web/ HTTP/1.1\r")).toEqual({ kind: "more" });
  });

  it("refuses a line that cannot become a request line without waiting", () => {
    expect(scanHead("\x16\x03\x01\x02\x00")).toMatchObject({ kind: "refuse", status: 400 });
    expect(scanHead("GET{ ")).toMatchObject({ kind: "refuse", status: 400 });
    expect(scanHead("hello\r\n")).toMatchObject({ kind: "refuse", status: 400 });
    expect(scanHead(`GET http://web/ HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD_BYTES)}`)).toMatchObject({
      kind: "refuse",
      status: 431,
    });
  });
});

describe("node forwarder", () => {
  it("sends an absolute-form request to an endpoint in origin-form, Host kept, from the pod IP", async () => {
    const c = await converse();
    c.socket.write("GET http://web/hello?x=1 HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n");
    const { data } = await c.closed;
    expect(data).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(data).toContain("hello from /hello?x=1");
    expect(web.seen).toEqual([{ url: "/hello?x=1", host: "web", remote: POD_IP }]);
    expect(calls).toEqual(["shop web 80"]);
  });

  it("tunnels CONNECT once the upstream is connected, bytes unchanged", async () => {
    const c = await converse();
    c.socket.write("CONNECT web:80 HTTP/1.1\r\nHost: web:80\r\n\r\n");
    expect(await c.until("\r\n\r\n")).toBe("HTTP/1.1 200 Connection established\r\n\r\n");
    c.socket.write("GET /inside HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n");
    expect((await c.closed).data).toContain("hello from /inside");
    expect(web.seen).toEqual([{ url: "/inside", host: "web", remote: POD_IP }]);
  });

  it.skipIf(!HAS_CURL)(
    "serves curl through HTTP_PROXY, absolute-form and tunnel (needs curl)",
    async () => {
      const plain = await curl(["-x", PROXY, "http://web/via-curl"]);
      expect(plain).toMatchObject({ code: 0, stdout: "hello from /via-curl" });
      const tunnel = await curl(["-p", "-x", PROXY, "http://web/via-tunnel"]);
      expect(tunnel).toMatchObject({ code: 0, stdout: "hello from /via-tunnel" });
      expect(web.seen.map((s) => [s.url, s.host, s.remote])).toEqual([
        ["/via-curl", "web", POD_IP],
        ["/via-tunnel", "web", POD_IP],
      ]);
    },
  );

  it("serves Node's own fetch (CONNECT) and http.get (absolute-form) under NODE_USE_ENV_PROXY", async () => {
    const script = `
      const http = require("node:http");
      const viaGet = () => new Promise((done) => http.get("http://web/get", (res) => {
        let body = ""; res.on("data", (c) => { body += c; }); res.on("end", () => done(body));
      }));
      fetch("http://web/fetch").then((r) => r.text())
        .then(async (a) => console.log(JSON.stringify([a, await viaGet()])));`;
    const env = {
      ...process.env,
      HTTP_PROXY: PROXY,
      http_proxy: PROXY,
      NO_PROXY: "",
      no_proxy: "",
      NODE_USE_ENV_PROXY: "1",
    };
    const stdout = await new Promise<string>((done, fail) =>
      execFile(process.execPath, ["-e", script], { env }, (error, out) =>
        error ? fail(error) : done(out),
      ),
    );
    expect(JSON.parse(stdout)).toEqual(["hello from /fetch", "hello from /get"]);
    expect(web.seen.map((s) => [s.url, s.host, s.remote])).toEqual([
      ["/fetch", "web", POD_IP],
      ["/get", "web", POD_IP],
    ]);
  });

  it.skipIf(!HAS_CURL)("resolves names through a real snapshot (needs curl)", async () => {
    const snapshot = snapshotFromYaml(`apiVersion: v1
kind: Service
metadata: {name: customer-service, namespace: shop}
spec:
  selector: {app: customer}
  ports: [{name: http, port: 80, targetPort: ${web.port}}]
---
apiVersion: v1
kind: Pod
metadata: {name: customer-1, namespace: shop, labels: {app: customer}}
spec: {containers: [{name: app}]}
status: {podIP: ${UPSTREAM_IP}, conditions: [{type: Ready, status: "True"}]}
`);
    const real = startNodeForwarder({
      resolve: (namespace, host, port) => resolveServiceEndpoints(snapshot, namespace, host, port),
      logger: silentLogger(),
    });
    await real.listen("127.46.1.11", "shop");
    try {
      const proxy = "http://127.46.1.11:15001";
      expect(await curl(["-x", proxy, "http://customer-service/a"])).toMatchObject({
        stdout: "hello from /a",
      });
      expect(
        await curl(["-x", proxy, "http://customer-service.shop.svc.cluster.local/b"]),
      ).toMatchObject({ stdout: "hello from /b" });
      const unknown = await curl(["-x", proxy, "-w", "%{http_code}", "http://nope/"]);
      expect(unknown.stdout).toMatch(/"nope" does not resolve.*\n502$/);
      expect(web.seen.map((s) => s.remote)).toEqual(["127.46.1.11", "127.46.1.11"]);
    } finally {
      await real.close();
    }
  });

  it("connects to an IP literal directly", async () => {
    const c = await converse();
    c.socket.write(
      `GET http://${UPSTREAM_IP}:${web.port}/ip HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect((await c.closed).data).toContain("hello from /ip");
    expect(web.seen[0]?.remote).toBe(POD_IP);
  });

  it("passes an upstream reset to the client as a reset, absolute-form and CONNECT", async () => {
    at("rst", 80, await resettingUpstream());
    const plain = await converse();
    plain.socket.write("GET http://rst/ HTTP/1.1\r\nHost: rst\r\n\r\n");
    expect(await plain.closed).toEqual({ data: "", error: "ECONNRESET" });

    const tunnel = await converse();
    tunnel.socket.write("CONNECT rst:80 HTTP/1.1\r\n\r\n");
    await tunnel.until("\r\n\r\n");
    tunnel.socket.write("GET / HTTP/1.1\r\nHost: rst\r\n\r\n");
    expect(await tunnel.closed).toEqual({
      data: "HTTP/1.1 200 Connection established\r\n\r\n",
      error: "ECONNRESET",
    });
  });

  it.skipIf(!HAS_CURL)("makes curl report an upstream reset as one (needs curl)", async () => {
    at("rst", 80, await resettingUpstream());
    for (const args of [["http://rst/"], ["-p", "http://rst/"]]) {
      const result = await curl(["-x", PROXY, ...args]);
      expect(result.code).toBe(56);
      expect(result.stderr).toMatch(/reset by peer/i);
    }
  });

  it("forwards half-closes both ways", async () => {
    const lateAnswer = createServer({ allowHalfOpen: true }, (socket) => {
      let got = "";
      socket.on("data", (chunk: Buffer) => {
        got += chunk.toString();
      });
      socket.on("end", () => socket.end(`after end: ${got}`));
    });
    at("late", 9000, await listen(lateAnswer, UPSTREAM_IP));
    const c = await converse();
    c.socket.write("CONNECT late:9000 HTTP/1.1\r\n\r\nearly");
    await c.until("\r\n\r\n");
    c.socket.end(" bytes");
    expect(await c.closed).toEqual({
      data: "HTTP/1.1 200 Connection established\r\n\r\nafter end: early bytes",
      error: undefined,
    });
    lateAnswer.close();
  });

  it("keeps later requests of a kept-alive connection on the same endpoint, unchanged", async () => {
    const other = await httpUpstream();
    at("other", 80, other.port);
    const c = await converse();
    c.socket.write("GET http://web/one HTTP/1.1\r\nHost: web\r\n\r\n");
    await c.until("hello from /one");
    c.socket.write("GET http://other/two HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n");
    expect((await c.closed).data).toContain("hello from http://other/two");
    expect(web.seen.map((s) => s.url)).toEqual(["/one", "http://other/two"]);
    expect(other.seen).toEqual([]);
    other.server.close();
  });

  it("answers 502 for a name that does not resolve, both forms", async () => {
    for (const head of [
      "GET http://nope.elsewhere/ HTTP/1.1\r\nHost: nope.elsewhere\r\n\r\n",
      "CONNECT nope.elsewhere:80 HTTP/1.1\r\n\r\n",
    ]) {
      const c = await converse();
      c.socket.end(head);
      const { data } = await c.closed;
      expect(data).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(data).toContain(
        '"nope.elsewhere" does not resolve: no Kubernetes Service by that name from namespace "shop"',
      );
    }
  });

  it("answers 503 without a ready endpoint and 502 for a port the Service lacks", async () => {
    table.set("idle:80", { kind: "no-ready-endpoints", hostname: "idle.shop.svc", port: 80 });
    table.set("web:81", { kind: "unknown-port", hostname: WEB, port: 81 });
    const idle = await converse();
    idle.socket.end("GET http://idle/ HTTP/1.1\r\n\r\n");
    expect((await idle.closed).data).toMatch(/^HTTP\/1\.1 503 .*no ready endpoint for idle/s);
    const port = await converse();
    port.socket.end("CONNECT web:81 HTTP/1.1\r\n\r\n");
    expect((await port.closed).data).toMatch(/^HTTP\/1\.1 502 .*has no port 81/s);
  });

  it("answers 502 to CONNECT and resets absolute-form when the endpoint refuses", async () => {
    at("down", 80, await closedPort());
    const tunnel = await converse();
    tunnel.socket.write("CONNECT down:80 HTTP/1.1\r\n\r\n");
    expect((await tunnel.closed).data).toMatch(/^HTTP\/1\.1 502 .*ECONNREFUSED/s);
    const plain = await converse();
    plain.socket.write("GET http://down/ HTTP/1.1\r\n\r\n");
    expect(await plain.closed).toEqual({ data: "", error: "ECONNRESET" });
  });

  it("answers 400 to garbage and 431 to an oversized head, and keeps serving", async () => {
    for (const garbage of [
      "hello there\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: web\r\n\r\n",
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01]).toString("latin1"),
    ]) {
      const c = await converse();
      c.socket.write(Buffer.from(garbage, "latin1"));
      expect(await c.until("\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      c.socket.destroy();
    }
    const big = await converse();
    big.socket.write(`GET http://web/ HTTP/1.1\r\nX-Big: ${"a".repeat(MAX_HEAD_BYTES)}\r\n\r\n`);
    expect(await big.until("\r\n\r\n")).toMatch(/^HTTP\/1\.1 431 /);
    big.socket.destroy();

    const ended = await converse();
    ended.socket.end("GET http://web/");
    expect((await ended.closed).data).toMatch(/^HTTP\/1\.1 400 /);

    const gone = await converse();
    gone.socket.write("GET http://web/gone HTTP/1.1\r\n\r\n");
    gone.socket.resetAndDestroy();
    await gone.closed;

    const c = await converse();
    c.socket.end("GET http://web/still HTTP/1.1\r\nHost: web\r\nConnection: close\r\n\r\n");
    expect((await c.closed).data).toContain("hello from /still");
  });

  it("stops and restarts listening per pod; a taken port rejects listen", async () => {
    const ip = "127.46.1.12";
    await forwarder.listen(ip, "shop");
    await forwarder.listen(ip, "other");
    const c = await converse(ip);
    c.socket.end("GET http://nope/ HTTP/1.1\r\n\r\n");
    expect((await c.closed).data).toContain('from namespace "other"');

    const second = startNodeForwarder({ resolve, logger: silentLogger() });
    await expect(second.listen(ip, "shop")).rejects.toMatchObject({ code: "EADDRINUSE" });

    const open = await converse(ip);
    open.socket.write("CONNECT web:80 HTTP/1.1\r\n\r\n");
    await open.until("\r\n\r\n");
    await forwarder.unlisten(ip);
    expect((await open.closed).error).toBe("ECONNRESET");
    const refused = connect({ host: ip, port: 15001 });
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");

    await second.listen(ip, "shop");
    await second.close();
  });
});
