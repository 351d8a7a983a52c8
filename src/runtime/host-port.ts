// A host port of the local runtime: listens on the machine (the ingress gateway's 8080 at
// http://localhost:8080) and relays each connection as TCP to a pod's address, with half-close
// and resets passed through both ways (relay.ts).
import { createServer, type Socket } from "node:net";
import { CremaError } from "../base/errors.ts";
import type { Logger } from "../base/logger.ts";
import { connectAndRelay, resetSocket } from "./relay.ts";

export interface HostPortTarget {
  host: string;
  port: number;
}

export interface HostPortOptions {
  /** Address to listen on, such as "127.0.0.1". */
  host: string;
  /** Port to listen on; 0 picks a free one (see HostPort.port). */
  port: number;
  /** Where connections go: fixed, or asked per connection (the pod may have moved). */
  target: HostPortTarget | (() => HostPortTarget | undefined);
  /** The flag that sets `port`, named when it is taken: `--ingress-port`, `--ingress-tls-port`. */
  flag: string;
  logger: Logger;
}

export interface HostPort {
  readonly host: string;
  /** The bound port (the chosen one when `port` was 0). */
  readonly port: number;
  /** Stops listening and resets the open connections. */
  close(): Promise<void>;
}

/**
 * Listens on `host:port` and relays every connection to the target. Throws
 * CREMA_RUNTIME_PORT_IN_USE when the port is taken; a connection with no target, or whose
 * target refuses, is reset.
 */
export async function publishHostPort(options: HostPortOptions): Promise<HostPort> {
  const { host, flag, logger, target: fixed } = options;
  const targetOf = typeof fixed === "function" ? fixed : () => fixed;
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };
  const server = createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    client.on("error", () => {});
    const target = targetOf();
    if (!target) {
      logger.debug({ flag }, "host port: no target to relay to");
      resetSocket(client);
      return;
    }
    const upstream = connectAndRelay({
      client,
      target,
      onConnectError: (error) => {
        logger.debug(
          { flag, target: `${target.host}:${target.port}`, code: error.code },
          "host port: target connect failed",
        );
        resetSocket(client);
      },
    });
    track(upstream);
  });
  await new Promise<void>((done, fail) => {
    server.once("error", fail);
    server.listen({ host, port: options.port }, () => {
      server.off("error", fail);
      done();
    });
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "EADDRINUSE") throw error;
    throw new CremaError(
      "CREMA_RUNTIME_PORT_IN_USE",
      `cannot listen on ${host}:${options.port}: the port is already in use; stop what holds it or choose another port with ${flag} (0 picks a free one)`,
      { cause: error },
    );
  });
  server.on("error", (error) => logger.warn({ err: error }, "host port: listener error"));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    host,
    port,
    async close() {
      for (const socket of sockets) resetSocket(socket);
      if (server.listening) await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
