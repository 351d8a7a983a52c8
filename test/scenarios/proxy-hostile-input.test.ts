// Malformed and hostile bytes against a real `crema proxy` sidecar's outbound (15001) and inbound
// listeners: bad HTTP/1.1 framing, oversized headers, invalid HTTP/2 frames, slow-loris, abrupt
// resets. Each gets Envoy's answer or a closed connection, and the proxy keeps serving everyone.
import { constants as h2, connect as http2Connect } from "node:http2";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  type ProxyProcess,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";

const SUBNET = 36;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
let mesh: Mesh;
let client: ProxyProcess;
let server: ProxyProcess;

const CONFIG = `
${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: ip(1), labels: { app: "echo" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: ip(9), labels: { app: "sleep" } })}`;

/** A listener under attack, with the request that shows it still serves. */
interface Target {
  name: string;
  host: string;
  port: number;
  /** A well-formed request line and Host for this listener. */
  requestLine: string;
  authority: string;
  proxy: () => ProxyProcess;
}

const TARGETS: Target[] = [
  {
    name: "outbound 15001",
    host: ip(9),
    port: 15001,
    requestLine: "GET http://echo/ok HTTP/1.1",
    authority: "echo",
    proxy: () => client,
  },
  {
    name: "inbound 8080",
    host: ip(1),
    port: 8080,
    requestLine: "GET /ok HTTP/1.1",
    authority: "echo.default.svc.cluster.local",
    proxy: () => server,
  },
];

interface Exchange {
  /** Everything the proxy sent before closing. */
  data: Buffer;
  /** The proxy closed the connection (FIN or reset). */
  closed: boolean;
}

function open(target: Target): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(target.port, target.host, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** Writes `bytes` and collects the answer until the proxy closes the connection. */
async function exchange(target: Target, bytes: Buffer | string): Promise<Exchange> {
  const socket = await open(target);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {});
    socket.once("close", () => resolve({ data: Buffer.concat(chunks), closed: true }));
    socket.write(bytes);
  });
}

/** The path part of the target's well-formed request line (absolute form on 15001). */
function pathOf(target: Target): string {
  return target.requestLine.split(" ")[1]!;
}

function statusOf(data: Buffer): number {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(data.toString("latin1"));
  return match ? Number(match[1]) : 0;
}

/** A normal keep-alive-less request on a fresh connection; resolves with the status. */
async function normalRequest(target: Target): Promise<number> {
  const { data } = await exchange(
    target,
    `${target.requestLine}\r\nhost: ${target.authority}\r\nconnection: close\r\n\r\n`,
  );
  return statusOf(data);
}

/** The proxy still serves a normal request and its admin answers. */
async function expectHealthy(target: Target): Promise<void> {
  expect(await normalRequest(target)).toBe(200);
  const info = await fetch(`${target.proxy().adminUrl}/server_info`);
  expect(info.status).toBe(200);
  expect(((await info.json()) as { state: string }).state).toBe("LIVE");
}

beforeAll(async () => {
  mesh = await startMesh(SUBNET, CONFIG);
  // The app listens beside its sidecar, which holds the pod IP's 8080 (the local runtime's way).
  await mesh.startEcho({ pod: "echo-1", ip: ip(1, 2) });
  server = await mesh.startProxy({
    pod: "echo-1",
    ip: ip(1),
    labels: { app: "echo" },
    appAddress: ip(1, 2),
  });
  client = await mesh.startProxy({ pod: "sleep", ip: ip(9), labels: { app: "sleep" } });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
});

