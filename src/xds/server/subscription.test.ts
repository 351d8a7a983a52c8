import { describe, expect, it } from "vitest";
import { Subscription } from "./subscription.ts";

describe("subscription", () => {
  it("follows the wildcard rules of SotW requests", () => {
    const lds = new Subscription(true);
    lds.replace([]);
    expect(lds.wildcard).toBe(true); // legacy wildcard
    lds.replace(["a"]);
    expect([lds.wildcard, lds.sortedNames()]).toEqual([false, ["a"]]);
    lds.replace([]);
    expect(lds.empty).toBe(true); // named once: empty means nothing
    lds.replace(["*", "b"]);
    expect([lds.wildcard, lds.sortedNames()]).toEqual([true, ["b"]]);
    const eds = new Subscription(false);
    eds.replace(["*"]);
    expect([eds.wildcard, eds.sortedNames()]).toEqual([false, ["*"]]);
  });

  it("shares the names of equal subscriptions and keeps its key while a request repeats them", () => {
    const a = new Subscription(false);
    const b = new Subscription(false);
    a.replace(["x", "y"]);
    b.replace(["y", "x", "x"]);
    expect(b.names).toBe(a.names);
    expect(b.key()).toBe(a.key());
    const key = a.key();
    a.replace(["x", "y"]);
    expect(a.key()).toBe(key);
    a.replace(["x"]);
    expect(a.key()).not.toBe(key);
    expect([...b.names].sort()).toEqual(["x", "y"]);
  });

  it("keeps delta changes to itself", () => {
    const sotw = new Subscription(false);
    sotw.replace(["x"]);
    const delta = new Subscription(false);
    delta.apply(["x"], [], true);
    delta.apply(["z"], ["x"], false);
    expect(delta.sortedNames()).toEqual(["z"]);
    expect(sotw.sortedNames()).toEqual(["x"]);
  });
});
