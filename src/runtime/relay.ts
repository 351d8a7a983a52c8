// The local runtime's byte relay between two TCP sockets, shared by the node forwarder
// (kube-proxy's job) and the host-port relay: bytes unchanged both ways with back-pressure, a FIN
// forwarded as a half-close, and a reset on either side passed on as a reset (RST), never as a
// clean close — so a client can tell a STRICT sidecar's refusal from an answer.
import { connect, type Socket } from "node:net";

/** How a relay ended: "closed" when both directions ended with a FIN, "reset" otherwise. */
export type RelayEnd = "closed" | "reset";

/**
 * Aborts `socket` with a TCP RST (its peer sees ECONNRESET); a socket still connecting is just
 * abandoned. Safe to call on a socket that is already gone.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

/**
 * Relays between two connected sockets until both have closed. `backlog` is written to
 * `upstream` first (bytes read from `downstream` before the relay began). An error on one side
 * (ECONNRESET, EPIPE …) resets the other. Installs its own 'error' listeners.
 */
export function relay(
  downstream: Socket,
  upstream: Socket,
  backlog: readonly Buffer[] = [],
): Promise<RelayEnd> {
  // Half-close is the relay's job: without this Node ends a socket's writable side as soon as
  // its readable side ends, cutting off the answer that may still come the other way.
  downstream.allowHalfOpen = true;
  upstream.allowHalfOpen = true;
  let end: RelayEnd = "closed";
  const onError = (other: Socket) => () => {
    end = "reset";
    resetSocket(other);
  };
  downstream.on("error", onError(upstream));
  upstream.on("error", onError(downstream));
  // A side that closes before both of its directions ended (destroyed, or reset without an
  // error being reported) was not a clean close either.
  const onClose = (side: Socket, other: Socket) => () => {
    if (!(side.readableEnded && side.writableFinished)) onError(other)();
  };
  downstream.once("close", onClose(downstream, upstream));
  upstream.once("close", onClose(upstream, downstream));
  const closed = Promise.all([closeOf(downstream), closeOf(upstream)]).then(() => end);
  for (const chunk of backlog) upstream.write(chunk);
  // pipe() keeps back-pressure and forwards 'end' as end(): the peer sees a half-close.
  downstream.pipe(upstream);
  upstream.pipe(downstream);
  // A side that was already gone (destroyed before we got here) takes the other with it.
  if (downstream.destroyed) onClose(downstream, upstream)();
  if (upstream.destroyed) onClose(upstream, downstream)();
  return closed;
}

function closeOf(socket: Socket): Promise<void> {
  return socket.closed ? Promise.resolve() : new Promise((done) => socket.once("close", done));
}

export interface ConnectAndRelayOptions {
  /** The accepted connection; its bytes not yet consumed are relayed once connected. */
  client: Socket;
  /** Where to connect, and from which source address (a pod's IP). */
  target: { host: string; port: number; localAddress?: string };
  /** Bytes for the upstream before the client's own (a rewritten head, bytes read early). */
  backlog?: readonly Buffer[];
  /** Runs once connected, before relaying (a CONNECT's 200). */
  onConnect?: () => void;
  /** The connect failed while the client is still there; default: reset the client. */
  onConnectError?: (error: NodeJS.ErrnoException) => void;
}

/**
 * Opens the upstream connection for `client` and relays once it is connected; the client
 * leaving first abandons the connect. Returns the upstream socket, for its owner to track.
 */
export function connectAndRelay(options: ConnectAndRelayOptions): Socket {
  const { client, target } = options;
  client.pause();
  const upstream = connect({ ...target, allowHalfOpen: true });
  const quiet = (): void => {};
  const abandon = (): void => {
    upstream.destroy();
  };
  const onConnectError = (error: NodeJS.ErrnoException): void => {
    client.off("close", abandon);
    if (client.destroyed) return;
    if (options.onConnectError) options.onConnectError(error);
    else resetSocket(client);
  };
  client.on("error", quiet);
  client.once("close", abandon);
  upstream.once("error", onConnectError);
  upstream.once("connect", () => {
    client.off("close", abandon);
    client.off("error", quiet);
    upstream.off("error", onConnectError);
    options.onConnect?.();
    void relay(client, upstream, options.backlog);
  });
  return upstream;
}
