import { describe, expect, it } from "vitest";
import { GenerationalCache } from "./generational-cache.ts";

describe("generational cache", () => {
  it("drops entries unused for the given number of generations", () => {
    const cache = new GenerationalCache<number>(2);
    cache.set("used", 1);
    cache.set("idle", 2);
    cache.nextGeneration();
    expect(cache.get("used")).toBe(1);
    cache.nextGeneration();
    expect([...cache.keys()]).toEqual(["used"]);
    cache.nextGeneration();
    cache.nextGeneration();
    expect(cache.size).toBe(0);
  });

  it("drops the oldest entries beyond its size cap", () => {
    const cache = new GenerationalCache<number>(2, 2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    expect([...cache.keys()]).toEqual(["b", "c"]);
  });
});
