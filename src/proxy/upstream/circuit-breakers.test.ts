// Circuit breaker counters: overflow at the threshold, idempotent release, priorities, new limits.
import { describe, expect, it } from "vitest";
import { CircuitBreakers } from "./circuit-breakers.ts";
import { DEFAULT_CIRCUIT_BREAKERS } from "./cluster-config.ts";

const limits = (maxRequests: number) => ({
  DEFAULT: { ...DEFAULT_CIRCUIT_BREAKERS, maxRequests, maxPendingRequests: 1 },
  HIGH: DEFAULT_CIRCUIT_BREAKERS,
});

describe("CircuitBreakers", () => {
  it("overflows at the threshold and admits again after a release", () => {
    const breakers = new CircuitBreakers(limits(2));
    const first = breakers.tryAcquire("requests");
    const second = breakers.tryAcquire("requests");
    expect(first && second).toBeTypeOf("function");
    expect(breakers.isOpen("requests")).toBe(true);
    expect(breakers.tryAcquire("requests")).toBeUndefined();
    expect(breakers.overflows.requests).toBe(1);
    first!();
    first!(); // releasing twice gives back one unit only
    expect(breakers.active("requests")).toBe(1);
    expect(breakers.remaining("requests")).toBe(1);
    expect(breakers.tryAcquire("requests")).toBeTypeOf("function");
  });

  it("keeps resources and priorities apart", () => {
    const breakers = new CircuitBreakers(limits(1));
    expect(breakers.tryAcquire("pendingRequests")).toBeDefined();
    expect(breakers.tryAcquire("pendingRequests")).toBeUndefined();
    expect(breakers.tryAcquire("requests")).toBeDefined();
    expect(breakers.tryAcquire("requests", "HIGH")).toBeDefined();
    expect(breakers.remaining("retries")).toBe(3);
    expect(breakers.remaining("connections", "HIGH")).toBe(1024);
  });

  it("applies new thresholds to new acquisitions only", () => {
    const breakers = new CircuitBreakers(limits(3));
    const held = [breakers.tryAcquire("requests"), breakers.tryAcquire("requests")];
    breakers.setThresholds(limits(1));
    expect(breakers.tryAcquire("requests")).toBeUndefined();
    expect(breakers.remaining("requests")).toBe(0);
    for (const release of held) release!();
    expect(breakers.tryAcquire("requests")).toBeDefined();
  });

  it("refuses everything at a threshold of 0", () => {
    const breakers = new CircuitBreakers({
      DEFAULT: { ...DEFAULT_CIRCUIT_BREAKERS, maxRetries: 0 },
      HIGH: DEFAULT_CIRCUIT_BREAKERS,
    });
    expect(breakers.tryAcquire("retries")).toBeUndefined();
  });
});
