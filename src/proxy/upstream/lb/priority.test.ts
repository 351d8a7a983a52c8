// Priority load, degraded spill-over and panic against Envoy's docs tables and code.
import { describe, expect, it } from "vitest";
import type { HostGroup } from "./host-set.ts";
import { choosePriority, computePriorityLoad, priorityTable } from "./priority.ts";
import { makeHosts } from "./testing.ts";

const pool = makeHosts(100);
/** A level of `total` hosts of which `healthy` are healthy and `degraded` degraded. */
const level = (total: number, healthy: number, degraded = 0): HostGroup => ({
  hosts: pool.slice(0, total),
  healthy: pool.slice(0, healthy),
  degraded: pool.slice(healthy, healthy + degraded),
});
const options = { overprovisioningFactor: 140, healthyPanicThreshold: 50 };
/** The docs' priority tables leave panic aside, so these use a threshold of 0. */
const noPanic = { ...options, healthyPanicThreshold: 0 };
const load = (...levels: HostGroup[]) => computePriorityLoad(levels, noPanic).healthy;

describe("priority load", () => {
  // docs/root/intro/arch_overview/upstream/load_balancing/priority.rst, 100 hosts per level.
  it.each([
    [100, 100, [100, 0]],
    [72, 100, [100, 0]],
    [71, 100, [99, 1]],
    [50, 100, [70, 30]],
    [25, 100, [35, 65]],
    [0, 100, [0, 100]],
    [72, 72, [100, 0]],
    [71, 71, [99, 1]],
    [50, 50, [70, 30]],
    [25, 25, [50, 50]],
  ])("P0 %i and P1 %i of 100 healthy → %j", (p0, p1, expected) => {
    expect(load(level(100, p0), level(100, p1))).toEqual(expected);
  });

  it.each([
    [
      [100, 100, 100],
      [100, 0, 0],
    ],
    [
      [72, 72, 100],
      [100, 0, 0],
    ],
    [
      [71, 71, 100],
      [99, 1, 0],
    ],
    [
      [50, 50, 100],
      [70, 30, 0],
    ],
    [
      [25, 100, 100],
      [35, 65, 0],
    ],
    [
      [25, 25, 100],
      [35, 35, 30],
    ],
    // The docs table says 36/36/28; Envoy's code (distributeLoad, then the rounding remainder
    // to the first available level) gives 37/35/28, and the code is what proxies do.
    [
      [25, 25, 20],
      [37, 35, 28],
    ],
  ])("three levels %j → %j", (healthy, expected) => {
    expect(load(...healthy.map((h) => level(100, h)))).toEqual(expected);
  });

  it("gives degraded hosts what healthy ones can't take (Envoy's own example)", () => {
    // Health 10/20/10 and degraded 20/10/0 → healthy 16/28/14, degraded 28/14/0.
    const result = computePriorityLoad([level(14, 1, 2), level(14, 2, 1), level(14, 1)], noPanic);
    expect(result.healthy).toEqual([16, 28, 14]);
    expect(result.degraded).toEqual([28, 14, 0]);
  });

  it("uses the overprovisioning factor from the ClusterLoadAssignment", () => {
    const at100 = computePriorityLoad([level(100, 80), level(100, 100)], {
      ...options,
      overprovisioningFactor: 100,
    });
    expect(at100.healthy).toEqual([80, 20]);
  });

  // docs/root/intro/arch_overview/upstream/load_balancing/panic_threshold.rst
  describe("panic threshold", () => {
    it("is ignored while the normalized total health is 100%", () => {
      expect(computePriorityLoad([level(100, 5), level(100, 100)], options).panic).toEqual([
        false,
        false,
      ]);
    });

    it("applies per level once the total drops below 100%", () => {
      const both = computePriorityLoad([level(100, 25), level(100, 25)], options);
      expect(both).toEqual({ healthy: [50, 50], degraded: [0, 0], panic: [true, true] });
      // The docs row says 7%/93%; the rounding remainder goes to P=0 in Envoy's code.
      const one = computePriorityLoad([level(100, 5), level(100, 65)], options);
      expect(one).toEqual({ healthy: [8, 92], degraded: [0, 0], panic: [true, false] });
    });

    it("in total panic, splits load by host count whatever the health", () => {
      const result = computePriorityLoad([level(30, 0), level(10, 0)], options);
      expect(result).toEqual({ healthy: [75, 25], degraded: [0, 0], panic: [true, true] });
    });

    it("at 0% never panics: with nothing available P=0 takes the load and has no host", () => {
      const result = computePriorityLoad([level(10, 0), level(10, 0)], {
        ...options,
        healthyPanicThreshold: 0,
      });
      expect(result).toEqual({ healthy: [100, 0], degraded: [0, 0], panic: [false, false] });
    });
  });

  it("chooses a priority as Envoy does: value % 100 + 1 against the cumulative loads", () => {
    const result = computePriorityLoad([level(100, 50), level(100, 100)], options);
    // Envoy's ring_hash_lb_test BasicFailover: random 69 → P=0, 71 → P=1 at a 70/30 split.
    expect(choosePriority(69, result)).toEqual({ priority: 0, degraded: false });
    expect(choosePriority(71, result)).toEqual({ priority: 1, degraded: false });
    const table = priorityTable(result);
    expect(table.filter((choice) => choice.priority === 0)).toHaveLength(70);
    const degraded = computePriorityLoad([level(14, 1, 2), level(14, 2, 1), level(14, 1)], noPanic);
    expect(choosePriority(99, degraded)).toEqual({ priority: 1, degraded: true });
  });
});
