// MAGLEV, built as Envoy builds it (maglev_lb.cc, after the Maglev paper's listing 1).

import { HashingLoadBalancer, type HashTable, hashKey, hashOf, mod64 } from "./hashing-balancer.ts";
import type { Host } from "./host-set.ts";
import type { NormalizedHostWeights } from "./locality.ts";

interface BuildEntry {
  readonly host: Host;
  readonly key: string;
  readonly weight: number;
  position: number;
  skip: number;
  target: number;
  count: number;
}

/**
 * Hosts sorted by hash key, each with offset = xxHash64(key) mod M and skip = xxHash64(key,
 * seed 1) mod (M−1) + 1, take turns claiming their next free slot of a table of prime size M
 * (default 65537), a host of weight w taking a turn every max/w rounds; a hash picks slot
 * hash mod M.
 */
export class MaglevTable implements HashTable {
  readonly size: number;
  /** Slot → index into `hosts`. */
  readonly slots: Int32Array;
  /** Hosts in hash-key order; `counts[i]` is how many slots host i holds. */
  readonly hosts: readonly Host[];
  readonly counts: readonly number[];

  constructor(weights: NormalizedHostWeights, size: number, useHostname: boolean) {
    this.size = size;
    const entries: BuildEntry[] = weights.hosts.map((host, i) => ({
      host,
      key: hashKey(host, useHostname),
      weight: weights.weights[i]!,
      position: 0,
      skip: 0,
      target: 0,
      count: 0,
    }));
    // A stable order, so every proxy fills the table identically whatever EDS's order.
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const entry of entries) {
      const offset = hashOf(entry.key, 0);
      const skip = hashOf(entry.key, 1);
      entry.position = mod64(offset.hi, offset.lo, size);
      entry.skip = mod64(skip.hi, skip.lo, size - 1) + 1;
    }
    this.hosts = entries.map((entry) => entry.host);
    this.slots = new Int32Array(entries.length === 0 ? 0 : size).fill(-1);
    let filled = 0;
    for (let iteration = 1; entries.length > 0 && filled < size; iteration++) {
      for (let i = 0; i < entries.length && filled < size; i++) {
        const entry = entries[i]!;
        if (iteration * entry.weight < entry.target) continue;
        entry.target += weights.max;
        while (this.slots[entry.position] !== -1)
          entry.position = (entry.position + entry.skip) % size;
        this.slots[entry.position] = i;
        entry.position = (entry.position + entry.skip) % size;
        entry.count++;
        filled++;
      }
    }
    this.counts = entries.map((entry) => entry.count);
  }

  choose(hi: number, lo: number, attempt: number): Host | undefined {
    if (this.hosts.length === 0) return undefined;
    if (attempt > 0) {
      // Envoy: hash ^= ~0ULL - attempt + 1, i.e. XOR with 2^64 − attempt.
      hi = (hi ^ 0xffffffff) >>> 0;
      lo = (lo ^ (0x1_0000_0000 - attempt)) >>> 0;
    }
    return this.hosts[this.slots[mod64(hi, lo, this.size)]!];
  }
}

export class MaglevLoadBalancer extends HashingLoadBalancer {
  readonly policy = "MAGLEV" as const;

  protected createTable(weights: NormalizedHostWeights): MaglevTable {
    return new MaglevTable(weights, this.config.tableSize, this.config.useHostnameForHashing);
  }
}
