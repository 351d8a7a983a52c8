// The HTTP/1.1 and HTTP/2 servers behind the HTTP port. Neither listens: the listener feeds them.
import type { Server as Http1Server } from "node:http";
import { createServer as createHttp2Server, type Http2Server } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../base/logger.ts";
import { nodeHttp } from "../base/node-http.ts";
import { type ConnectionRegistry, connectionInfo } from "./connections.ts";
import { createRequestHandler } from "./http-handler.ts";
import type { EchoIdentity } from "./options.ts";
import { rawErrorResponse } from "./responses.ts";
import { isWebSocketUpgrade, type WebSocketEcho } from "./websocket.ts";

const { createServer: createHttp1Server } = nodeHttp;

/** Idle HTTP/1.1 sockets are closed after this long without traffic (above the /delay cap). */
const SOCKET_IDLE_TIMEOUT_MS = 120_000;

export interface HttpServers {
  http1: Http1Server;
  http2: Http2Server;
}

export interface HttpServersContext {
  identity: EchoIdentity;
  logger: Logger;
  registry: ConnectionRegistry;
  websockets: WebSocketEcho;
}

function fallbackInfo(socket: Socket): ReturnType<typeof connectionInfo> {
  return connectionInfo(socket, (socket as TLSSocket).encrypted === true);
}

/** True when part of a response already went out on the socket, so no error page can follow. */
function responseStarted(socket: Duplex): boolean {
  const current = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  return current?.headersSent === true;
}

function clientErrorStatus(code: string | undefined): number {
  if (code === "HPE_HEADER_OVERFLOW") return 431;
  if (code === "ERR_HTTP_REQUEST_TIMEOUT") return 408;
  return 400;
}

export function createHttpServers(context: HttpServersContext): HttpServers {
  const { identity, logger, registry, websockets } = context;
  const handle = createRequestHandler({
    identity,
    logger,
    draining: () => registry.draining,
  });

  const http1 = createHttp1Server({ shouldUpgradeCallback: isWebSocketUpgrade });
  http1.setTimeout(SOCKET_IDLE_TIMEOUT_MS);
  http1.on("request", (req, res) => {
    const socket = req.socket;
    registry.trackHttp1Request(socket, res);
    handle(req, res, registry.http1Info(socket) ?? fallbackInfo(socket));
  });
  http1.on("upgrade", (req, socket, head) => {
    registry.markUpgraded(req.socket);
    websockets.handleUpgrade(req, socket, head, registry.draining);
  });
  http1.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    logger.debug({ err: error }, "malformed HTTP/1.1 request");
    if (error.code === "ECONNRESET" || !socket.writable || responseStarted(socket)) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(error.code);
    const message = `malformed HTTP/1.1 request${error.code ? ` (${error.code})` : ""}`;
    socket.end(rawErrorResponse(status, message, identity.pod));
  });

  const http2 = createHttp2Server();
  http2.on("session", (session) => {
    registry.addHttp2(session, () => fallbackInfo(session.socket as Socket));
  });
  http2.on("request", (req, res) => {
    const info = registry.http2Info(req.stream.session) ?? fallbackInfo(req.socket);
    handle(req, res, info);
  });
  http2.on("sessionError", (error) => logger.debug({ err: error }, "HTTP/2 session error"));
  http2.on("streamError", (error) => logger.debug({ err: error }, "HTTP/2 stream error"));

  return { http1, http2 };
}
