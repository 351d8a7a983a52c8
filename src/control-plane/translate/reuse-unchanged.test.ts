import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyResources } from "./proxy-resources.ts";
import { reuseUnchanged, reuseUnchangedEntries, reuseUnchangedMap } from "./reuse-unchanged.ts";

const resources = (clusters: Record<string, object>): ProxyResources => ({
  listeners: new Map(),
  routes: new Map(),
  clusters: new Map(Object.entries(clusters)) as ProxyResources["clusters"],
  endpoints: new Map(),
});

describe("reuseUnchanged", () => {
  it("keeps the previous object for unchanged resources and the new one for changed or added ones", () => {
    const before = resources({ a: { name: "a", type: "EDS" }, b: { name: "b", type: "EDS" } });
    const after = resources({
      a: { name: "a", type: "EDS" },
      b: { name: "b", type: "STATIC" },
      c: { name: "c" },
    });
    const merged = reuseUnchanged(before, after);
    expect(merged.clusters.get("a")).toBe(before.clusters.get("a"));
    expect(merged.clusters.get("b")).toBe(after.clusters.get("b"));
    expect(merged.clusters.get("c")).toBe(after.clusters.get("c"));
    expect([...merged.clusters.keys()]).toEqual(["a", "b", "c"]);
  });

  it("gives back the previous map, and resources, when nothing changed", () => {
    const before = resources({ a: { name: "a" }, b: { name: "b" } });
    const after = resources({ a: { name: "a" }, b: { name: "b" } });
    expect(reuseUnchanged(before, after)).toBe(before);
  });

  it("gives a new map when a resource was removed or the order changed", () => {
    const a = { name: "a" };
    const b = { name: "b" };
    const before = new Map<string, JsonObject>([
      ["a", a],
      ["b", b],
    ]);
    const removed = reuseUnchangedMap(before, new Map([["a", { name: "a" }]]));
    expect(removed).not.toBe(before);
    expect(removed.get("a")).toBe(a);
    const reordered = reuseUnchangedMap(
      before,
      new Map<string, JsonObject>([
        ["b", { name: "b" }],
        ["a", { name: "a" }],
      ]),
    );
    expect(reordered).not.toBe(before);
    expect([...reordered.keys()]).toEqual(["b", "a"]);
  });

  it("keeps the order and duplicates of entries, reusing by name", () => {
    const a = { name: "a" };
    const out = reuseUnchangedEntries(new Map([["a", a]]), [
      ["a", { name: "a" }],
      ["a", { name: "a", other: 1 }],
    ]);
    expect(out[0]![1]).toBe(a);
    expect(out[1]![1]).toEqual({ name: "a", other: 1 });
  });
});
