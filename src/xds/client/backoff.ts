// Exponential back-off with jitter for ADS stream retries (Envoy's defaults: 500 ms doubling to 30 s).
import type { BackoffOptions } from "./types.ts";

export const DEFAULT_BACKOFF = { initialMs: 500, maxMs: 30_000 } as const;

/**
 * The n-th consecutive retry waits a random time in [bound/2, bound], where bound starts at
 * `initialMs` and doubles up to `maxMs`. Envoy jitters over [0, bound); keeping the lower half
 * out guarantees a pause even with unlucky draws. `reset()` once a stream proves healthy.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = Math.max(1, options.initialMs ?? DEFAULT_BACKOFF.initialMs);
    this.#maxMs = Math.max(this.#initialMs, options.maxMs ?? DEFAULT_BACKOFF.maxMs);
    this.#random = options.random ?? Math.random;
  }

  /** Consecutive retries so far (since the last reset). */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next retry, counting it as one more attempt. */
  next(): number {
    const bound = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    const r = Math.min(Math.max(this.#random(), 0), 1);
    return Math.round(bound / 2 + (bound / 2) * r);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
