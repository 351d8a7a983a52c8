// WebSocket echo at /ws.
import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { WebSocket } from "ws";
import type { EchoServer } from "./server.ts";
import { h1, rawConnect, readAll, startTestEcho, TEST_POD } from "./test-support.ts";

let server: EchoServer;

beforeAll(async () => {
  server = await startTestEcho();
});

afterAll(async () => {
  await server.stop();
});

async function open(path = "/ws"): Promise<{ ws: WebSocket; upgrade: IncomingMessage }> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}${path}`);
  // 'open' follows 'upgrade' in the same tick, so both are awaited together.
  const [[upgrade]] = (await Promise.all([once(ws, "upgrade"), once(ws, "open")])) as [
    [IncomingMessage],
    unknown,
  ];
  onTestFinished(async () => {
    if (ws.readyState === WebSocket.CLOSED) return;
    const closed = once(ws, "close");
    ws.close();
    await closed;
  });
  return { ws, upgrade };
}

async function roundTrip(ws: WebSocket, data: string | Buffer): Promise<[Buffer, boolean]> {
  const reply = once(ws, "message") as Promise<[Buffer, boolean]>;
  ws.send(data);
  return reply;
}

describe("WebSocket echo at /ws", () => {
  it("marks the upgrade response with x-crema-pod", async () => {
    const { upgrade } = await open();
    expect(upgrade.statusCode).toBe(101);
    expect(upgrade.headers["x-crema-pod"]).toBe(TEST_POD);
  });

  it("echoes text and binary messages as they came", async () => {
    const { ws } = await open("/ws?room=1");
    const [text, textIsBinary] = await roundTrip(ws, "hello ✓");
    expect(textIsBinary).toBe(false);
    expect(text.toString("utf8")).toBe("hello ✓");
    const bytes = Buffer.from([0, 1, 2, 254, 255]);
    const [binary, binaryIsBinary] = await roundTrip(ws, bytes);
    expect(binaryIsBinary).toBe(true);
    expect(binary.equals(bytes)).toBe(true);
    const big = Buffer.alloc(1024 * 1024, 9);
    expect((await roundTrip(ws, big))[0].equals(big)).toBe(true);
  });

  it("does not upgrade other paths", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/elsewhere`);
    const closed = new Promise((resolve) => ws.once("close", resolve));
    const [error] = (await once(ws, "error")) as [Error];
    expect(error.message).toContain("Unexpected server response: 200");
    await closed;
  });

  it("refuses a broken handshake without failing the server", async () => {
    const socket = await rawConnect(server.httpPort);
    const answer = readAll(socket);
    socket.end("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
    expect((await answer).toString("latin1")).toMatch(/^HTTP\/1\.1 400 /);
    expect((await h1(server.httpPort, "/")).status).toBe(200);
  });
});
