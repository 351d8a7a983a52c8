// The host-port relay on real loopback sockets (127.46.2.0/24): relaying, resets and half-close
// passed through, a taken port reported with the flag that changes it, and close().
import { once } from "node:events";
import { createServer as createHttpServer, get } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { CremaError } from "../base/errors.ts";
import { silentLogger } from "../base/logger.ts";
import { type HostPort, type HostPortOptions, publishHostPort } from "./host-port.ts";

const HOST = "127.46.2.1";
const TARGET_IP = "127.46.2.2";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: Server, host: string, port = 0): Promise<number> {
  server.listen(port, host);
  await once(server, "listening");
  cleanups.push(() => new Promise((done) => server.close(done)));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function publish(
  target: HostPortOptions["target"],
  options: Partial<HostPortOptions> = {},
): Promise<HostPort> {
  const hostPort = await publishHostPort({
    host: HOST,
    port: 0,
    target,
    flag: "--ingress-port",
    logger: silentLogger(),
    ...options,
  });
  cleanups.push(() => hostPort.close());
  return hostPort;
}

/** Everything a raw client receives, and its error code, once its socket closed. */
function client(port: number): { socket: Socket; closed: Promise<[string, string | undefined]> } {
  const socket = connect({ host: HOST, port });
  let data = "";
  let error: string | undefined;
  socket.on("data", (chunk: Buffer) => {
    data += chunk.toString();
  });
  socket.on("error", (e: NodeJS.ErrnoException) => {
    error = e.code;
  });
  const closed = new Promise<[string, string | undefined]>((done) =>
    socket.once("close", () => done([data, error])),
  );
  // Not awaiting 'connect': a reset may come first; writes wait for the connection anyway.
  return { socket, closed };
}

describe("publishHostPort", () => {
  it("relays HTTP to the target and reports the port it bound", async () => {
    const http = createHttpServer((req, res) => res.end(`gateway saw ${req.url}`));
    const target = { host: TARGET_IP, port: await listen(http, TARGET_IP) };
    const hostPort = await publish(target);
    expect(hostPort.port).toBeGreaterThan(0);
    expect(hostPort.host).toBe(HOST);
    const body = await new Promise<string>((done, fail) => {
      get({ host: HOST, port: hostPort.port, path: "/coffee", agent: false }, (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        res.on("end", () => done(text));
      }).on("error", fail);
    });
    expect(body).toBe("gateway saw /coffee");
  });

  it("asks a target function per connection; no target resets the client", async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    let target: { host: string; port: number } | undefined;
    const hostPort = await publish(() => target);
    const none = client(hostPort.port);
    expect(await none.closed).toEqual(["", "ECONNRESET"]);
    target = { host: TARGET_IP, port: await listen(echo, TARGET_IP) };
    const some = client(hostPort.port);
    some.socket.end("ping");
    expect(await some.closed).toEqual(["ping", undefined]);
  });

  it("passes a reset from the target, and a refused connect, to the client as a reset", async () => {
    const resetting = createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => socket.resetAndDestroy());
    });
    const hostPort = await publish({ host: TARGET_IP, port: await listen(resetting, TARGET_IP) });
    const c = client(hostPort.port);
    c.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(await c.closed).toEqual(["", "ECONNRESET"]);

    const gone = createServer();
    const port = await listen(gone, TARGET_IP);
    await new Promise((done) => gone.close(done));
    const refused = await publish({ host: TARGET_IP, port });
    expect(await client(refused.port).closed).toEqual(["", "ECONNRESET"]);
  });

  it("forwards half-closes both ways", async () => {
    const late = createServer({ allowHalfOpen: true }, (socket) => {
      let got = "";
      socket.on("data", (chunk: Buffer) => {
        got += chunk.toString();
      });
      socket.on("end", () => socket.end(`after end: ${got}`));
    });
    const hostPort = await publish({ host: TARGET_IP, port: await listen(late, TARGET_IP) });
    const c = client(hostPort.port);
    c.socket.end("question");
    expect(await c.closed).toEqual(["after end: question", undefined]);
  });

  it("reports a taken port with the flag that changes it", async () => {
    const taken = await listen(createServer(), HOST);
    const error = await publishHostPort({
      host: HOST,
      port: taken,
      target: { host: TARGET_IP, port: 1 },
      flag: "--ingress-tls-port",
      logger: silentLogger(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CremaError);
    expect(error).toMatchObject({ code: "CREMA_RUNTIME_PORT_IN_USE" });
    expect((error as Error).message).toContain(`${HOST}:${taken}`);
    expect((error as Error).message).toContain("--ingress-tls-port");
  });

  it("close() stops listening and resets open connections", async () => {
    const silent = createServer((socket) => socket.on("error", () => {}));
    const hostPort = await publish({ host: TARGET_IP, port: await listen(silent, TARGET_IP) });
    const c = client(hostPort.port);
    c.socket.write("anyone?");
    await once(silent, "connection");
    await hostPort.close();
    expect(await c.closed).toEqual(["", "ECONNRESET"]);
    const refused = connect({ host: HOST, port: hostPort.port });
    const [error] = (await once(refused, "error")) as [NodeJS.ErrnoException];
    expect(error.code).toBe("ECONNREFUSED");
  });
});
