// RING_HASH (ketama), built as Envoy builds it (ring_hash_lb.cc).

import { HashingLoadBalancer, type HashTable, hashKey, hashOf } from "./hashing-balancer.ts";
import type { Host } from "./host-set.ts";
import type { NormalizedHostWeights } from "./locality.ts";

export interface RingOptions {
  readonly minimumRingSize: number;
  readonly maximumRingSize: number;
  readonly useHostnameForHashing: boolean;
}

/**
 * The least-weighted host gets ceil(min_weight × minimum_ring_size) entries, others in
 * proportion, capped at maximum_ring_size; entry i of a host sits at
 * xxHash64("<address:port>_<i>"). A hash maps to the first entry at or after it, wrapping
 * around; host-selection retry k steps k entries further.
 */
export class Ring implements HashTable {
  /** Entry hashes in ascending order, as high and low halves, and each entry's host. */
  readonly hi: Uint32Array;
  readonly lo: Uint32Array;
  readonly hosts: readonly Host[];
  #shift = 0;
  #starts = new Uint32Array(0);

  constructor(weights: NormalizedHostWeights, options: RingOptions) {
    const scale =
      weights.hosts.length === 0
        ? 0
        : Math.min(
            Math.ceil(weights.min * options.minimumRingSize) / weights.min,
            options.maximumRingSize,
          );
    const entryHi: number[] = [];
    const entryLo: number[] = [];
    const entryHost: Host[] = [];
    // Running sums keep fractional shares stable: a host gets entries while current < target.
    let current = 0;
    let target = 0;
    weights.hosts.forEach((host, index) => {
      const key = `${hashKey(host, options.useHostnameForHashing)}_`;
      target += scale * weights.weights[index]!;
      for (let i = 0; current < target; i++, current++) {
        const hash = hashOf(key + i);
        entryHi.push(hash.hi);
        entryLo.push(hash.lo);
        entryHost.push(host);
      }
    });
    const order = Array.from(entryHi, (_, i) => i).sort(
      (a, b) => entryHi[a]! - entryHi[b]! || entryLo[a]! - entryLo[b]!,
    );
    this.hi = Uint32Array.from(order, (i) => entryHi[i]!);
    this.lo = Uint32Array.from(order, (i) => entryLo[i]!);
    this.hosts = order.map((i) => entryHost[i]!);
    // starts[b]: the first entry whose top bits are ≥ b, so a lookup searches one bucket.
    const bits = Math.min(20, Math.max(1, Math.ceil(Math.log2(Math.max(2, order.length)))));
    this.#shift = 32 - bits;
    this.#starts = new Uint32Array((1 << bits) + 1);
    let entry = 0;
    for (let bucket = 0; bucket <= 1 << bits; bucket++) {
      while (entry < order.length && this.hi[entry]! >>> this.#shift < bucket) entry++;
      this.#starts[bucket] = entry;
    }
  }

  get size(): number {
    return this.hosts.length;
  }

  /** Index of the first entry whose hash is ≥ (hi, lo), or 0 past the last one. */
  find(hi: number, lo: number): number {
    const hiArr = this.hi;
    const loArr = this.lo;
    const bucket = hi >>> this.#shift;
    let low = this.#starts[bucket]!;
    let high = this.#starts[bucket + 1]!;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const mh = hiArr[mid]!;
      if (mh < hi || (mh === hi && loArr[mid]! < lo)) low = mid + 1;
      else high = mid;
    }
    return low === hiArr.length ? 0 : low;
  }

  choose(hi: number, lo: number, attempt: number): Host | undefined {
    const n = this.hosts.length;
    if (n === 0) return undefined;
    const index = this.find(hi, lo);
    return this.hosts[attempt > 0 ? (index + attempt) % n : index];
  }
}

export class RingHashLoadBalancer extends HashingLoadBalancer {
  readonly policy = "RING_HASH" as const;

  protected createTable(weights: NormalizedHostWeights): Ring {
    return new Ring(weights, this.config);
  }
}
