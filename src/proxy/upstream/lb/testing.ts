// Test helpers for the load balancer suites: hosts, seeded hashes, tallies, tolerances.
import { createHost, type Host, type HostInit } from "./host-set.ts";
import type { LoadBalancer, PickContext } from "./load-balancer.ts";
import { seededRandomSource } from "./random-source.ts";

/** `count` hosts 10.0.<i/250>.<i%250+1>:8080, each customised by `init(i)`. */
export function makeHosts(count: number, init?: (index: number) => Partial<HostInit>): Host[] {
  return Array.from({ length: count }, (_, i) =>
    createHost({
      address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      port: 8080,
      ...init?.(i),
    }),
  );
}

/** `count` reproducible 64-bit hashes. */
export function seededHashes(count: number, seed: number): bigint[] {
  const random = seededRandomSource(seed);
  return Array.from(
    { length: count },
    () => (BigInt(random.nextUint32()) << 32n) | BigInt(random.nextUint32()),
  );
}

/** How many of `picks` picks landed on each host (undefined picks counted under undefined). */
export function tally(
  lb: LoadBalancer,
  picks: number,
  context?: (index: number) => PickContext | undefined,
): Map<Host | undefined, number> {
  const counts = new Map<Host | undefined, number>();
  for (let i = 0; i < picks; i++) {
    const host = lb.pick(context?.(i));
    counts.set(host, (counts.get(host) ?? 0) + 1);
  }
  return counts;
}

/**
 * Half-width of the band a binomial proportion p over n trials stays in except with
 * probability < 4e-8 (5.5 standard deviations), so < 1e-6 across the hosts of a check.
 */
export function tolerance(p: number, n: number): number {
  return 5.5 * Math.sqrt((p * (1 - p)) / n);
}
