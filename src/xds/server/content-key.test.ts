import { describe, expect, it } from "vitest";
import { ContentCache, contentKey } from "./content-key.ts";

const CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

describe("content key", () => {
  it("is the same for equal content and differs with type, name or content", () => {
    const key = contentKey(CDS, "a", { name: "a", n: 1 });
    expect(contentKey(CDS, "a", { name: "a", n: 1 })).toBe(key);
    expect(contentKey(CDS, "b", { name: "a", n: 1 })).not.toBe(key);
    expect(contentKey(`${CDS}x`, "a", { name: "a", n: 1 })).not.toBe(key);
    expect(contentKey(CDS, "a", { name: "a", n: 2 })).not.toBe(key);
  });

  it("tells apart what JSON text would not", () => {
    const keys = [
      { v: null },
      { v: Number.NaN },
      { v: Number.POSITIVE_INFINITY },
      { v: 0 },
      { v: -0 },
      { v: "\u0000n0" },
      { v: [null] },
      { v: [undefined] },
      {},
      { v: undefined },
    ].map((json) => contentKey(CDS, "a", json as never));
    // {} and {v: undefined} encode alike: telling them apart only costs an encoding.
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe("content cache", () => {
  it("drops the least recently used entries beyond its bounds", () => {
    const cache = new ContentCache<string>({ maxEntries: 2, maxBytes: 100 });
    cache.set("a", "A", 10);
    cache.set("b", "B", 10);
    expect(cache.get("a")).toBe("A");
    cache.set("c", "C", 10);
    expect(cache.get("b")).toBeUndefined();
    cache.set("big", "D", 95);
    expect([cache.get("a"), cache.get("c"), cache.get("big")]).toEqual([undefined, undefined, "D"]);
  });
});
