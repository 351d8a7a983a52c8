// The HTTP port: accepts TCP or TLS connections and hands each to the HTTP/1.1 or HTTP/2 server.

import {
  type AddressInfo,
  createServer as createNetServer,
  type Server,
  type Socket,
} from "node:net";
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from "node:tls";
import { CremaError } from "../base/errors.ts";
import type { Logger } from "../base/logger.ts";
import { type ConnectionInfo, type ConnectionRegistry, connectionInfo } from "./connections.ts";
import type { HttpServers } from "./http-servers.ts";
import { tlsPeerOf } from "./tls-config.ts";

/** What an HTTP/2 client with prior knowledge sends first (RFC 9113 §3.4). */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** A cleartext client that sends nothing for this long is dropped. */
const FIRST_BYTES_TIMEOUT_MS = 30_000;

export type Verdict = "http1" | "http2" | "undecided";

/** Decides the protocol from a connection's first bytes, as soon as they allow it. */
export function sniffProtocol(bytes: Buffer): Verdict {
  const n = Math.min(bytes.length, PREFACE.length);
  if (bytes.compare(PREFACE, 0, n, 0, n) !== 0) return "http1";
  return n === PREFACE.length ? "http2" : "undecided";
}

export interface ListenerContext {
  servers: HttpServers;
  registry: ConnectionRegistry;
  logger: Logger;
  /** Present when the port speaks TLS. */
  tls: TlsOptions | undefined;
}

function handHttp1(context: ListenerContext, socket: Socket, info: ConnectionInfo): void {
  context.registry.decided(socket);
  context.registry.addHttp1(socket, info);
  context.servers.http1.emit("connection", socket);
}

function handHttp2(context: ListenerContext, socket: Socket, info: ConnectionInfo): void {
  context.registry.decided(socket);
  context.registry.withSessionInfo(info, () => context.servers.http2.emit("connection", socket));
}

/** Reads until the first bytes tell the protocol, puts them back, and hands the socket over. */
function sniffThenHand(context: ListenerContext, socket: Socket): void {
  let seen: Buffer | undefined;
  const onTimeout = () => socket.destroy();
  const onData = (chunk: Buffer) => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const verdict = sniffProtocol(seen);
    if (verdict === "undecided") return;
    socket.off("data", onData);
    socket.off("timeout", onTimeout);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(seen);
    const info = connectionInfo(socket);
    if (verdict === "http2") {
      handHttp2(context, socket, info);
    } else {
      handHttp1(context, socket, info);
      socket.resume();
    }
  };
  socket.setTimeout(FIRST_BYTES_TIMEOUT_MS);
  socket.on("timeout", onTimeout);
  socket.on("data", onData);
}

/** Creates the (not yet listening) server for the HTTP port. */
export function createHttpListener(context: ListenerContext): Server {
  const { registry, logger } = context;
  const onSocketError = (error: Error) => logger.debug({ err: error }, "echo connection error");
  if (context.tls === undefined) {
    return createNetServer({ noDelay: true }, (socket) => {
      socket.on("error", onSocketError);
      if (registry.accept(socket)) sniffThenHand(context, socket);
    });
  }
  const server = createTlsServer({ ...context.tls, noDelay: true });
  server.on("connection", (socket: Socket) => {
    socket.on("error", onSocketError);
    // TLS owns the raw socket from here; only stop() cutting everything still needs it.
    if (registry.accept(socket)) registry.decided(socket);
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    socket.on("error", onSocketError);
    const peer = tlsPeerOf(socket);
    if (registry.draining || !peer.acceptable) {
      if (!peer.acceptable) logger.debug("client certificate not signed by the configured CA");
      socket.destroy();
      return;
    }
    const info = connectionInfo(socket, true, peer.uriSan);
    if (socket.alpnProtocol === "h2") handHttp2(context, socket, info);
    else handHttp1(context, socket, info);
  });
  server.on("tlsClientError", (error) => logger.debug({ err: error }, "TLS handshake failed"));
  return server;
}

/** Listens and resolves to the bound port; later server errors are logged, not thrown. */
export function listenOn(
  server: Server,
  host: string,
  port: number,
  logger: Logger,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(
        new CremaError(
          "CREMA_ECHO_LISTEN_FAILED",
          `cannot listen on ${host}:${port} (${error.code ?? error.message})`,
          { cause: error },
        ),
      );
    server.once("error", fail);
    server.listen({ host, port }, () => {
      server.off("error", fail);
      server.on("error", (error) => logger.error({ err: error }, "echo listener error"));
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting; resolves once every connection the server accepted has closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
