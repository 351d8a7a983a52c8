// Protocol sniffing on the shared port, and malformed input that must not hurt the server.
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { sniffProtocol } from "./listener.ts";
import type { EchoServer } from "./server.ts";
import {
  closeSession,
  h1,
  h2,
  h2Session,
  json,
  rawConnect,
  readAll,
  startTestEcho,
  TEST_POD,
} from "./test-support.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

describe("sniffProtocol", () => {
  it("decides on the first byte that differs from the HTTP/2 preface", () => {
    expect(sniffProtocol(Buffer.from("G"))).toBe("http1");
    expect(sniffProtocol(Buffer.from("PRI * HTTP/1.1"))).toBe("http1");
    expect(sniffProtocol(Buffer.from("POST / HTTP/1.1\r\n"))).toBe("http1");
  });

  it("waits while the bytes are a prefix of the preface", () => {
    expect(sniffProtocol(Buffer.from("P"))).toBe("undecided");
    expect(sniffProtocol(Buffer.from("PRI * HTTP/2.0\r\n"))).toBe("undecided");
    expect(sniffProtocol(Buffer.from(PREFACE))).toBe("http2");
    expect(sniffProtocol(Buffer.from(`${PREFACE}\x00\x00\x00\x04`))).toBe("http2");
  });
});

let server: EchoServer;

beforeAll(async () => {
  server = await startTestEcho();
});

afterAll(async () => {
  await server.stop();
});

async function stillServes(): Promise<void> {
  const reply = await h1(server.httpPort, "/");
  expect(reply.status).toBe(200);
}

/** Sends raw bytes, half-closes, and returns everything the server answers. */
async function exchange(bytes: string | Buffer): Promise<string> {
  const socket = await rawConnect(server.httpPort);
  const all = readAll(socket);
  socket.end(bytes);
  return (await all).toString("latin1");
}

/** A TCP relay that hands the client's first chunk to the echo server in two separate writes. */
async function splittingRelay(splitAt: number): Promise<Server> {
  const relay = createServer((client) => {
    const upstream = new Promise<Socket>((resolve) => {
      const socket = connect(server.httpPort, "127.0.0.1");
      socket.on("error", () => {});
      socket.once("connect", () => resolve(socket));
    });
    client.once("data", async (first: Buffer) => {
      client.pause();
      const target = await upstream;
      target.pipe(client);
      await new Promise((done) => target.write(first.subarray(0, splitAt), done));
      await new Promise((done) => setImmediate(done));
      target.write(first.subarray(splitAt));
      client.pipe(target);
      client.resume();
    });
    client.on("error", () => {});
  });
  relay.listen(0, "127.0.0.1");
  await once(relay, "listening");
  return relay;
}

describe("one port for HTTP/1.1 and HTTP/2", () => {
  it("serves HTTP/2 when the preface arrives in pieces", async () => {
    const relay = await splittingRelay(9);
    onTestFinished(() => new Promise<void>((done) => relay.close(() => done())));
    const address = relay.address() as { port: number };
    const session = await h2Session(`http://127.0.0.1:${address.port}`);
    onTestFinished(() => closeSession(session));
    const reply = await h2(session, "/split");
    expect(json(reply)).toMatchObject({ protocol: "HTTP/2", path: "/split" });
  });

  it("serves HTTP/1.1 when the request line arrives in pieces", async () => {
    const relay = await splittingRelay(1);
    onTestFinished(() => new Promise<void>((done) => relay.close(() => done())));
    const address = relay.address() as { port: number };
    const reply = await h1(address.port, "/split-h1");
    expect(json(reply)).toMatchObject({ protocol: "HTTP/1.1", path: "/split-h1" });
  });

  it("accepts absolute-form request targets", async () => {
    const answer = await exchange(
      "GET http://example.com/ip?x=1 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('{"origin":"127.0.0.1"}');
  });
});

describe("malformed input", () => {
  it("answers a garbage request line with 400 JSON and keeps serving", async () => {
    const answer = await exchange("THIS IS NOT HTTP\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer.toLowerCase()).toContain(`x-crema-pod: ${TEST_POD}`);
    expect(answer).toContain('"error":"bad_request"');
    await stillServes();
  });

  it("answers oversized headers with 431", async () => {
    const answer = await exchange(
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    await stillServes();
  });

  it("survives a broken HTTP/2 preface and garbage frames", async () => {
    await exchange("PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
    await exchange(`${PREFACE}${"\xff".repeat(64)}`);
    await exchange(
      Buffer.concat([Buffer.from(PREFACE), Buffer.alloc(9, 0), Buffer.alloc(100, 0xaa)]),
    );
    await stillServes();
  });

  it("waits for the rest of a partial HTTP/2 preface instead of answering HTTP/1.1", async () => {
    expect(await exchange("PRI * HTTP/2.0\r\n\r\nSM")).toBe("");
    await stillServes();
  });

  it("survives clients that connect and leave without a word", async () => {
    for (const bytes of ["", "P", "GET / HT"]) await exchange(bytes);
    const reset = await rawConnect(server.httpPort);
    reset.write("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
    reset.resetAndDestroy();
    await once(reset, "close");
    await stillServes();
  });

  it("answers a bad Content-Length with 400", async () => {
    const answer = await exchange("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: banana\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    await stillServes();
  });
});
