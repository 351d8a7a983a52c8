// Retry delays: doubling bounds, jitter in the upper half, the cap, and reset.
import { describe, expect, it } from "vitest";
import { Backoff, DEFAULT_BACKOFF } from "./backoff.ts";

describe("Backoff", () => {
  it("doubles its bound up to the maximum, jittering within [bound/2, bound]", () => {
    const low = new Backoff({ initialMs: 100, maxMs: 500, random: () => 0 });
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([50, 100, 200, 250, 250]);
    const high = new Backoff({ initialMs: 100, maxMs: 500, random: () => 0.999999 });
    expect([1, 2, 3, 4].map(() => high.next())).toEqual([100, 200, 400, 500]);
    expect(high.attempt).toBe(4);
  });

  it("starts over after reset, and defaults to Envoy's 500 ms and 30 s", () => {
    const backoff = new Backoff({ random: () => 0.999999 });
    expect(backoff.next()).toBe(DEFAULT_BACKOFF.initialMs);
    for (let i = 0; i < 100; i++) backoff.next();
    expect(backoff.next()).toBe(DEFAULT_BACKOFF.maxMs);
    backoff.reset();
    expect(backoff.attempt).toBe(0);
    expect(backoff.next()).toBe(500);
  });
});
