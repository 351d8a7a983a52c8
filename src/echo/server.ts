// startEchoServer: runs the HTTP port (HTTP/1.1, h2c or TLS, WebSocket), gRPC and TCP echo as one.
import { ConnectionRegistry } from "./connections.ts";
import { type GrpcEcho, startGrpcEcho } from "./grpc.ts";
import { createHttpServers } from "./http-servers.ts";
import { closeServer, createHttpListener, listenOn } from "./listener.ts";
import { type EchoIdentity, type EchoOptions, resolveEchoOptions } from "./options.ts";
import { createTcpEcho, type TcpEcho } from "./tcp.ts";
import { loadTlsServerOptions } from "./tls-config.ts";
import { WebSocketEcho } from "./websocket.ts";

export interface EchoStopOptions {
  /** Overrides the server's drain timeout for this stop; 0 cuts connections at once. */
  drainTimeoutMs?: number;
}

export interface EchoServer {
  /** The bound HTTP port (the real one when 0 was asked for). */
  readonly httpPort: number;
  readonly grpcPort?: number;
  readonly tcpPort?: number;
  /** The address every port is bound to. */
  readonly address: string;
  /** True when the HTTP port speaks TLS. */
  readonly tls: boolean;
  readonly identity: EchoIdentity;
  /**
   * Stops accepting, lets running requests finish (up to the drain timeout), closes idle
   * keep-alive connections and HTTP/2 sessions (GOAWAY), and resolves once all is closed.
   * Calling it again returns the same promise; a call with drainTimeoutMs 0 cuts at once.
   */
  stop(options?: EchoStopOptions): Promise<void>;
}

export async function startEchoServer(options: EchoOptions = {}): Promise<EchoServer> {
  const resolved = resolveEchoOptions(options);
  const { identity, logger, host } = resolved;
  const tlsOptions = resolved.tls ? await loadTlsServerOptions(resolved.tls) : undefined;
  const registry = new ConnectionRegistry();
  const websockets = new WebSocketEcho(identity.pod, logger);
  const servers = createHttpServers({ identity, logger, registry, websockets });
  const listener = createHttpListener({ servers, registry, logger, tls: tlsOptions });
  let grpc: GrpcEcho | undefined;
  let tcp: TcpEcho | undefined;
  let httpPort: number;
  let tcpPort: number | undefined;
  try {
    httpPort = await listenOn(listener, host, resolved.port, logger);
    if (resolved.grpcPort !== undefined) {
      grpc = await startGrpcEcho(identity, host, resolved.grpcPort, logger);
    }
    if (resolved.tcpPort !== undefined) {
      tcp = createTcpEcho(logger);
      tcpPort = await listenOn(tcp.server, host, resolved.tcpPort, logger);
    }
  } catch (error) {
    listener.close();
    grpc?.destroyAll();
    tcp?.server.close();
    throw error;
  }

  const cutEverything = () => {
    registry.destroyAll();
    websockets.terminateAll();
    tcp?.destroyAll();
    grpc?.destroyAll();
  };

  const drainAndClose = async (timeoutMs: number): Promise<void> => {
    logger.info({ drainTimeoutMs: timeoutMs }, "echo server draining");
    const closed = Promise.all([
      closeServer(listener),
      tcp ? closeServer(tcp.server) : undefined,
      grpc?.drain(),
    ]);
    registry.drain();
    websockets.closeAll();
    tcp?.drain();
    const deadline = setTimeout(cutEverything, timeoutMs);
    try {
      await closed;
    } finally {
      clearTimeout(deadline);
    }
    logger.info("echo server stopped");
  };

  let stopping: Promise<void> | undefined;
  const server: EchoServer = {
    httpPort,
    address: host,
    tls: tlsOptions !== undefined,
    identity,
    stop(stopOptions) {
      const timeoutMs = stopOptions?.drainTimeoutMs ?? resolved.drainTimeoutMs;
      if (stopping) {
        if (timeoutMs <= 0) cutEverything();
        return stopping;
      }
      stopping = drainAndClose(timeoutMs);
      return stopping;
    },
  };
  return Object.freeze({
    ...server,
    ...(grpc ? { grpcPort: grpc.port } : {}),
    ...(tcpPort !== undefined ? { tcpPort } : {}),
  });
}
