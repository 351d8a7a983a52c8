// Opening one upstream connection the way Envoy's connection pools do: TCP, or TLS over it when
// the host's transport socket says so (the one place upstream connections are opened), bounded by
// the cluster's connect_timeout (which covers the TLS handshake), from the proxy's source address,
// with failures classified as stream reset reasons (UF) and Envoy's transport failure text.
import { connect, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { setTimeoutMs } from "../../base/timer.ts";
import type { StreamResetReason } from "../http/reset-reason.ts";
import type { UpstreamTlsConnector, UpstreamTlsTarget } from "../tls/upstream-tls.ts";
import { hostAddress } from "./lb/host-set.ts";

/** A connection's own address as Envoy prints one (`ip:port`, `[ipv6]:port`). */
export function socketLocalAddress(socket: Socket | undefined): string | undefined {
  const address = socket?.localAddress;
  const port = socket?.localPort;
  return address && port !== undefined ? hostAddress({ address, port }) : undefined;
}

/** TLS for one connection: the proxy's connector and the host's context. */
export interface UpstreamTls {
  connector: UpstreamTlsConnector;
  target: UpstreamTlsTarget;
}

export interface ConnectionOptions {
  address: string;
  port: number;
  /** Source address to bind (the pod IP in the local runtime, 127.0.0.6 for inbound clusters). */
  localAddress?: string;
  /** Absent: plain TCP (raw_buffer). */
  tls?: UpstreamTls;
}

export interface DialOptions extends ConnectionOptions {
  connectTimeoutMs: number;
}

export class DialError extends Error {
  readonly reason: StreamResetReason;
  /** Envoy's "transport failure reason" (e.g. "delayed connect error: Connection refused"). */
  readonly transportFailureReason: string;
  constructor(reason: StreamResetReason, transportFailureReason: string) {
    super(`upstream connect failed: ${transportFailureReason}`);
    this.reason = reason;
    this.transportFailureReason = transportFailureReason;
  }
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ECONNREFUSED: "Connection refused",
  ECONNRESET: "Connection reset by peer",
  EHOSTUNREACH: "No route to host",
  ENETUNREACH: "Network is unreachable",
  ETIMEDOUT: "Connection timed out",
  EADDRNOTAVAIL: "Cannot assign requested address",
};

/** Envoy's text when the server's certificate fails verification (its BoringSSL error). */
export const TLS_VERIFY_FAILED =
  "TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end";

/** A handshake error from OpenSSL, in Envoy's `TLS_error:|…:TLS_error_end` shape. */
function tlsErrorText(err: NodeJS.ErrnoException & { library?: string; reason?: string }): string {
  const reason = (err.reason ?? err.message).toUpperCase().replaceAll(" ", "_");
  return `TLS_error:|${err.library ?? "SSL routines"}:${reason}:TLS_error_end`;
}

/** A socket error during connect → the reset reason and text Envoy reports for it. */
export function dialFailure(err: NodeJS.ErrnoException): DialError {
  if (err instanceof DialError) return err;
  const code = err.code ?? "";
  if (code.startsWith("ERR_SSL_") || (err as { library?: string }).library === "SSL routines")
    return new DialError("remote_connection_failure", tlsErrorText(err));
  const text = ERRNO_TEXT[code] ?? err.message;
  // Binding the source address failed locally; everything else is the remote side's answer.
  const local = code === "EADDRNOTAVAIL" || code === "EADDRINUSE" || err.syscall === "bind";
  return new DialError(
    local ? "local_connection_failure" : "remote_connection_failure",
    `delayed connect error: ${text}`,
  );
}

/**
 * Opens a connection (TLS when `options.tls`). A TLS socket holds what is written to it until the
 * server's certificate is accepted, and is destroyed with a DialError when it is not, so no byte
 * reaches a server that fails verification. `guard: false` leaves the verdict to the caller
 * (tlsFailure), for users that read the socket natively (HTTP/2 sessions).
 */
export function openConnection(options: ConnectionOptions, guard = true): Socket {
  const local = options.localAddress ? { localAddress: options.localAddress } : {};
  if (!options.tls) {
    return connect({ host: options.address, port: options.port, noDelay: true, ...local });
  }
  const { connector, target } = options.tls;
  const { socket, failure } = connector.connect(
    { host: options.address, port: options.port, ...local },
    target,
  );
  if (failure) {
    process.nextTick(() => socket.destroy(new DialError("local_connection_failure", failure)));
    return socket;
  }
  if (guard) {
    socket.cork();
    socket.once("secureConnect", () => {
      const refused = tlsFailure(socket, options.tls);
      if (refused) socket.destroy(refused);
      else socket.uncork();
    });
  }
  return socket;
}

/** Why a TLS connection's server was refused (Envoy's CERTIFICATE_VERIFY_FAILED), if it was. */
export function tlsFailure(socket: Socket, tls: UpstreamTls | undefined): DialError | undefined {
  if (!tls) return undefined;
  return tls.connector.verificationFailure(socket as TLSSocket) !== undefined
    ? new DialError("remote_connection_failure", TLS_VERIFY_FAILED)
    : undefined;
}

/** The event that says a socket from openConnection is ready to carry bytes. */
export function readyEvent(options: ConnectionOptions): "connect" | "secureConnect" {
  return options.tls ? "secureConnect" : "connect";
}

/** Connects, or rejects with a DialError; the socket has no timeout and no-delay set. */
export function dial(options: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = openConnection(options);
    const event = readyEvent(options);
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: DialError): void => {
      if (timer) clearTimeout(timer);
      socket.removeListener(event, onConnect);
      socket.destroy();
      reject(error);
    };
    const onError = (err: NodeJS.ErrnoException): void => fail(dialFailure(err));
    const onConnect = (): void => {
      // A refused server destroyed the socket in an earlier listener; its error follows.
      if (socket.destroyed) return;
      if (timer) clearTimeout(timer);
      socket.removeListener("error", onError);
      resolve(socket);
    };
    socket.once(event, onConnect);
    socket.once("error", onError);
    timer = setTimeoutMs(
      () => fail(new DialError("connection_timeout", "connect timeout")),
      options.connectTimeoutMs,
    );
  });
}
