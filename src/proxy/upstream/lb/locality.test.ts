// Locality-weighted selection against Envoy's docs and its hash-balancer normalisation.
import { describe, expect, it } from "vitest";
import { groupHosts, type Host, type LocalityWeight } from "./host-set.ts";
import { createLoadBalancer } from "./load-balancer.ts";
import { effectiveLocalityWeight, normalizeHostWeights } from "./locality.ts";
import { seededRandomSource } from "./random-source.ts";
import { makeHosts, tally } from "./testing.ts";

const weights = (x: number, y: number): LocalityWeight[] => [
  { priority: 0, locality: { zone: "x" }, weight: x },
  { priority: 0, locality: { zone: "y" }, weight: y },
];

/** 100 hosts in zone x (the first `healthyX` healthy) and 100 healthy ones in zone y. */
function twoZones(healthyX: number): Host[] {
  return makeHosts(200, (i) => ({
    locality: { zone: i < 100 ? "x" : "y" },
    health: i < 100 && i >= healthyX ? "UNHEALTHY" : "HEALTHY",
  }));
}

describe("locality-weighted load balancing", () => {
  it("scales a locality's weight by min(1, 1.4 × healthy/total)", () => {
    const [level] = groupHosts({ hosts: twoZones(50), localityWeights: weights(1, 2) });
    const [x, y] = level!.localities;
    expect(effectiveLocalityWeight(x!, x!.healthy.length, 140)).toBeCloseTo(0.7);
    expect(effectiveLocalityWeight(y!, y!.healthy.length, 140)).toBe(2);
  });

  // docs/root/intro/arch_overview/upstream/load_balancing/locality_weight.rst: X weight 1, Y 2.
  it.each([
    [100, 33],
    [70, 33],
    [69, 32],
    [50, 26],
    [25, 15],
    [0, 0],
  ])("X %i%% healthy → %i%% of traffic to X", (healthyX, percent) => {
    const hosts = twoZones(healthyX);
    const lb = createLoadBalancer("ROUND_ROBIN", {
      localityWeighted: true,
      randomSource: seededRandomSource(2),
    });
    lb.update({ hosts, localityWeights: weights(1, 2) });
    const counts = tally(lb, 10_000);
    const toX = hosts.slice(0, 100).reduce((sum, host) => sum + (counts.get(host) ?? 0), 0);
    expect(Math.abs(toX / 100 - percent)).toBeLessThanOrEqual(1);
  });

  it("sends nothing to a locality EDS gave no weight, and ignores weights when not enabled", () => {
    const hosts = twoZones(100);
    const localityWeights = [{ priority: 0, locality: { zone: "y" }, weight: 1 }];
    const weighted = createLoadBalancer("RANDOM", { localityWeighted: true });
    weighted.update({ hosts, localityWeights });
    const counts = tally(weighted, 2_000);
    expect(hosts.slice(0, 100).some((host) => counts.has(host))).toBe(false);
    const plain = createLoadBalancer("ROUND_ROBIN");
    plain.update({ hosts, localityWeights });
    expect(tally(plain, 200).size).toBe(200);
  });

  it("falls back to the whole priority when no locality has weight", () => {
    const hosts = twoZones(100);
    const lb = createLoadBalancer("ROUND_ROBIN", { localityWeighted: true });
    lb.update({ hosts, localityWeights: [] });
    expect(tally(lb, 200).size).toBe(200);
  });

  it("normalises host weights across localities for the hashing balancers", () => {
    const hosts = makeHosts(3, (i) => ({ locality: { zone: i === 0 ? "x" : "y" }, weight: i + 1 }));
    const [level] = groupHosts({ hosts, localityWeights: weights(1, 3) });
    const normalized = normalizeHostWeights(level!, false, true);
    // x: 1/4 to its one host; y: 3/4 split 2:3 between its two.
    expect(normalized.weights).toEqual([0.25, 0.3, 0.45]);
    expect(normalizeHostWeights(level!, false, false).weights).toEqual([1 / 6, 2 / 6, 3 / 6]);
  });
});
