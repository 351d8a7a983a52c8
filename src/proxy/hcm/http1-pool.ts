// One HTTP/1.1 connection pool per cluster host, admitting streams as Envoy's ConnPoolImplBase
// does: an idle keep-alive connection serves at once; otherwise the stream is a pending request
// (max_pending_requests, else overflow → 503 UO) until a connection is free or one may be opened
// within the cluster's max_connections; connections close after max_requests_per_connection, and
// after max_connection_duration once their request is done (at once when idle). The
// pending queue (and its body high-water mark) is shared with the HTTP/2 pool: pending-streams.ts.
import type { ClientRequest, ClientRequestArgs } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { nodeHttp } from "../../base/node-http.ts";
import { noop } from "../../base/noop.ts";
import { setTimeoutMs } from "../../base/timer.ts";
import { openConnection, type UpstreamTls } from "../upstream/dial.ts";
import { holdConnectionSlot, mayOpenConnection, PendingStreams } from "./pending-streams.ts";
import { startHttp1Attempt } from "./upstream-http1.ts";
import type {
  AttemptCallbacks,
  PoolLimits,
  UpstreamAttempt,
  UpstreamRequestHead,
  UpstreamTarget,
} from "./upstream-types.ts";

const { Agent } = nodeHttp;

/** Free keep-alive sockets are closed before a typical server's own 5 s keep-alive timeout. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;

interface AgentHooks {
  opened(socket: Duplex): void;
  /** Whether a connection that has served `served` requests may be kept for another. */
  keep(served: number): boolean;
}

/** Connections past max_connection_duration: kept no longer than their current request. */
const expired = new WeakSet<Duplex>();

/** node's keep-alive Agent, telling the pool about each connection it opens and reuses. */
class PoolAgent extends Agent {
  private readonly hooks: AgentHooks;
  private readonly served = new WeakMap<Duplex, number>();
  private readonly tls: UpstreamTls | undefined;

  constructor(target: UpstreamTarget, hooks: AgentHooks) {
    super({
      keepAlive: true,
      // The pool decides when to open a connection; the agent never queues.
      maxSockets: Number.POSITIVE_INFINITY,
      maxFreeSockets: 1024,
      scheduling: "lifo",
      timeout:
        target.idleTimeoutMs > 0
          ? Math.min(target.idleTimeoutMs, FREE_SOCKET_TIMEOUT_MS)
          : FREE_SOCKET_TIMEOUT_MS,
      ...(target.sourceAddress ? { localAddress: target.sourceAddress } : {}),
    });
    this.hooks = hooks;
    this.tls = target.tls;
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    // TLS connections come from the one place upstream connections are opened (dial.ts), which
    // holds the request back until the server's certificate is accepted.
    const socket = this.tls
      ? openConnection({
          address: String(options.host),
          port: Number(options.port),
          ...(options.localAddress ? { localAddress: options.localAddress } : {}),
          tls: this.tls,
        })
      : super.createConnection(options, callback);
    if (socket) {
      this.served.set(socket, 1);
      this.hooks.opened(socket);
    }
    return socket;
  }

  override reuseSocket(socket: Socket, request: ClientRequest): void {
    this.served.set(socket, (this.served.get(socket) ?? 0) + 1);
    super.reuseSocket(socket, request);
  }

  override keepSocketAlive(socket: Duplex): boolean {
    if (expired.has(socket) || !this.hooks.keep(this.served.get(socket) ?? 0)) return false;
    return (super.keepSocketAlive(socket) as unknown as boolean | undefined) !== false;
  }

  /** Whether `socket` waits among the free ones for a request. */
  isFree(socket: Duplex): boolean {
    for (const name in this.freeSockets)
      if (this.freeSockets[name]?.includes(socket as Socket)) return true;
    return false;
  }

  /** Whether a connected keep-alive socket waits for a request (one per pool key, so cheap). */
  hasIdleSocket(): boolean {
    const free = this.freeSockets;
    for (const name in free) {
      const list = free[name];
      if (list) for (const socket of list) if (!socket.destroyed) return true;
    }
    return false;
  }
}

export class Http1Pool {
  private readonly agent: PoolAgent;
  private limits: PoolLimits | undefined;
  /** Connections this pool opened that are not closed yet. */
  private connections = 0;
  private readonly pending: PendingStreams<PoolAgent>;
  private readonly onEmpty: () => void;
  private readonly maxConnectionDurationMs: number | undefined;

  /** `onEmpty`: the pool has no connection and no pending stream left (Envoy's idle callback). */
  constructor(target: UpstreamTarget, onEmpty: () => void = noop) {
    this.onEmpty = onEmpty;
    this.maxConnectionDurationMs = target.maxConnectionDurationMs;
    this.agent = new PoolAgent(target, {
      opened: (socket) => this.opened(socket),
      keep: (served) => {
        const max = this.limits?.maxRequestsPerConnection ?? 0;
        return max === 0 || served < max;
      },
    });
    this.pending = new PendingStreams<PoolAgent>({
      ready: () => (this.agent.hasIdleSocket() ? this.agent : undefined),
      dispatch: startHttp1Attempt,
      pump: () => this.pump(),
    });
    // After the agent's own listener has put the socket back among the free ones.
    this.agent.on("free", () => this.pump());
  }

  start(
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ): UpstreamAttempt {
    this.limits = target.limits;
    return this.pending.admit(target, head, callbacks);
  }

  /** Dispatches pending streams while a connection is idle or one may be opened. */
  private pump(): void {
    while (this.pending.length > 0) {
      if (!this.agent.hasIdleSocket() && !mayOpenConnection(this.limits, this.connections)) return;
      this.pending.shift()!.dispatch(this.agent);
    }
  }

  private opened(socket: Duplex): void {
    this.connections++;
    const release = holdConnectionSlot(this.limits);
    const stats = this.limits?.stats;
    stats?.upstreamCxTotal.inc();
    stats?.upstreamCxActive.inc();
    const maxDuration = setTimeoutMs(() => {
      stats?.upstreamCxMaxDurationReached.inc();
      expired.add(socket);
      if (this.agent.isFree(socket)) socket.destroy();
    }, this.maxConnectionDurationMs ?? 0);
    socket.once("close", () => {
      if (maxDuration) clearTimeout(maxDuration);
      stats?.upstreamCxActive.dec();
      stats?.upstreamCxDestroy.inc();
      this.connections--;
      release?.();
      this.pump();
      if (this.connections === 0 && this.pending.length === 0) this.onEmpty();
    });
  }

  close(): void {
    this.pending.abandon();
    this.agent.destroy();
  }
}
