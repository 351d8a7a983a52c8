import { describe, expect, it } from "vitest";
import { armsTimer, MAX_TIMER_MS, setTimeoutMs } from "./timer.ts";

describe("setTimeoutMs", () => {
  it("arms no timer for a disabled or overlong duration (Node would fire it after 1 ms)", () => {
    let fired = false;
    for (const ms of [
      0,
      -1,
      undefined,
      MAX_TIMER_MS + 1,
      2_592_000_000,
      Number.POSITIVE_INFINITY,
    ]) {
      expect(setTimeoutMs(() => (fired = true), ms)).toBeUndefined();
      expect(armsTimer(ms)).toBe(false);
    }
    expect(fired).toBe(false);
  });

  it("arms a timer up to Node's limit", async () => {
    const long = setTimeoutMs(() => {}, MAX_TIMER_MS);
    expect(long).toBeDefined();
    clearTimeout(long);
    await new Promise<void>((resolve) => {
      expect(setTimeoutMs(resolve, 1)).toBeDefined();
    });
  });
});
