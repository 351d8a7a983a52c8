// The raw TCP echo port.
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EchoServer } from "./server.ts";
import { rawConnect, readAll, startTestEcho } from "./test-support.ts";

let server: EchoServer;

beforeAll(async () => {
  server = await startTestEcho({ tcpPort: 0 });
});

afterAll(async () => {
  await server.stop();
});

describe("TCP echo", () => {
  it("sends every byte back and nothing else", async () => {
    expect(server.tcpPort).toBeGreaterThan(0);
    const socket = await rawConnect(server.tcpPort!);
    const echoed = readAll(socket);
    const payload = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    socket.end(payload);
    expect((await echoed).equals(payload)).toBe(true);
  });

  it("echoes each write as it arrives", async () => {
    const socket = await rawConnect(server.tcpPort!);
    socket.write("ping");
    const [first] = (await once(socket, "data")) as [Buffer];
    expect(first.toString()).toBe("ping");
    const rest = readAll(socket);
    socket.end("pong");
    expect((await rest).toString()).toBe("pong");
  });

  it("is off unless a TCP port is given", async () => {
    const plain = await startTestEcho();
    expect(plain.tcpPort).toBeUndefined();
    expect(plain.grpcPort).toBeUndefined();
    await plain.stop();
  });
});
