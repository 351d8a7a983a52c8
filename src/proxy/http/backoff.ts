// Envoy's retry back-off strategies: fully jittered exponential (random in [0, interval), the
// interval doubling from base up to max) and, for rate-limited responses, a jittered lower bound.
import type { RandomSource } from "../routing/types.ts";

/** Envoy's JitteredExponentialBackOffStrategy; `random` returns a number in [0, 1). */
export class JitteredExponentialBackOff {
  readonly #max: number;
  readonly #random: RandomSource;
  #next: number;

  constructor(baseMs: number, maxMs: number, random: RandomSource) {
    this.#next = Math.max(1, baseMs);
    this.#max = Math.max(this.#next, maxMs);
    this.#random = random;
  }

  /** Retry N waits a uniform whole number of ms in [0, min(base × 2^(N−1), max)). */
  nextBackOffMs(): number {
    const interval = this.#next;
    this.#next = interval < this.#max / 2 ? interval * 2 : this.#max;
    return randomBelow(this.#random, interval);
  }
}

/** Envoy's JitteredLowerBoundBackOffStrategy: uniform in [min, 1.5 × min). */
export function jitteredLowerBoundMs(minMs: number, random: RandomSource): number {
  const spread = Math.floor(minMs / 2);
  return minMs + (spread > 0 ? randomBelow(random, spread) : 0);
}

function randomBelow(random: RandomSource, bound: number): number {
  return Math.min(bound - 1, Math.floor(random() * bound));
}
