// ROUND_ROBIN specifics: rotation, random start, EDF smoothness and pre-picks.
import { describe, expect, it } from "vitest";
import { EdfScheduler } from "./edf.ts";
import { createLoadBalancer } from "./load-balancer.ts";
import { seededRandomSource } from "./random-source.ts";
import { makeHosts } from "./testing.ts";

const roundRobin = (seed: number) =>
  createLoadBalancer("ROUND_ROBIN", { randomSource: seededRandomSource(seed) });

describe("round robin", () => {
  it("rotates through equal-weight hosts, each once per round", () => {
    const hosts = makeHosts(5);
    const lb = roundRobin(1);
    lb.update({ hosts });
    for (let round = 0; round < 4; round++) {
      const picked = Array.from({ length: 5 }, () => lb.pick());
      expect(new Set(picked).size).toBe(5);
    }
  });

  it("starts at a per-balancer random offset (Envoy's seed), so proxies don't march in step", () => {
    const hosts = makeHosts(10);
    const firsts = new Set(
      [1, 2, 3, 4, 5, 6].map((seed) => {
        const lb = roundRobin(seed);
        lb.update({ hosts });
        return lb.pick();
      }),
    );
    expect(firsts.size).toBeGreaterThan(1);
  });

  it("keeps its place in the rotation across updates", () => {
    const hosts = makeHosts(4);
    const lb = roundRobin(3);
    lb.update({ hosts });
    const first = [lb.pick(), lb.pick()];
    lb.update({ hosts });
    const next = [lb.pick(), lb.pick()];
    expect(new Set([...first, ...next]).size).toBe(4);
  });

  it("interleaves weighted hosts (EDF) instead of sending them in blocks", () => {
    const hosts = makeHosts(2, (i) => ({ weight: i === 0 ? 3 : 2 }));
    const lb = roundRobin(0);
    lb.update({ hosts });
    const sequence = Array.from({ length: 10 }, () => (lb.pick() === hosts[0] ? "A" : "B"));
    expect(sequence.join("")).not.toContain("AAA");
    expect(sequence.filter((x) => x === "A")).toHaveLength(6);
  });

  it.each([0, 1, 7, 12_345, 4_000_000_000])(
    "keeps every host within 1.5 picks of its share at every point (EDF smoothness, seed %i)",
    (seed) => {
      const weights = [1, 2, 3, 4, 5];
      const scheduler = EdfScheduler.createWithPicks([0, 1, 2, 3, 4], (i) => weights[i]!, seed);
      const counts = [0, 0, 0, 0, 0];
      let worst = 0;
      for (let k = 1; k <= 3_000; k++) {
        counts[scheduler.pickAndAdd((i) => weights[i]!)!]!++;
        for (let i = 0; i < 5; i++)
          worst = Math.max(worst, Math.abs(counts[i]! - (k * weights[i]!) / 15));
      }
      // Sending each host its weight in a block would stray by up to 3.3 picks here.
      expect(worst).toBeLessThan(1.5);
    },
  );

  it("builds a pre-picked EDF schedule equivalent to picking one by one (Envoy's createWithPicks)", () => {
    const weights = [25, 75, 3, 11];
    const weightOf = (i: number) => weights[i]!;
    for (const picks of [1, 5, 23, 50, 99]) {
      const jumped = EdfScheduler.createWithPicks([0, 1, 2, 3], weightOf, picks);
      const walked = EdfScheduler.createWithPicks([0, 1, 2, 3], weightOf, 0);
      for (let i = 0; i < picks; i++) walked.pickAndAdd(weightOf);
      // Ties may break differently (as Envoy notes), so compare what each host gets.
      const next = (scheduler: EdfScheduler<number>) => {
        const counts = [0, 0, 0, 0];
        for (let i = 0; i < 114; i++) counts[scheduler.pickAndAdd(weightOf)!]!++;
        return counts;
      };
      const a = next(jumped);
      const b = next(walked);
      for (const [i, count] of a.entries()) expect(Math.abs(count - b[i]!)).toBeLessThanOrEqual(1);
    }
  });
});
