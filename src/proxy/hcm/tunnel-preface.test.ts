// sniffTunnelPreface over real sockets: the HTTP/2 preface or an HTTP/1.x request line decides,
// and every byte read while deciding is given back to whoever reads the socket next.
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sniffTunnelPreface } from "./tunnel-preface.ts";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
let server: Server | undefined;

afterEach(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
  server = undefined;
});

/** Sends `pieces` one write at a time (each after the server has seen the previous bytes). */
async function sniff(pieces: string[], endAfter = false): Promise<{ h2c: boolean; rest: string }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer(resolve);
  });
  server!.listen(0, "127.0.0.1");
  await once(server!, "listening");
  const port = (server!.address() as { port: number }).port;
  const client = connect(port, "127.0.0.1");
  const socket = await accepted;
  const decided = new Promise<boolean>((resolve) => sniffTunnelPreface(socket, resolve));
  for (const piece of pieces) {
    client.write(piece);
    await new Promise((r) => setImmediate(r));
  }
  if (endAfter) client.end();
  const h2c = await decided;
  client.end();
  let rest = "";
  socket.setEncoding("latin1");
  socket.on("data", (c: string) => {
    rest += c;
  });
  socket.resume();
  await once(socket, "end");
  client.destroy();
  return { h2c, rest };
}

describe("sniffTunnelPreface", () => {
  it("recognises the HTTP/2 preface arriving in pieces and gives every byte back", async () => {
    const frames = `${PREFACE}\u0000\u0000\u0000\u0004\u0000\u0000\u0000\u0000\u0000`;
    const result = await sniff([PREFACE.slice(0, 3), PREFACE.slice(3, 20), frames.slice(20)]);
    expect(result).toEqual({ h2c: true, rest: frames });
  });

  it("hands an HTTP/1.1 request to HTTP/1.1 once its request line is seen", async () => {
    const request = "GET /menu HTTP/1.1\r\nhost: echo\r\n\r\n";
    expect(await sniff(["GE", "T /menu HT", request.slice(12)])).toEqual({
      h2c: false,
      rest: request,
    });
  });

  it("gives bytes that are not HTTP at all to HTTP/1.1, whose parser answers 400", async () => {
    expect(await sniff(["\u0016\u0003\u0001 junk"])).toEqual({
      h2c: false,
      rest: "\u0016\u0003\u0001 junk",
    });
  });

  it("closes a tunnel that ends before its bytes say which codec", async () => {
    const accepted = new Promise<Socket>((resolve) => {
      server = createServer(resolve);
    });
    server!.listen(0, "127.0.0.1");
    await once(server!, "listening");
    const client = connect((server!.address() as { port: number }).port, "127.0.0.1");
    const socket = await accepted;
    let decided = false;
    sniffTunnelPreface(socket, () => {
      decided = true;
    });
    client.end("PRI * HT");
    await once(socket, "close");
    expect(decided).toBe(false);
    client.destroy();
  });
});
