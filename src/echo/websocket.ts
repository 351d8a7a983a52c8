// WebSocket echo at /ws: takes HTTP/1.1 upgrades and sends every message back as it came.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { Logger } from "../base/logger.ts";
import { rawErrorResponse } from "./responses.ts";

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** True for an upgrade request this server takes: a WebSocket handshake for /ws. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== "websocket") return false;
  const url = req.url ?? "";
  return url === "/ws" || url.startsWith("/ws?");
}

export class WebSocketEcho {
  readonly #server: WebSocketServer;
  readonly #pod: string;
  readonly #logger: Logger;

  constructor(pod: string, logger: Logger) {
    this.#pod = pod;
    this.#logger = logger;
    this.#server = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
    });
    this.#server.on("headers", (headers) => {
      headers.push(`x-crema-pod: ${pod}`);
    });
  }

  /** Completes (or refuses) an upgrade that the HTTP/1.1 server handed over. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, draining: boolean): void {
    socket.on("error", () => {});
    if (draining || !isWebSocketUpgrade(req)) {
      const [status, message] = draining
        ? [503, "the server is shutting down"]
        : [400, "only WebSocket upgrades to /ws are accepted"];
      socket.end(rawErrorResponse(status, message, this.#pod));
      return;
    }
    this.#server.handleUpgrade(req, socket, head, (ws) => this.#echo(ws));
  }

  #echo(ws: WebSocket): void {
    ws.on("error", (error) => this.#logger.debug({ err: error }, "websocket error"));
    ws.on("message", (data, isBinary) => {
      ws.send(data, { binary: isBinary });
    });
  }

  /** Starts the closing handshake on every open socket ("going away"). */
  closeAll(): void {
    for (const ws of this.#server.clients) ws.close(1001, "server shutting down");
  }

  terminateAll(): void {
    for (const ws of this.#server.clients) ws.terminate();
  }

  get openCount(): number {
    return this.#server.clients.size;
  }
}
