// One HTTP/1.1 connection pool per cluster host, admitting streams as Envoy's ConnPoolImplBase
// does: an idle keep-alive connection serves at once; otherwise the stream is a pending request
// (max_pending_requests, else overflow → 503 UO) until a connection is free or one may be opened
// within the cluster's max_connections; connections close after max_requests_per_connection.
import { Agent, type ClientRequest, type ClientRequestArgs } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { startHttp1Attempt } from "./upstream-http1.ts";
import type {
  AttemptCallbacks,
  PoolLimits,
  UpstreamAttempt,
  UpstreamRequestHead,
  UpstreamTarget,
  WireHeaders,
} from "./upstream-types.ts";

/** Free keep-alive sockets are closed before a typical server's own 5 s keep-alive timeout. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;

interface AgentHooks {
  opened(socket: Duplex): void;
  /** Whether a connection that has served `served` requests may be kept for another. */
  keep(served: number): boolean;
}

/** node's keep-alive Agent, telling the pool about each connection it opens and reuses. */
class PoolAgent extends Agent {
  private readonly hooks: AgentHooks;
  private readonly served = new WeakMap<Duplex, number>();

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
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback);
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
    if (!this.hooks.keep(this.served.get(socket) ?? 0)) return false;
    return (super.keepSocketAlive(socket) as unknown as boolean | undefined) !== false;
  }

  /** Connected keep-alive sockets waiting for a request. */
  idleCount(): number {
    let count = 0;
    for (const list of Object.values(this.freeSockets)) {
      for (const socket of list ?? []) if (!socket.destroyed) count++;
    }
    return count;
  }
}

/** A stream waiting for a connection: the request body is held until it is dispatched. */
class PendingAttempt implements UpstreamAttempt {
  private inner: UpstreamAttempt | undefined;
  private readonly chunks: Uint8Array[] = [];
  private ended: { trailers: WireHeaders | undefined } | undefined;
  private readonly drainListeners: Array<() => void> = [];
  private readonly onAbort: () => void;
  private readonly dispatchTo: (callbacks: AttemptCallbacks) => UpstreamAttempt;
  private readonly callbacks: AttemptCallbacks;
  aborted = false;

  constructor(
    onAbort: () => void,
    dispatchTo: (callbacks: AttemptCallbacks) => UpstreamAttempt,
    callbacks: AttemptCallbacks,
  ) {
    this.onAbort = onAbort;
    this.dispatchTo = dispatchTo;
    this.callbacks = callbacks;
  }

  dispatch(): void {
    const inner = this.dispatchTo(this.callbacks);
    this.inner = inner;
    for (const chunk of this.chunks.splice(0)) inner.write(chunk);
    for (const listener of this.drainListeners.splice(0)) inner.onDrain(listener);
    if (this.ended) inner.end(this.ended.trailers);
  }

  write(chunk: Uint8Array): boolean {
    if (this.inner) return this.inner.write(chunk);
    this.chunks.push(chunk);
    return true;
  }

  end(trailers?: WireHeaders): void {
    if (this.inner) this.inner.end(trailers);
    else this.ended = { trailers };
  }

  onDrain(listener: () => void): void {
    if (this.inner) this.inner.onDrain(listener);
    else this.drainListeners.push(listener);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.chunks.length = 0;
    this.onAbort();
    this.inner?.abort();
  }
}

/** The answer to a stream the pending-request limit refuses: an `overflow` reset, after start returns. */
function overflowAttempt(callbacks: AttemptCallbacks): UpstreamAttempt {
  let aborted = false;
  queueMicrotask(() => {
    if (!aborted) callbacks.onReset("overflow");
  });
  return {
    write: () => true,
    end() {},
    onDrain() {},
    abort() {
      aborted = true;
    },
  };
}

export class Http1Pool {
  private readonly agent: PoolAgent;
  private limits: PoolLimits | undefined;
  /** Connections this pool opened that are not closed yet. */
  private connections = 0;
  private readonly pending: PendingAttempt[] = [];

  constructor(target: UpstreamTarget) {
    this.agent = new PoolAgent(target, {
      opened: (socket) => this.opened(socket),
      keep: (served) => {
        const max = this.limits?.maxRequestsPerConnection ?? 0;
        return max === 0 || served < max;
      },
    });
    // After the agent's own listener has put the socket back among the free ones.
    this.agent.on("free", () => this.pump());
  }

  start(target: UpstreamTarget, head: UpstreamRequestHead, callbacks: AttemptCallbacks) {
    this.limits = target.limits;
    const dispatchTo = (cb: AttemptCallbacks) => startHttp1Attempt(this.agent, target, head, cb);
    if (this.agent.idleCount() > 0 && this.pending.length === 0) return dispatchTo(callbacks);
    // Envoy counts a stream as pending until a connection is ready for it, opening included.
    const releasePending = this.limits ? this.limits.breakers.tryAcquire("pendingRequests") : noop;
    if (!releasePending) return overflowAttempt(callbacks);
    const attempt: PendingAttempt = new PendingAttempt(
      () => {
        releasePending();
        const index = this.pending.indexOf(attempt);
        if (index >= 0) this.pending.splice(index, 1);
      },
      dispatchTo,
      {
        onConnected: () => {
          releasePending();
          callbacks.onConnected?.();
        },
        onResponse: (response) => {
          releasePending();
          callbacks.onResponse(response);
        },
        onReset: (reason, transportFailureReason) => {
          releasePending();
          callbacks.onReset(reason, transportFailureReason);
        },
      },
    );
    this.pending.push(attempt);
    this.pump();
    return attempt;
  }

  /** Dispatches pending streams while a connection is idle or one may be opened. */
  private pump(): void {
    while (this.pending.length > 0) {
      const breakers = this.limits?.breakers;
      // Envoy opens one connection even over the cluster's limit when the host has none, so
      // that its pending streams are never stranded.
      const mayOpen = !breakers || this.connections === 0 || breakers.remaining("connections") > 0;
      if (this.agent.idleCount() === 0 && !mayOpen) return;
      this.pending.shift()!.dispatch();
    }
  }

  private opened(socket: Duplex): void {
    this.connections++;
    // Over the limit only when this host had no connection (see pump): nothing to hold then.
    const breakers = this.limits?.breakers;
    const release =
      breakers && breakers.remaining("connections") > 0
        ? breakers.tryAcquire("connections")
        : undefined;
    socket.once("close", () => {
      this.connections--;
      release?.();
      this.pump();
    });
  }

  close(): void {
    for (const attempt of this.pending.splice(0)) attempt.aborted = true;
    this.agent.destroy();
  }
}

function noop(): void {}
