// HTTP/2 upstream connection pool per cluster host, as Envoy's multiplexed pool admits streams: a
// stream goes to a connected session with stream capacity (the peer's max_concurrent_streams and
// max_requests_per_connection), else it is pending (max_pending_requests, else overflow → 503 UO)
// while a new session opens within the cluster's max_connections; sessions are replaced when
// they close, receive GOAWAY or reach max_connection_duration (then they drain: no new stream,
// closed once their streams end); connect timeout and reset classification as Envoy reports them.
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import type { Socket } from "node:net";
import { noop } from "../../base/noop.ts";
import { armsTimer, setTimeoutMs } from "../../base/timer.ts";
import { upstreamSslInfo } from "../tls/upstream-ssl-info.ts";
import {
  DialError,
  dialFailure,
  openConnection,
  socketLocalAddress,
  tlsFailure,
} from "../upstream/dial.ts";
import { holdConnectionSlot, mayOpenConnection, PendingStreams } from "./pending-streams.ts";
import type {
  AttemptCallbacks,
  PoolLimits,
  UpstreamAttempt,
  UpstreamRequestHead,
  UpstreamTarget,
  WireHeaders,
} from "./upstream-types.ts";

/** One session of a pool. */
interface Http2Client {
  session: ClientHttp2Session;
  /** The connection under the session (its certificates are the streams' upstream SSL info). */
  socket: Socket;
  connected: boolean;
  failure?: DialError;
  /** Streams open on it now. */
  active: number;
  /** Streams it has carried, for max_requests_per_connection. */
  served: number;
  /** GOAWAY received, closing or out of requests: it takes no new stream. */
  draining: boolean;
}

export class Http2Pool {
  private readonly target: UpstreamTarget;
  private limits: PoolLimits | undefined;
  private readonly clients = new Set<Http2Client>();
  private readonly pending: PendingStreams<Http2Client>;
  private readonly onEmpty: () => void;

  /** `onEmpty`: the pool has no session and no pending stream left (Envoy's idle callback). */
  constructor(target: UpstreamTarget, onEmpty: () => void = noop) {
    this.target = target;
    this.limits = target.limits;
    this.onEmpty = onEmpty;
    this.pending = new PendingStreams<Http2Client>({
      ready: () => this.readyClient(),
      dispatch: (client, _target, head, callbacks) => this.startOn(client, head, callbacks),
      pump: () => this.pump(),
    });
  }

  start(
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ): UpstreamAttempt {
    this.limits = target.limits;
    return this.pending.admit(target, head, callbacks);
  }

  close(): void {
    this.pending.abandon();
    for (const client of this.clients) client.session.close();
    this.clients.clear();
  }

  private maxRequestsPerConnection(): number {
    return this.limits?.maxRequestsPerConnection ?? 0;
  }

  /** Streams `client` may take now. */
  private capacity(client: Http2Client): number {
    const session = client.session;
    if (!client.connected || client.draining || session.closed || session.destroyed) return 0;
    const peerMax = session.remoteSettings.maxConcurrentStreams ?? Number.POSITIVE_INFINITY;
    let capacity = peerMax - client.active;
    const max = this.maxRequestsPerConnection();
    if (max > 0) capacity = Math.min(capacity, max - client.served);
    return capacity;
  }

  private readyClient(): Http2Client | undefined {
    for (const client of this.clients) if (this.capacity(client) > 0) return client;
    return undefined;
  }

  /** Streams the sessions still connecting will take (Envoy's connecting stream capacity). */
  private connectingCapacity(): number {
    const max = this.maxRequestsPerConnection();
    let total = 0;
    for (const client of this.clients) {
      if (!client.connected && !client.draining) total += max > 0 ? max : Number.POSITIVE_INFINITY;
    }
    return total;
  }

  /** Dispatches pending streams to sessions with capacity; opens sessions for the rest. */
  private pump(): void {
    while (this.pending.length > 0) {
      const ready = this.readyClient();
      if (ready) {
        this.pending.shift()!.dispatch(ready);
        continue;
      }
      let open = 0;
      for (const client of this.clients) if (!client.draining) open++;
      if (this.pending.length <= this.connectingCapacity()) return;
      if (!mayOpenConnection(this.limits, open)) return;
      this.connect();
    }
  }

  private startOn(
    client: Http2Client,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ): UpstreamAttempt {
    client.active++;
    client.served++;
    const max = this.maxRequestsPerConnection();
    // Out of requests: it takes no new stream and closes once its streams finish (Envoy drains
    // it). Closing now would refuse the stream just opened, before it is sent.
    if (max > 0 && client.served >= max) client.draining = true;
    return new Http2Attempt(client, head, callbacks, () => {
      client.active--;
      if (client.draining && client.active === 0 && !client.session.closed) client.session.close();
      this.pump();
    });
  }

