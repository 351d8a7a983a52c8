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

/** Counters per routing priority against thresholds that CDS updates may replace. */
export class CircuitBreakers {
  private thresholds: Readonly<Record<RoutingPriority, CircuitBreakerThresholds>>;
  private readonly counts: Record<RoutingPriority, Counters> = { DEFAULT: zero(), HIGH: zero() };
  /** Overflows per resource (Envoy's upstream_cx_overflow, upstream_rq_pending_overflow, …). */
  readonly overflows: Counters = zero();

  constructor(thresholds: Readonly<Record<RoutingPriority, CircuitBreakerThresholds>>) {
    this.thresholds = thresholds;
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
    const counts = this.counts[priority];
    if (counts[kind] >= this.thresholds[priority][MAX_FIELD[kind]]) {
      this.overflows[kind]++;
      return undefined;
    }
    counts[kind]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      counts[kind]--;
    };
  }

  /** Units of `kind` held now. */
  active(kind: BreakerResource, priority: RoutingPriority = "DEFAULT"): number {
    return this.counts[priority][kind];
  }

  /** Units left before overflow (Envoy's remaining_* gauges with track_remaining). */
  remaining(kind: BreakerResource, priority: RoutingPriority = "DEFAULT"): number {
    return Math.max(0, this.thresholds[priority][MAX_FIELD[kind]] - this.counts[priority][kind]);
  }

  /** Whether `kind` is at its limit (Envoy's cx_open, rq_pending_open, rq_open, rq_retry_open). */
  isOpen(kind: BreakerResource, priority: RoutingPriority = "DEFAULT"): boolean {
    return this.remaining(kind, priority) === 0;
  }
}
