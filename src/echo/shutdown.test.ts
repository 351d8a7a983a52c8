// stop(): draining in-flight requests, closing idle connections, the drain timeout, failed starts.
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it, onTestFinished } from "vitest";
import { WebSocket } from "ws";
import { loadEchoService } from "./grpc.ts";
import type { EchoServer } from "./server.ts";
import { h1, h2, h2Session, json, rawConnect, startTestEcho } from "./test-support.ts";

/** Starts a server the test stops itself; cut at the end in case an assertion failed first. */
async function serverForTest(drainTimeoutMs: number, grpcPort?: number): Promise<EchoServer> {
  const server = await startTestEcho({
    drainTimeoutMs,
    ...(grpcPort === undefined ? {} : { grpcPort }),
  });
  onTestFinished(() => server.stop({ drainTimeoutMs: 0 }));
  return server;
}

describe("stop()", () => {
  it("lets an in-flight HTTP/1.1 request finish and refuses new connections", async () => {
    const server = await serverForTest(20_000);
    let stopping: Promise<void> | undefined;
    const started = performance.now();
    const reply = await h1(server.httpPort, "/delay/150", {
      onContinue: () => {
        stopping = server.stop();
      },
    });
    expect(reply.status).toBe(200);
    expect(json(reply).path).toBe("/delay/150");
    await expect(rawConnect(server.httpPort)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await stopping;
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("lets an in-flight HTTP/2 stream finish and sends GOAWAY", async () => {
    const server = await serverForTest(20_000);
    const session = await h2Session(`http://127.0.0.1:${server.httpPort}`);
    const goaway = once(session, "goaway");
    const sessionClosed = once(session, "close");
    let stopping: Promise<void> | undefined;
    const reply = await h2(session, "/delay/150", {
      onContinue: () => {
        stopping = server.stop();
      },
    });
    expect(reply.status).toBe(200);
    expect(json(reply)).toMatchObject({ protocol: "HTTP/2", path: "/delay/150" });
    await goaway;
    await sessionClosed;
    await stopping;
  });

  it("closes idle keep-alive connections and HTTP/2 sessions at once", async () => {
    const server = await serverForTest(20_000);
    const socket = await rawConnect(server.httpPort);
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await once(socket, "data");
    socket.resume();
    const session = await h2Session(`http://127.0.0.1:${server.httpPort}`);
    expect((await h2(session, "/")).status).toBe(200);
    const closed = [once(socket, "close"), once(session, "close")];
    const started = performance.now();
    await server.stop();
    await Promise.all(closed);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("cuts requests still running when the drain timeout ends", async () => {
    const server = await serverForTest(50);
    let stopping: Promise<void> | undefined;
    await expect(
      h1(server.httpPort, "/delay/60000", {
        onContinue: () => {
          stopping = server.stop();
        },
      }),
    ).rejects.toThrow();
    await stopping;
  });

  it("closes WebSockets with 1001 going away", async () => {
    const server = await serverForTest(20_000);
    const ws = new WebSocket(`ws://127.0.0.1:${server.httpPort}/ws`);
    await once(ws, "open");
    const closed = once(ws, "close") as Promise<[number, Buffer]>;
    const stopping = server.stop();
    const [code] = await closed;
    expect(code).toBe(1001);
    await stopping;
  });

  it("shuts the gRPC port down with a client still connected", async () => {
    const server = await serverForTest(20_000, 0);
    const Client = grpc.makeClientConstructor(loadEchoService(), "EchoService");
    const client = new Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    onTestFinished(() => client.close());
    await new Promise<void>((resolve, reject) =>
      client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())),
    );
    const started = performance.now();
    await server.stop();
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("returns the same promise when called twice; a zero timeout cuts at once", async () => {
    const server = await serverForTest(20_000);
    let first: Promise<void> | undefined;
    let requestArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      requestArrived = resolve;
    });
    const request = h1(server.httpPort, "/delay/60000", {
      onContinue: () => {
        first = server.stop();
        requestArrived();
      },
    });
    const failed = expect(request).rejects.toThrow();
    await arrived;
    const second = server.stop({ drainTimeoutMs: 0 });
    expect(second).toBe(first);
    await failed;
    await second;
  });

  it("is not needed after a failed start: a taken port makes start reject", async () => {
    const taken = createServer();
    taken.listen(0, "127.0.0.1");
    await once(taken, "listening");
    onTestFinished(() => new Promise<void>((done) => taken.close(() => done())));
    const port = (taken.address() as AddressInfo).port;
    await expect(startTestEcho({ port })).rejects.toMatchObject({
      code: "CREMA_ECHO_LISTEN_FAILED",
      message: expect.stringContaining("EADDRINUSE"),
    });
    await expect(startTestEcho({ tcpPort: port })).rejects.toMatchObject({
      code: "CREMA_ECHO_LISTEN_FAILED",
    });
  });
});
