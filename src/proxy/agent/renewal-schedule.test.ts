import { describe, expect, it } from "vitest";
import {
  DEFAULT_BACK_OFF,
  DEFAULT_GRACE_PERIOD_RATIO,
  DEFAULT_GRACE_PERIOD_RATIO_JITTER,
  renewalDelayMs,
  retryDelayMs,
} from "./renewal-schedule.ts";

const HOUR = 3600_000;
const base = {
  issuedAt: 0,
  notAfter: 24 * HOUR,
  now: 0,
  gracePeriodRatio: DEFAULT_GRACE_PERIOD_RATIO,
  gracePeriodRatioJitter: DEFAULT_GRACE_PERIOD_RATIO_JITTER,
};

describe("renewalDelayMs", () => {
  it("renews a 24 h certificate after 12 h, ±1 % of its lifetime", () => {
    expect(renewalDelayMs({ ...base, random: () => 0.5 })).toBe(12 * HOUR);
    expect(renewalDelayMs({ ...base, random: () => 0 })).toBeCloseTo(12.24 * HOUR);
    expect(renewalDelayMs({ ...base, random: () => 0.999999 })).toBeCloseTo(11.76 * HOUR, -2);
  });

  it("counts from now, and is never negative", () => {
    expect(renewalDelayMs({ ...base, now: 2 * HOUR, random: () => 0.5 })).toBe(10 * HOUR);
    expect(renewalDelayMs({ ...base, now: 20 * HOUR, random: () => 0.5 })).toBe(0);
  });

  it("keeps the jittered ratio within 0 and 1", () => {
    const input = { ...base, gracePeriodRatio: 1, gracePeriodRatioJitter: 0.5, random: () => 0.9 };
    expect(renewalDelayMs(input)).toBe(0);
    expect(renewalDelayMs({ ...input, gracePeriodRatio: 0, random: () => 0 })).toBe(24 * HOUR);
  });
});

describe("retryDelayMs", () => {
  it("doubles from half a second to at most 30 s", () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) =>
      retryDelayMs(n, DEFAULT_BACK_OFF, () => 0),
    );
    expect(waits).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("shortens each wait by up to 20 % at random", () => {
    expect(retryDelayMs(2, DEFAULT_BACK_OFF, () => 0.5)).toBe(900);
    expect(retryDelayMs(2, DEFAULT_BACK_OFF, () => 0.999)).toBeGreaterThanOrEqual(800);
  });
});
