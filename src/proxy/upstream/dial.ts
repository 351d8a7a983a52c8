// Opening one upstream TCP connection the way Envoy's connection pools do: bounded by the cluster's
// connect_timeout, from the proxy's source address, with failures classified as stream reset
// reasons (UF) and Envoy's transport failure text.
import { connect, type Socket } from "node:net";
import { setTimeoutMs } from "../../base/timer.ts";
import type { StreamResetReason } from "../http/reset-reason.ts";

export interface DialOptions {
  address: string;
  port: number;
  connectTimeoutMs: number;
  /** Source address to bind (the pod IP in the local runtime, 127.0.0.6 for inbound clusters). */
  localAddress?: string;
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

/** A socket error during connect → the reset reason and text Envoy reports for it. */
export function dialFailure(err: NodeJS.ErrnoException): DialError {
  const code = err.code ?? "";
  const text = ERRNO_TEXT[code] ?? err.message;
  // Binding the source address failed locally; everything else is the remote side's answer.
  const local = code === "EADDRNOTAVAIL" || code === "EADDRINUSE" || err.syscall === "bind";
  return new DialError(
    local ? "local_connection_failure" : "remote_connection_failure",
    `delayed connect error: ${text}`,
  );
}

/** Connects, or rejects with a DialError; the socket has no timeout and no-delay set. */
export function dial(options: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: options.address,
      port: options.port,
      noDelay: true,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: DialError): void => {
      if (timer) clearTimeout(timer);
      socket.removeListener("connect", onConnect);
      socket.destroy();
      reject(error);
    };
    const onError = (err: NodeJS.ErrnoException): void => fail(dialFailure(err));
    const onConnect = (): void => {
      if (timer) clearTimeout(timer);
      socket.removeListener("error", onError);
      resolve(socket);
    };
    socket.once("connect", onConnect);
    socket.once("error", onError);
    timer = setTimeoutMs(
      () => fail(new DialError("connection_timeout", "connect timeout")),
      options.connectTimeoutMs,
    );
  });
}