  private connect(): void {
    const target = this.target;
    // The session reads a TLS socket natively from its handshake on, so the server's verdict is
    // checked when the session connects, before any stream is dispatched to it.
    const socket = openConnection(
      {
        address: target.address,
        port: target.port,
        ...(target.sourceAddress ? { localAddress: target.sourceAddress } : {}),
        ...(target.tls ? { tls: target.tls } : {}),
      },
      false,
    );
    const session = connect(`http://${target.address}:${target.port}`, {
      createConnection: () => socket,
      settings: { enablePush: false },
    });
    const client: Http2Client = {
      session,
      socket,
      connected: false,
      active: 0,
      served: 0,
      draining: false,
    };
    this.clients.add(client);
    const release = holdConnectionSlot(this.limits);
    const stats = this.limits?.stats;
    stats?.upstreamCxTotal.inc();
    stats?.upstreamCxActive.inc();
    const timer = setTimeoutMs(() => {
      client.failure = new DialError("connection_timeout", "connect timeout");
      session.destroy();
    }, target.connectTimeoutMs);
    const maxDuration = setTimeoutMs(() => {
      stats?.upstreamCxMaxDurationReached.inc();
      client.draining = true;
      if (client.active === 0 && !session.closed) session.close();
      this.pump();
    }, target.maxConnectionDurationMs);
    session.once("connect", () => {
      if (timer) clearTimeout(timer);
      const refused = tlsFailure(socket, target.tls);
      if (refused) {
        client.failure = refused;
        session.destroy();
        return;
      }
      client.connected = true;
      this.pump();
    });
    // The peer's SETTINGS may raise or lower how many streams it takes.
    session.on("remoteSettings", () => this.pump());
    session.on("error", (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (!client.connected && !client.failure) client.failure = dialFailure(err);
    });
    session.once("close", () => {
      if (timer) clearTimeout(timer);
      if (maxDuration) clearTimeout(maxDuration);
      stats?.upstreamCxActive.dec();
      stats?.upstreamCxDestroy.inc();
      client.draining = true;
      this.clients.delete(client);
      release?.();
      if (!client.connected) {
        // Envoy fails every pending stream when a connection cannot be established, so the
        // router decides (retry, or 503 UF) instead of the streams waiting on a dead host.
        const failure =
          client.failure ??
          new DialError("remote_connection_failure", "delayed connect error: connection closed");
        this.pending.failAll(failure.reason, failure.transportFailureReason);
      }
      this.pump();
      if (this.clients.size === 0 && this.pending.length === 0) this.onEmpty();
    });
    session.on("goaway", () => {
      client.draining = true;
      this.pump();
    });
    if (armsTimer(target.idleTimeoutMs))
      session.setTimeout(target.idleTimeoutMs, () => session.close());
  }
}

class Http2Attempt implements UpstreamAttempt {
  private readonly stream: ClientHttp2Stream;
  private settled = false;

  constructor(
    state: Http2Client,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
    onClosed: () => void,
  ) {
    const headers: Record<string, string | string[]> = {
      ...head.headers,
      [constants.HTTP2_HEADER_METHOD]: head.method,
      [constants.HTTP2_HEADER_PATH]: head.path,
      [constants.HTTP2_HEADER_SCHEME]: head.scheme,
      [constants.HTTP2_HEADER_AUTHORITY]: head.authority,
    };
    this.stream = state.session.request(headers, { endStream: false, waitForTrailers: false });
    const stream = this.stream;
    const connected = () =>
      callbacks.onConnected?.(upstreamSslInfo(state.socket), socketLocalAddress(state.socket));
    if (state.connected) connected();
    else state.session.once("connect", connected);
    let trailers: WireHeaders | undefined;
    stream.on("trailers", (t) => {
      trailers = stripPseudo(t as WireHeaders);
    });
    const fail = (): void => {
      if (this.settled) return;
      this.settled = true;
      if (state.failure) {
        callbacks.onReset(state.failure.reason, state.failure.transportFailureReason);
        return;
      }
      if (!state.connected) {
        callbacks.onReset("remote_connection_failure", "delayed connect error: connection closed");
        return;
      }
      const code = stream.rstCode;
      if (code === constants.NGHTTP2_REFUSED_STREAM)
        callbacks.onReset("remote_refused_stream_reset");
      else if (code !== undefined && code !== constants.NGHTTP2_NO_ERROR)
        callbacks.onReset("remote_reset");
      else callbacks.onReset("connection_termination");
    };
    stream.on("error", fail);
    stream.on("close", fail);
    stream.once("close", onClosed);
    stream.on("response", (h, flags: number) => {
      if (this.settled) return;
      this.settled = true;
      const status = Number(h[constants.HTTP2_HEADER_STATUS] ?? 502);
      callbacks.onResponse({
        status,
        headers: stripPseudo(h as WireHeaders),
        body: stream,
        trailers: () => trailers,
        // The frame's flags: a client stream's endAfterHeaders is still false at 'response'.
        endStream: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0,
      });
    });
  }

  write(chunk: Uint8Array): boolean {
    return this.stream.write(chunk);
  }

  /** Request trailers are not forwarded on HTTP/2 upstreams (gRPC requests carry none). */
  end(): void {
    this.stream.end();
  }

  onDrain(listener: () => void): void {
    this.stream.once("drain", listener);
  }

  abort(): void {
    this.settled = true;
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_CANCEL);
  }
}

function stripPseudo(headers: WireHeaders): WireHeaders {
  const out: WireHeaders = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
