// Tracks the HTTP port's connections (what each is, how busy it is) and drains them on stop.
import type { Http2Session } from "node:http2";
import type { Socket } from "node:net";

/** Facts about one client connection, fixed when it is accepted. */
export interface ConnectionInfo {
  tls: boolean;
  peerCertificateUriSan: string | null;
  remoteAddress: string;
  remotePort: number;
}

/** Connection facts read off a socket (TLS peer identity is filled in by the listener). */
export function connectionInfo(
  socket: Socket,
  tls = false,
  peerCertificateUriSan: string | null = null,
): ConnectionInfo {
  return {
    tls,
    peerCertificateUriSan,
    remoteAddress: socket.remoteAddress ?? "",
    remotePort: socket.remotePort ?? 0,
  };
}

interface Http1State {
  info: ConnectionInfo;
  active: number;
  upgraded: boolean;
}

interface Closable {
  once(event: "close", listener: () => void): unknown;
}

/**
 * Every connection goes through three stages: accepted (raw socket, protocol unknown), handed to
 * the HTTP/1.1 server (counted per request so idle ones can be closed), or handed to the HTTP/2
 * server (a session, closed with GOAWAY). WebSocket connections leave HTTP/1.1 tracking when
 * upgraded; their owner closes them.
 */
export class ConnectionRegistry {
  readonly #accepted = new Set<Socket>();
  readonly #undecided = new Set<Socket>();
  readonly #http1 = new Map<Socket, Http1State>();
  readonly #http2 = new Map<Http2Session, ConnectionInfo>();
  #nextSessionInfo: ConnectionInfo | undefined;
  #draining = false;

  get draining(): boolean {
    return this.#draining;
  }

  /** A new TCP connection. Returns false (and destroys it) when the port is draining. */
  accept(socket: Socket): boolean {
    if (this.#draining) {
      socket.destroy();
      return false;
    }
    this.#accepted.add(socket);
    this.#undecided.add(socket);
    socket.once("close", () => {
      this.#accepted.delete(socket);
      this.#undecided.delete(socket);
    });
    return true;
  }

  /** The protocol is known (or TLS took over the socket); stop counting it as undecided. */
  decided(socket: Socket): void {
    this.#undecided.delete(socket);
  }

  addHttp1(socket: Socket, info: ConnectionInfo): void {
    this.#http1.set(socket, { info, active: 0, upgraded: false });
    socket.once("close", () => this.#http1.delete(socket));
  }

  /** Call around emitting the socket into the HTTP/2 server, which creates the session. */
  withSessionInfo(info: ConnectionInfo, hand: () => void): void {
    this.#nextSessionInfo = info;
    try {
      hand();
    } finally {
      this.#nextSessionInfo = undefined;
    }
  }

  addHttp2(session: Http2Session, fallback: () => ConnectionInfo): void {
    this.#http2.set(session, this.#nextSessionInfo ?? fallback());
    session.once("close", () => this.#http2.delete(session));
    if (this.#draining) session.close();
  }

  http1Info(socket: Socket): ConnectionInfo | undefined {
    return this.#http1.get(socket)?.info;
  }

  http2Info(session: Http2Session | undefined): ConnectionInfo | undefined {
    return session ? this.#http2.get(session) : undefined;
  }

  /** Counts an HTTP/1.1 request until its response closes; closes the socket if draining. */
  trackHttp1Request(socket: Socket, response: Closable): void {
    const state = this.#http1.get(socket);
    if (!state) return;
    state.active++;
    response.once("close", () => {
      state.active--;
      if (this.#draining && state.active === 0 && !state.upgraded) socket.destroySoon();
    });
  }

  markUpgraded(socket: Socket): void {
    const state = this.#http1.get(socket);
    if (state) state.upgraded = true;
  }

  /** Stops new work: closes undecided and idle connections, sends GOAWAY on HTTP/2 sessions. */
  drain(): void {
    this.#draining = true;
    for (const socket of this.#undecided) socket.destroy();
    for (const [socket, state] of this.#http1) {
      if (state.active === 0 && !state.upgraded) socket.destroySoon();
    }
    for (const session of this.#http2.keys()) {
      if (!session.closed) session.close();
    }
  }

  /** Cuts whatever is still open. */
  destroyAll(): void {
    this.#draining = true;
    for (const session of this.#http2.keys()) session.destroy();
    for (const socket of this.#http1.keys()) socket.destroy();
    for (const socket of this.#accepted) socket.destroy();
  }

  get size(): number {
    return this.#accepted.size;
  }
}
