// What a caller tells the load balancer about one pick (Envoy's LoadBalancerContext).
import type { Host } from "./host-set.ts";

export interface PickContext {
  /** The route's hash_policy result; ring hash and Maglev use a random value without one. */
  readonly hash?: bigint;
  /**
   * Host-selection attempt to start at (Envoy hands the attempt index to ring hash, which
   * steps along the ring, and Maglev, which perturbs the hash). Normally left unset.
   */
  readonly attempt?: number;
  /** Hosts the retry host predicate rejects (previous_hosts): picked again when possible. */
  readonly excluded?: ReadonlySet<Host>;
  /** retry_policy.host_selection_retry_max_attempts: re-picks allowed; default 1 (Envoy's). */
  readonly hostSelectionRetryMaxAttempts?: number;
}

/**
 * How many picks a context allows: one, plus the re-picks when some hosts are excluded. After
 * the last one the last host picked is used even if excluded, as in Envoy.
 */
export function selectionAttempts(context: PickContext | undefined): number {
  if (context?.excluded === undefined || context.excluded.size === 0) return 1;
  return 1 + Math.max(0, context.hostSelectionRetryMaxAttempts ?? 1);
}