describe.each(TARGETS)("the $name listener", (target) => {
  it("serves a well-formed request", async () => {
    await expectHealthy(target);
  });

  it("answers 400 to an invalid request line", async () => {
    const reply = await exchange(target, "GET /a b c HTTP/1.1\r\nhost: echo\r\n\r\n");
    expect(statusOf(reply.data)).toBe(400);
    expect(reply.closed).toBe(true);
    await expectHealthy(target);
  });

  it("answers 400 to bad chunked encoding", async () => {
    const reply = await exchange(
      target,
      `POST ${pathOf(target)} HTTP/1.1\r\nhost: ${target.authority}\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`,
    );
    expect(statusOf(reply.data)).toBe(400);
    expect(reply.closed).toBe(true);
    await expectHealthy(target);
  });

  it("answers 400 to conflicting Content-Length and Transfer-Encoding", async () => {
    const reply = await exchange(
      target,
      `POST ${pathOf(target)} HTTP/1.1\r\nhost: ${target.authority}\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`,
    );
    expect(statusOf(reply.data)).toBe(400);
    expect(reply.closed).toBe(true);
    await expectHealthy(target);
  });

  it("answers 400 to differing duplicate Content-Length headers (request smuggling)", async () => {
    const reply = await exchange(
      target,
      `POST ${pathOf(target)} HTTP/1.1\r\nhost: ${target.authority}\r\ncontent-length: 5\r\ncontent-length: 7\r\n\r\nhello!!`,
    );
    expect(statusOf(reply.data)).toBe(400);
    expect(reply.closed).toBe(true);
    await expectHealthy(target);
  });

  it("answers 400 to a header with an invalid name or a NUL in its value", async () => {
    for (const header of ["bad header: x", "x-nul: a\0b", "no-colon"]) {
      const reply = await exchange(
        target,
        `${target.requestLine}\r\nhost: ${target.authority}\r\n${header}\r\n\r\n`,
      );
      expect(statusOf(reply.data), header).toBe(400);
      expect(reply.closed).toBe(true);
    }
    await expectHealthy(target);
  });

  it("answers 400 or closes on binary garbage", async () => {
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256));
    const reply = await exchange(target, garbage);
    expect(reply.closed).toBe(true);
    expect([0, 400]).toContain(statusOf(reply.data));
    await expectHealthy(target);
  });

  it("answers 431 to more than 100 request headers (Envoy's max_headers_count)", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `x-h${i}: ${i}\r\n`).join("");
    const reply = await exchange(
      target,
      `${target.requestLine}\r\nhost: ${target.authority}\r\nconnection: close\r\n${many}\r\n`,
    );
    expect(statusOf(reply.data)).toBe(431);
    expect(reply.closed).toBe(true);
    await expectHealthy(target);
  });

  it("answers 431 to request headers over 60 KiB (Envoy's max_request_headers_kb)", async () => {
    const reply = await exchange(
      target,
      `${target.requestLine}\r\nhost: ${target.authority}\r\nx-big: ${"a".repeat(70 * 1024)}\r\n\r\n`,
    );
    expect(statusOf(reply.data)).toBe(431);
    expect(reply.data.toString("latin1")).toMatch(/\r\n\r\nRequest Header Fields Too Large$/);
    expect(reply.data.toString("latin1")).not.toContain("x-crema-pod");
    expect(reply.closed).toBe(true);
    // 50 KiB is within the proxy's limit: it reaches the app (whose own limit is Node's 16 KiB).
    const fits = await exchange(
      target,
      `${target.requestLine}\r\nhost: ${target.authority}\r\nconnection: close\r\nx-big: ${"a".repeat(50 * 1024)}\r\n\r\n`,
    );
    expect(fits.data.toString("latin1")).toContain("x-crema-pod: echo-1");
    await expectHealthy(target);
  });

  it("closes an h2c connection that sends invalid frames after the preface", async () => {
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    // A DATA frame on stream 0 (a connection error, PROTOCOL_ERROR), then a frame of an absurd
    // length (FRAME_SIZE_ERROR).
    const dataOnZero = Buffer.from([0, 0, 4, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    const huge = Buffer.from([0xff, 0xff, 0xff, 1, 4, 0, 0, 0, 1]);
    const reply = await exchange(target, Buffer.concat([preface, settings, dataOnZero, huge]));
    expect(reply.closed).toBe(true);
    // The server's frames end with a GOAWAY (type 7) when it says why.
    expect(framesOf(reply.data)).toContain(7);
    await expectHealthy(target);
  });

  it("closes an h2c connection whose HEADERS block is not valid HPACK", async () => {
    const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    // HEADERS, END_HEADERS|END_STREAM, stream 1: an indexed field beyond every table (index 127+).
    const block = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    const headers = Buffer.concat([Buffer.from([0, 0, block.length, 1, 0x05, 0, 0, 0, 1]), block]);
    const reply = await exchange(target, Buffer.concat([preface, settings, headers]));
    expect(reply.closed).toBe(true);
    expect(framesOf(reply.data)).toContain(7);
    await expectHealthy(target);
  });

  it("keeps serving others while a slow-loris client trickles its headers", async () => {
    const loris = await open(target);
    loris.on("error", () => {});
    let lorisClosed = false;
    loris.once("close", () => {
      lorisClosed = true;
    });
    const head = `${target.requestLine}\r\nhost: ${target.authority}\r\nx-slow: `;
    for (const byte of head) {
      loris.write(byte);
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Meanwhile, byte after byte of a header that never ends, other clients are served.
    for (let i = 0; i < 10; i++) {
      loris.write("a");
      expect(await normalRequest(target)).toBe(200);
    }
    expect(lorisClosed).toBe(false);
    loris.destroy();
    await expectHealthy(target);
  });

  it("survives a client that resets in the middle of its request body", async () => {
    const socket = await open(target);
    socket.on("error", () => {});
    socket.write(
      `POST ${pathOf(target)} HTTP/1.1\r\nhost: ${target.authority}\r\ncontent-length: 100000\r\n\r\n${"x".repeat(5000)}`,
    );
    await new Promise((resolve) => setImmediate(resolve));
    socket.resetAndDestroy();
    await expectHealthy(target);
  });

  it("survives a client that resets in the middle of a large response", async () => {
    const socket = await open(target);
    socket.on("error", () => {});
    const path = pathOf(target).replace(/\/ok$/, "/bytes/50000000");
    socket.write(`GET ${path} HTTP/1.1\r\nhost: ${target.authority}\r\n\r\n`);
    // Reset as soon as the first body bytes arrive.
    await new Promise<void>((resolve) => {
      let seen = 0;
      socket.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 100_000) resolve();
      });
    });
    socket.resetAndDestroy();
    await expectHealthy(target);
  });

  it("survives HTTP/2 streams cancelled mid-request and mid-response", async () => {
    const session = http2Connect(`http://${target.host}:${target.port}`);
    session.on("error", () => {});
    const base = pathOf(target);
    const url = new URL(base.startsWith("http") ? base : `http://${target.authority}${base}`);
    const authority = url.host;
    // Mid-request: a POST whose body never finishes, cancelled.
    const upload = session.request({
      ":method": "POST",
      ":path": url.pathname,
      ":authority": authority,
      "content-length": "100000",
    });
    upload.on("error", () => {});
    upload.write(Buffer.alloc(5000));
    await new Promise((resolve) => setImmediate(resolve));
    upload.close(h2.NGHTTP2_CANCEL);
    // Mid-response: a large download cancelled once it flows.
    const download = session.request({
      ":method": "GET",
      ":path": url.pathname.replace(/\/ok$/, "/bytes/50000000"),
      ":authority": authority,
    });
    download.on("error", () => {});
    await new Promise<void>((resolve) => {
      let seen = 0;
      download.on("data", (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > 100_000) resolve();
      });
    });
    download.close(h2.NGHTTP2_CANCEL);
    // The same session still carries a normal request.
    const status = await new Promise<number>((resolve, reject) => {
      const ok = session.request({
        ":method": "GET",
        ":path": url.pathname,
        ":authority": authority,
      });
      ok.on("response", (headers) => resolve(Number(headers[":status"])));
      ok.on("error", reject);
      ok.resume();
    });
    expect(status).toBe(200);
    session.close();
    await expectHealthy(target);
  });
});

/** Frame types in a server's HTTP/2 byte stream (stops at the first incomplete frame). */
function framesOf(data: Buffer): number[] {
  const types: number[] = [];
  let at = 0;
  while (at + 9 <= data.length) {
    const length = data.readUIntBE(at, 3);
    types.push(data[at + 3]!);
    at += 9 + length;
  }
  return types;
}

describe("after all of it", () => {
  it("both proxies are still the same running processes", async () => {
    for (const target of TARGETS) await expectHealthy(target);
    expect(client.logs()).not.toMatch(/uncaught|FATAL/i);
    expect(server.logs()).not.toMatch(/uncaught|FATAL/i);
  });

  it("clients that connected and never finished (or never spoke) do not hold up shutdown", async () => {
    const held: Array<Promise<unknown>> = [];
    for (const target of TARGETS) {
      for (const bytes of ["", "GET / HT", `${target.requestLine}\r\nhost: x`]) {
        const socket = await open(target);
        socket.on("error", () => {});
        if (bytes) socket.write(bytes);
        held.push(new Promise((resolve) => socket.once("close", resolve)));
      }
    }
    expect(await client.stop()).toBe(0);
    expect(await server.stop()).toBe(0);
    await Promise.all(held);
  });
});
