// LEAST_REQUEST specifics: power of N choices, full scan, active-request weighting.
import { describe, expect, it } from "vitest";
import type { LbConfig } from "./config.ts";
import type { Host } from "./host-set.ts";
import { leastRequestWeight } from "./least-request.ts";
import { createLoadBalancer } from "./load-balancer.ts";
import { seededRandomSource } from "./random-source.ts";
import { makeHosts, tally, tolerance } from "./testing.ts";

const N = 100_000;

function leastRequest(hosts: Host[], leastRequestConfig: LbConfig["leastRequest"] = {}) {
  const lb = createLoadBalancer("LEAST_REQUEST", {
    leastRequest: leastRequestConfig,
    randomSource: seededRandomSource(11),
  });
  lb.update({ hosts });
  return lb;
}

const load = (host: Host, active: number) => {
  host.stats.activeRequests = active;
};

describe("least request", () => {
  it("with two choices, sends a busy host only the picks where both samples hit it", () => {
    const hosts = makeHosts(10);
    load(hosts[0]!, 5);
    const counts = tally(leastRequest(hosts), N);
    const p = 0.01; // (1/10)²
    expect(Math.abs(counts.get(hosts[0])! / N - p)).toBeLessThanOrEqual(tolerance(p, N));
  });

  it("with choice_count 3, the busy host needs all three samples: (1/10)³", () => {
    const hosts = makeHosts(10);
    load(hosts[0]!, 5);
    const counts = tally(leastRequest(hosts, { choiceCount: 3 }), N);
    expect(Math.abs(counts.get(hosts[0])! / N - 0.001)).toBeLessThanOrEqual(tolerance(0.001, N));
  });

  it("follows onRequestStart/onRequestEnd as requests come and go", () => {
    const hosts = makeHosts(2);
    const lb = leastRequest(hosts);
    for (let i = 0; i < 3; i++) lb.onRequestStart(hosts[1]!);
    const busy = tally(lb, 10_000);
    expect(busy.get(hosts[0])! / 10_000).toBeGreaterThan(0.7); // 3/4 expected
    for (let i = 0; i < 3; i++) lb.onRequestEnd(hosts[1]!);
    const idle = tally(lb, 10_000);
    expect(idle.get(hosts[0])! / 10_000).toBeCloseTo(0.5, 1);
  });

  it("with FULL_SCAN, always picks the least loaded host, ties broken at random", () => {
    const hosts = makeHosts(4);
    for (const [i, host] of hosts.entries()) load(host, i === 2 ? 0 : 3);
    expect(tally(leastRequest(hosts, { selectionMethod: "FULL_SCAN" }), 1_000)).toEqual(
      new Map([[hosts[2], 1_000]]),
    );
    load(hosts[3]!, 0);
    const tied = tally(leastRequest(hosts, { selectionMethod: "FULL_SCAN" }), 10_000);
    expect(new Set(tied.keys())).toEqual(new Set([hosts[2], hosts[3]]));
    expect(Math.abs(tied.get(hosts[2])! / 10_000 - 0.5)).toBeLessThanOrEqual(
      tolerance(0.5, 10_000),
    );
  });

  it("with unequal weights, weighs hosts by weight / (active + 1)^bias", () => {
    expect(leastRequestWeight(makeHosts(1, () => ({ weight: 4 }))[0]!, 1)).toBe(4);
    const [a, b] = makeHosts(2, (i) => ({ weight: i + 1 }));
    load(b!, 3);
    expect(leastRequestWeight(b!, 1)).toBe(0.5);
    expect(leastRequestWeight(b!, 2)).toBe(0.125);
    expect(leastRequestWeight(b!, 0)).toBe(2);
    // a: 1/1, b: 2/4 → a gets two thirds of the EDF schedule.
    const counts = tally(leastRequest([a!, b!]), 3_000);
    expect(counts.get(a)).toBeGreaterThanOrEqual(1_999);
    expect(counts.get(a)).toBeLessThanOrEqual(2_001);
    // Bias 0 ignores load: plain weighted round robin, a gets one third.
    const weightsOnly = tally(leastRequest([a!, b!], { activeRequestBias: 0 }), 3_000);
    expect(Math.abs(weightsOnly.get(a)! - 1_000)).toBeLessThanOrEqual(1);
  });
});
