import { describe, expect, it } from "vitest";
import { manualClock } from "./clock.ts";

describe("manualClock", () => {
  it("fires timers in due order only when advanced past them", () => {
    const clock = manualClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push("b"), 200);
    clock.setTimeout(() => fired.push("a"), 100);
    const cancelled = clock.setTimeout(() => fired.push("never"), 150);
    clock.clearTimeout(cancelled);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(200);
    expect(fired).toEqual(["a", "b"]);
    expect(clock.now()).toBe(1299);
    expect(clock.pendingTimers()).toBe(0);
  });
});
