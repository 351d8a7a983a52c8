// Per-cluster circuit breaker counters (Envoy's ResourceManager): acquire below the threshold or overflow.
import type { CircuitBreakerThresholds } from "./cluster-config.ts";

/**
 * What each resource guards, and what the caller does on overflow (Envoy's circuit breaking
 * arch overview): `connections` — no new connection, the request waits as pending;
 * `pendingRequests` / `requests` — answer 503 with response flag UO; `retries` — skip the retry.
 */
export type BreakerResource = "connections" | "pendingRequests" | "requests" | "retries";
export type RoutingPriority = "DEFAULT" | "HIGH";

const MAX_FIELD: Readonly<Record<BreakerResource, keyof CircuitBreakerThresholds>> = {
  connections: "maxConnections",
  pendingRequests: "maxPendingRequests",
  requests: "maxRequests",
  retries: "maxRetries",
};

type Counters = Record<BreakerResource, number>;

function zero(): Counters {
  return { connections: 0, pendingRequests: 0, requests: 0, retries: 0 };
}

const RESOURCE_INDEX: Readonly<Record<BreakerResource, number>> = {
  connections: 0,
  pendingRequests: 1,
  requests: 2,
  retries: 3,
};
const PRIORITY_OFFSET: Readonly<Record<RoutingPriority, number>> = { DEFAULT: 0, HIGH: 4 };

/** Slots of a counts array: 4 resources × 2 priorities. */
export const BREAKER_COUNT_SLOTS = 8;

/** A counts array every worker thread of the proxy can share (Envoy's breakers are per process). */
export function sharedBreakerCounts(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(BREAKER_COUNT_SLOTS * Int32Array.BYTES_PER_ELEMENT));
}

/** Counters per routing priority against thresholds that CDS updates may replace. */
export class CircuitBreakers {
  private thresholds: Readonly<Record<RoutingPriority, CircuitBreakerThresholds>>;
  /** Held units per priority and resource; updated atomically, as worker threads may share it. */
  readonly counts: Int32Array;
  /** Overflows per resource (Envoy's upstream_cx_overflow, upstream_rq_pending_overflow, …). */
  readonly overflows: Counters = zero();

  constructor(
    thresholds: Readonly<Record<RoutingPriority, CircuitBreakerThresholds>>,
    counts: Int32Array = new Int32Array(BREAKER_COUNT_SLOTS),
  ) {
    this.thresholds = thresholds;
    this.counts = counts;
  }

  /**
   * New limits from a CDS update; resources already held stay counted (a lowered limit only
   * refuses new acquisitions until enough are released).
   */
  setThresholds(thresholds: Readonly<Record<RoutingPriority, CircuitBreakerThresholds>>): void {
    this.thresholds = thresholds;
  }

  /**
   * One unit of `kind` and the function that gives it back (idempotent), or undefined when the
   * count has reached the threshold (Envoy's `canCreate()`: count < max).
   */
  tryAcquire(
    kind: BreakerResource,
    priority: RoutingPriority = "DEFAULT",
  ): (() => void) | undefined {
    const slot = PRIORITY_OFFSET[priority] + RESOURCE_INDEX[kind];
    const max = this.thresholds[priority][MAX_FIELD[kind]];
    const counts = this.counts;
    // Take the unit first and give it back on overflow, so that two threads racing for the
    // last unit cannot both get it (Envoy tolerates that overshoot; no harm in avoiding it).
    if (Atomics.add(counts, slot, 1) >= max) {
      Atomics.sub(counts, slot, 1);
      this.overflows[kind]++;
      return undefined;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      Atomics.sub(counts, slot, 1);
    };
  }

  /** Units of `kind` held now. */
  active(kind: BreakerResource, priority: RoutingPriority = "DEFAULT"): number {
    return Atomics.load(this.counts, PRIORITY_OFFSET[priority] + RESOURCE_INDEX[kind]);
  }

  /** Units left before overflow (Envoy's remaining_* gauges with track_remaining). */
  remaining(kind: BreakerResource, priority: RoutingPriority = "DEFAULT"): number {
    return Math.max(0, this.thresholds[priority][MAX_FIELD[kind]] - this.active(kind, priority));
  }

  /** Whether `kind` is at its limit (Envoy's cx_open, rq_pending_open, rq_open, rq_retry_open). */
  isOpen(kind: BreakerResource, priority: RoutingPriority = "DEFAULT"): boolean {
    return this.remaining(kind, priority) === 0;
  }
}
