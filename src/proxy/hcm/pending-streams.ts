// The pending-request queue every upstream pool shares (Envoy's ConnPoolImplBase): a stream that
// cannot be assigned a connection at once waits here, counted against max_pending_requests
// (overflow → 503 UO), holding its request body up to a high-water mark until it is dispatched.
import { noop } from "../../base/noop.ts";
import type { StreamResetReason } from "../http/reset-reason.ts";
import type {
  AttemptCallbacks,
  PoolLimits,
  UpstreamAttempt,
  UpstreamRequestHead,
  UpstreamTarget,
  WireHeaders,
} from "./upstream-types.ts";

/**
 * Request body a stream waiting for a connection holds before it pushes back: small, as a waiting
 * stream should not hold much (Envoy read-disables the downstream past its buffer limit).
 */
const PENDING_HIGH_WATER_MARK_BYTES = 64 * 1024;

/** Starts a stream on a pool's connection `C`. */
export type DispatchStream<C> = (
  context: C,
  target: UpstreamTarget,
  head: UpstreamRequestHead,
  callbacks: AttemptCallbacks,
) => UpstreamAttempt;

/** What a pool gives its pending queue: how to find a ready connection, start a stream, pump. */
export interface PoolHooks<C> {
  /** A connection that takes a stream now, if any. */
  ready(): C | undefined;
  dispatch: DispatchStream<C>;
  /** Dispatches pending streams and opens connections for them (called after one is queued). */
  pump(): void;
}

/**
 * A stream waiting for a connection. The body is held until dispatch, but `write` says false
 * above the high-water mark so the caller stops reading the downstream (Envoy read-disables it
 * past the buffer limit) instead of buffering a whole upload in memory.
 */
class PendingAttempt<C> implements UpstreamAttempt {
  private inner: UpstreamAttempt | undefined;
  private readonly chunks: Uint8Array[] = [];
  private bufferedBytes = 0;
  private ended: { trailers: WireHeaders | undefined } | undefined;
  private readonly drainListeners: Array<() => void> = [];
  private readonly onAbort: () => void;
  private readonly dispatchTo: DispatchStream<C>;
  private readonly target: UpstreamTarget;
  private readonly head: UpstreamRequestHead;
  private readonly callbacks: AttemptCallbacks;
  aborted = false;

  constructor(
    onAbort: () => void,
    dispatchTo: DispatchStream<C>,
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ) {
    this.onAbort = onAbort;
    this.dispatchTo = dispatchTo;
    this.target = target;
    this.head = head;
    this.callbacks = callbacks;
  }

  dispatch(context: C): void {
    const inner = this.dispatchTo(context, this.target, this.head, this.callbacks);
    this.inner = inner;
    let flowing = true;
    for (const chunk of this.chunks.splice(0)) flowing = inner.write(chunk);
    this.bufferedBytes = 0;
    if (this.ended) inner.end(this.ended.trailers);
    // Whoever was told to wait resumes once the real stream can take more.
    const listeners = this.drainListeners.splice(0);
    if (flowing) for (const listener of listeners) listener();
    else for (const listener of listeners) inner.onDrain(listener);
  }

  /** The pool could not get a connection for this stream (Envoy purges pending streams then). */
  fail(reason: StreamResetReason, transportFailureReason?: string): void {
    if (this.aborted || this.inner) return;
    this.aborted = true;
    this.chunks.length = 0;
    this.drainListeners.length = 0;
    this.callbacks.onReset(reason, transportFailureReason);
  }

  write(chunk: Uint8Array): boolean {
    if (this.inner) return this.inner.write(chunk);
    if (this.aborted) return true;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.byteLength;
    return this.bufferedBytes < PENDING_HIGH_WATER_MARK_BYTES;
  }

  end(trailers?: WireHeaders): void {
    if (this.inner) this.inner.end(trailers);
    else this.ended = { trailers };
  }

  onDrain(listener: () => void): void {
    if (this.inner) this.inner.onDrain(listener);
    else if (!this.aborted) this.drainListeners.push(listener);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.chunks.length = 0;
    this.drainListeners.length = 0;
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

/** A pool's pending streams, FIFO; `C` is the connection the pool dispatches a stream to. */
export class PendingStreams<C> {
  private readonly queue: PendingAttempt<C>[] = [];
  private readonly hooks: PoolHooks<C>;

  constructor(hooks: PoolHooks<C>) {
    this.hooks = hooks;
  }

  get length(): number {
    return this.queue.length;
  }

  /**
   * Admits a stream as Envoy's ConnPoolImplBase does: straight onto a ready connection when no
   * stream waits before it, else pending (holding a pendingRequests slot until it has a
   * connection — Envoy counts a stream as pending until its connection is ready, opening
   * included), or answered with overflow when the cluster's max_pending_requests is reached.
   */
  admit(
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ): UpstreamAttempt {
    if (this.queue.length === 0) {
      const ready = this.hooks.ready();
      if (ready !== undefined) return this.hooks.dispatch(ready, target, head, callbacks);
    }
    const limits = target.limits;
    const releasePending = limits ? limits.breakers.tryAcquire("pendingRequests") : noop;
    if (!releasePending) return overflowAttempt(callbacks);
    const attempt: PendingAttempt<C> = new PendingAttempt<C>(
      () => {
        releasePending();
        const index = this.queue.indexOf(attempt);
        if (index >= 0) this.queue.splice(index, 1);
      },
      this.hooks.dispatch,
      target,
      head,
      {
        onConnected: (ssl, localAddress) => {
          releasePending();
          callbacks.onConnected?.(ssl, localAddress);
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
    this.queue.push(attempt);
    this.hooks.pump();
    return attempt;
  }

  /** The oldest pending stream, taken off the queue to be dispatched. */
  shift(): PendingAttempt<C> | undefined {
    return this.queue.shift();
  }

  /** Fails every pending stream (their connection could not be established). */
  failAll(reason: StreamResetReason, transportFailureReason?: string): void {
    for (const attempt of this.queue.splice(0)) attempt.fail(reason, transportFailureReason);
  }

  /** Forgets every pending stream without a callback (the pool is closing). */
  abandon(): void {
    for (const attempt of this.queue.splice(0)) attempt.aborted = true;
  }
}

/**
 * A `connections` slot for a connection just opened. Pools open one connection even over the
 * cluster's limit when the host has none (so its pending streams are never stranded); there is
 * nothing to hold then.
 */
export function holdConnectionSlot(limits: PoolLimits | undefined): (() => void) | undefined {
  const breakers = limits?.breakers;
  return breakers && breakers.remaining("connections") > 0
    ? breakers.tryAcquire("connections")
    : undefined;
}

/** Whether a pool with `open` connections to its host may open another within the cluster's limit. */
export function mayOpenConnection(limits: PoolLimits | undefined, open: number): boolean {
  const breakers = limits?.breakers;
  return !breakers || open === 0 || breakers.remaining("connections") > 0;
}
