import { describe, expect, it } from "vitest";
import { reuseUnchanged } from "./discovery-source.ts";
import type { ProxyResources } from "./translate/proxy-resources.ts";

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
});
