// RING_HASH specifics: Envoy's own ring expectations, sizing, keys, retries, disruption.
import { describe, expect, it } from "vitest";
import { resolveLbConfig } from "./config.ts";
import { createHost, groupHosts, type Host, type LocalityWeight } from "./host-set.ts";
import { createLoadBalancer } from "./load-balancer.ts";
import { normalizeHostWeights } from "./locality.ts";
import { seededRandomSource } from "./random-source.ts";
import { Ring } from "./ring-hash.ts";
import { makeHosts, seededHashes } from "./testing.ts";

function ringOf(
  hosts: Host[],
  ringHash = {},
  localityWeighted = false,
  localityWeights: LocalityWeight[] = [],
) {
  const [level] = groupHosts({ hosts, localityWeights });
  return new Ring(
    normalizeHostWeights(level!, false, localityWeighted),
    resolveLbConfig({ ringHash }),
  );
}

const entryHash = (ring: Ring, i: number) => (BigInt(ring.hi[i]!) << 32n) | BigInt(ring.lo[i]!);
/** How many ring entries each of `hosts` holds. */
const entriesOf = (ring: Ring, hosts: Host[]) =>
  hosts.map((host) => ring.hosts.filter((entry) => entry === host).length);

describe("ring hash", () => {
  // Envoy's own expectations: test/extensions/load_balancing_policies/ring_hash/ring_hash_lb_test.cc (Basic).
  it("builds Envoy's ring for 127.0.0.1:90–95 with minimum_ring_size 12", () => {
    const hosts = [90, 91, 92, 93, 94, 95].map((port) =>
      createHost({ address: "127.0.0.1", port }),
    );
    const ring = ringOf(hosts, { minimumRingSize: 12 });
    expect(ring.hosts.map((host) => host.port)).toEqual([
      94, 92, 90, 95, 93, 91, 91, 93, 95, 92, 94, 90,
    ]);
    expect(ring.hosts.map((_, i) => entryHash(ring, i).toString())).toEqual([
      "833437586790550860",
      "928266305478181108",
      "1033482794131418490",
      "3551244743356806947",
      "3851675632748031481",
      "5583722120771150861",
      "6311230543546372928",
      "7700377290971790572",
      "13144177310400110813",
      "13444792449719432967",
      "15516499411664133160",
      "16117243373044804889",
    ]);
    const lb = createLoadBalancer("RING_HASH", { ringHash: { minimumRingSize: 12 } });
    lb.update({ hosts });
    expect(lb.pick({ hash: 0n })).toBe(hosts[4]);
    expect(lb.pick({ hash: 2n ** 64n - 1n })).toBe(hosts[4]);
    expect(lb.pick({ hash: 3551244743356806947n })).toBe(hosts[5]);
    expect(lb.pick({ hash: 3551244743356806948n })).toBe(hosts[3]);
    expect(lb.pick({ hash: 16117243373044804880n })).toBe(hosts[0]);
  });

  it("finds the first entry at or after a hash, wrapping past the last (ketama)", () => {
    const ring = ringOf(makeHosts(7));
    const hashes = [
      ...seededHashes(2_000, 4),
      0n,
      2n ** 64n - 1n,
      entryHash(ring, 0),
      entryHash(ring, 5),
    ];
    for (const hash of hashes) {
      const first = ring.hosts.findIndex((_, i) => entryHash(ring, i) >= hash);
      expect(ring.find(Number(hash >> 32n), Number(hash & 0xffffffffn))).toBe(Math.max(0, first));
    }
  });

  it("gives the least-weighted host ceil(weight × minimum_ring_size) entries, others in proportion", () => {
    expect(ringOf(makeHosts(10)).size).toBe(1030);
    const weighted = makeHosts(3, (i) => ({ weight: i + 1 }));
    expect(entriesOf(ringOf(weighted), weighted)).toEqual([171, 342, 513]);
  });

  it("caps the ring at maximum_ring_size, sharing fractional entries by running sums", () => {
    const hosts = makeHosts(3);
    expect(entriesOf(ringOf(hosts, { maximumRingSize: 100 }), hosts)).toEqual([34, 33, 33]);
  });

  it("folds locality weights into host weights when locality-weighted", () => {
    const hosts = makeHosts(2, (i) => ({ locality: { zone: i === 0 ? "a" : "b" } }));
    const weights = [
      { priority: 0, locality: { zone: "a" }, weight: 1 },
      { priority: 0, locality: { zone: "b" }, weight: 3 },
    ];
    expect(entriesOf(ringOf(hosts, {}, true, weights), hosts)).toEqual([256, 768]);
  });

  it("hashes metadata envoy.lb hash_key, or the hostname with use_hostname_for_hashing", () => {
    const named = makeHosts(4, (i) => ({ hostname: `pod-${i}` }));
    const keyed = makeHosts(4, (i) => ({
      address: `10.9.9.${i}`,
      metadata: { "envoy.lb": { hash_key: `pod-${i}` } },
    }));
    const byName = createLoadBalancer("RING_HASH", { useHostnameForHashing: true });
    const byKey = createLoadBalancer("RING_HASH");
    byName.update({ hosts: named });
    byKey.update({ hosts: keyed });
    for (const hash of seededHashes(200, 1))
      expect(named.indexOf(byName.pick({ hash })!)).toBe(keyed.indexOf(byKey.pick({ hash })!));
  });

  it("on host-selection retries, steps along the ring by the attempt number", () => {
    const hosts = makeHosts(3);
    const ring = ringOf(hosts);
    const lb = createLoadBalancer("RING_HASH");
    lb.update({ hosts });
    const hash = entryHash(ring, 10);
    const first = lb.pick({ hash });
    expect(first).toBe(ring.hosts[10]);
    expect(lb.pick({ hash, attempt: 2 })).toBe(ring.hosts[12]);
    const next = ring.hosts.slice(11).find((host) => host !== first);
    const skipped = lb.pick({
      hash,
      excluded: new Set([first!]),
      hostSelectionRetryMaxAttempts: 5,
    });
    expect(skipped).toBe(next);
  });

  it("serves only healthy hosts, as Envoy's ring holds no degraded ones, until panic", () => {
    const hosts = makeHosts(10, (i) => ({ health: i < 2 ? "HEALTHY" : "DEGRADED" }));
    const lb = createLoadBalancer("RING_HASH");
    lb.update({ hosts });
    const picked = new Set(seededHashes(1_000, 6).map((hash) => lb.pick({ hash })));
    expect(picked).toEqual(new Set(hosts.slice(0, 2)));
    const failing = makeHosts(10, (i) => ({ health: i === 0 ? "DEGRADED" : "UNHEALTHY" }));
    lb.update({ hosts: failing });
    expect(new Set(seededHashes(1_000, 6).map((hash) => lb.pick({ hash })))).toEqual(
      new Set(failing),
    );
  });

  it("moves about 2/N − 2/N² of keys when one of N hosts goes (Envoy rescales the ring)", () => {
    const hosts = makeHosts(10);
    const lb = createLoadBalancer("RING_HASH", {
      ringHash: { minimumRingSize: 16384 },
      randomSource: seededRandomSource(1),
    });
    lb.update({ hosts });
    const hashes = seededHashes(40_000, 2);
    const before = hashes.map((hash) => lb.pick({ hash }));
    lb.update({ hosts: hosts.slice(1) });
    const moved =
      hashes.filter((hash, i) => lb.pick({ hash }) !== before[i]).length / hashes.length;
    // The removed host's 10%, plus the entries each survivor gains (1,639 → 1,821 each).
    expect(Math.abs(moved - 0.18)).toBeLessThan(0.015);
  });
});
