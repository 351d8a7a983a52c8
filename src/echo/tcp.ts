// The raw TCP echo port: every byte a client sends comes straight back; nothing else is written.
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../base/logger.ts";

export interface TcpEcho {
  server: Server;
  /** Half-closes every connection (our FIN after the echoed bytes); new ones are refused. */
  drain(): void;
  destroyAll(): void;
}

export function createTcpEcho(logger: Logger): TcpEcho {
  const sockets = new Set<Socket>();
  let draining = false;
  const finish = (socket: Socket) => {
    socket.unpipe(socket);
    socket.end();
    socket.resume();
  };
  // allowHalfOpen: a client may finish sending and still read the rest of its echo.
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    socket.on("error", (error) => logger.debug({ err: error }, "tcp echo connection error"));
    if (draining) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.pipe(socket);
  });
  return {
    server,
    drain() {
      draining = true;
      for (const socket of sockets) finish(socket);
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
