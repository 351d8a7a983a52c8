// The listener filters' view of a new connection (tls_inspector, http_inspector): peek at the
// first bytes without consuming them, bounded in size and time, then put them back.
import type { Socket } from "node:net";
import { setTimeoutMs } from "../../base/timer.ts";
import { MAX_HTTP_INSPECT_BYTES } from "../listener/detect-http.ts";
import {
  detectHttp,
  detectTransport,
  needsHttpInspector,
  needsTlsInspector,
} from "../listener/index.ts";
import type { ConnectionInfo, ListenerConfig } from "../listener/types.ts";

export interface Inspection {
  info: ConnectionInfo;
  /** The h2c preface was seen (HTTP/2 with prior knowledge). */
  h2c: boolean;
}

function stripMapped(ip: string | undefined): string {
  if (!ip) return "";
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}

/**
 * Reads until `done(bytes)` says enough, the peer stops sending (timeout), or the limit; the bytes
 * go back into the socket. Resolves with what was read (possibly empty).
 */
function peek(
  socket: Socket,
  done: (bytes: Buffer) => boolean,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve) => {
    let buffered: Buffer = Buffer.alloc(0);
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      if (timer) clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("end", finish);
      socket.removeListener("close", finish);
      socket.pause();
      if (buffered.length > 0) socket.unshift(buffered);
      resolve(buffered);
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (done(buffered) || buffered.length >= MAX_HTTP_INSPECT_BYTES) finish();
    };
    socket.on("data", onData);
    socket.once("end", finish);
    socket.once("close", finish);
    timer = setTimeoutMs(finish, timeoutMs);
    socket.resume();
  });
}

/**
 * Envoy's AUTO codec on a TLS connection that negotiated no ALPN: whether the decrypted stream
 * starts with the HTTP/2 preface (the bytes stay in the socket).
 */
export async function sniffHttp2Preface(socket: Socket, timeoutMs: number): Promise<boolean> {
  const bytes = await peek(socket, (b) => detectHttp(b) !== "need-more", timeoutMs);
  return detectHttp(bytes) === "h2c";
}

/** Runs the listener's inspectors (and, for HTTP chains, preface detection) on a connection. */
export async function inspectConnection(
  socket: Socket,
  listener: ListenerConfig,
  options: {
    /**
     * Whether the connection, as known before reading anything, still needs its first bytes to
     * tell HTTP/2 prior knowledge from HTTP/1 (asked only when no listener filter reads them).
     */
    sniffH2c: (info: ConnectionInfo) => boolean;
  },
): Promise<Inspection> {
  const info: ConnectionInfo = {
    destinationIp: stripMapped(socket.localAddress),
    destinationPort: socket.localPort ?? 0,
    transportProtocol: "raw_buffer",
    applicationProtocols: [],
    sourceIp: stripMapped(socket.remoteAddress),
    sourcePort: socket.remotePort ?? 0,
  };
  const tls = needsTlsInspector(listener, info.destinationPort);
  const http = needsHttpInspector(listener, info.destinationPort);
  // With no listener filter the bytes cannot change the chain, so a chain that does not care
  // about them (tcp_proxy: server-first protocols such as MySQL or SMTP) gets the socket at once.
  if (!tls && !http && !options.sniffH2c(info)) return { info, h2c: false };
  const timeout = listener.listenerFiltersTimeoutMs;
  const bytes = await peek(
    socket,
    (b) => {
      const t = detectTransport(b);
      if (t.kind === "need-more") return false;
      if (t.kind === "tls") return true;
      return detectHttp(b) !== "need-more";
    },
    timeout,
  );
  let h2c = false;
  const transport = detectTransport(bytes);
  if (tls && transport.kind === "tls") {
    info.transportProtocol = "tls";
    if (transport.serverName) info.serverName = transport.serverName;
    info.applicationProtocols = transport.applicationProtocols;
  } else {
    const detected = detectHttp(bytes);
    h2c = detected === "h2c";
    if (http && detected !== undefined && detected !== "need-more")
      info.applicationProtocols = [detected];
  }
  return { info, h2c };
}
