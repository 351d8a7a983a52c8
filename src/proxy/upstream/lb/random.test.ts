// RANDOM specifics: endpoint weights are ignored, as in Envoy.
import { describe, expect, it } from "vitest";
import { createLoadBalancer } from "./load-balancer.ts";
import { seededRandomSource } from "./random-source.ts";
import { makeHosts, tally, tolerance } from "./testing.ts";

describe("random", () => {
  it("ignores endpoint weights, as Envoy's RANDOM does", () => {
    const hosts = makeHosts(2, (i) => ({ weight: i === 0 ? 1 : 9 }));
    const lb = createLoadBalancer("RANDOM", { randomSource: seededRandomSource(4) });
    lb.update({ hosts });
    const counts = tally(lb, 100_000);
    expect(Math.abs(counts.get(hosts[0])! / 100_000 - 0.5)).toBeLessThanOrEqual(
      tolerance(0.5, 100_000),
    );
  });
});
