// ClientHello sniffing from real node:tls bytes, plus truncated, fragmented and garbage input.
import { createServer, type Server } from "node:net";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectTransport } from "./detect-transport.ts";

let server: Server;
let port = 0;
let nextHello: ((b: Buffer) => void) | undefined;

beforeAll(async () => {
  server = createServer((socket) => {
    socket.once("data", (b) => {
      nextHello?.(b);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function clientHello(servername: string | undefined, alpn?: string[]): Promise<Buffer> {
  return new Promise((resolve) => {
    nextHello = resolve;
    const s = connect({
      host: "127.0.0.1",
      port,
      ...(servername ? { servername } : {}),
      ...(alpn ? { ALPNProtocols: alpn } : {}),
    });
    s.on("error", () => {});
  });
}

describe("detectTransport", () => {
  it("reads SNI and ALPN from a real ClientHello", async () => {
    const hello = await clientHello("api.example.com", ["h2", "http/1.1"]);
    expect(detectTransport(hello)).toEqual({
      kind: "tls",
      serverName: "api.example.com",
      applicationProtocols: ["h2", "http/1.1"],
    });
  });

  it("reports TLS without SNI or ALPN", async () => {
    const hello = await clientHello(undefined);
    expect(detectTransport(hello)).toEqual({ kind: "tls", applicationProtocols: [] });
  });

  it("asks for more bytes on every truncation", async () => {
    const hello = await clientHello("a.example.com", ["h2"]);
    for (let n = 0; n < hello.length; n++) {
      expect(detectTransport(hello.subarray(0, n)).kind).toBe("need-more");
    }
  });

  it("reassembles a ClientHello split across records", async () => {
    const hello = await clientHello("split.example.com", ["h2"]);
    const body = hello.subarray(5);
    const cut = 40;
    const rec = (b: Buffer) =>
      Buffer.concat([Buffer.from([0x16, 3, 1, b.length >> 8, b.length & 0xff]), b]);
    const two = Buffer.concat([rec(body.subarray(0, cut)), rec(body.subarray(cut))]);
    expect(detectTransport(two)).toMatchObject({ kind: "tls", serverName: "split.example.com" });
    expect(detectTransport(two.subarray(0, 50)).kind).toBe("need-more");
  });

  it("treats plaintext and garbage as raw_buffer, never throwing", async () => {
    expect(detectTransport(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "raw_buffer" });
    expect(detectTransport(Buffer.from([0x16, 0x02]))).toEqual({ kind: "raw_buffer" });
    expect(detectTransport(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0]))).toEqual({
      kind: "raw_buffer",
    });
    const hello = await clientHello("x.example.com", ["h2"]);
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      const copy = Buffer.from(hello);
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      copy[9 + (seed % (copy.length - 9))] = seed & 0xff;
      const r = detectTransport(copy);
      expect(["tls", "raw_buffer", "need-more"]).toContain(r.kind);
    }
    // Declared lengths that overrun the handshake are malformed, not a crash.
    const bad = Buffer.from(hello);
    bad.writeUInt16BE(0xffff, 5 + 4 + 2 + 32 + 1 + bad[5 + 4 + 2 + 32]!);
    expect(["raw_buffer", "need-more"]).toContain(detectTransport(bad).kind);
  });

  it("flags ClientHellos over the inspector's limit", () => {
    expect(detectTransport(Buffer.from([0x16, 3, 1, 0, 4, 1, 0x02, 0, 0]))).toEqual({
      kind: "too-large",
    });
  });
});
