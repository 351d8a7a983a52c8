import { describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import { createPushDebouncer } from "./push-debouncer.ts";

describe("push debouncer", () => {
  it("pushes once after 100 ms of quiet, with every reason", () => {
    const clock = manualClock();
    const pushes: string[][] = [];
    const debouncer = createPushDebouncer(clock, (reasons) => pushes.push([...reasons]));
    expect(debouncer.pending()).toBe(false);
    debouncer.change("a");
    clock.advance(60);
    debouncer.change("b");
    clock.advance(99);
    expect(pushes).toEqual([]);
    expect(debouncer.pending()).toBe(true);
    clock.advance(1);
    expect(pushes).toEqual([["a", "b"]]);
    expect(debouncer.pending()).toBe(false);
  });

  it("never delays a push more than 10 s under constant change", () => {
    const clock = manualClock();
    const pushedAt: number[] = [];
    const debouncer = createPushDebouncer(clock, () => pushedAt.push(clock.now()));
    for (let t = 0; t < 25_000; t += 50) {
      debouncer.change("tick");
      clock.advance(50);
    }
    expect(pushedAt.slice(0, 2)).toEqual([10_000, 20_000]);
  });

  it("flush pushes immediately; stop drops pending changes", () => {
    const clock = manualClock();
    const pushes: string[][] = [];
    const debouncer = createPushDebouncer(clock, (reasons) => pushes.push([...reasons]));
    debouncer.change("now");
    debouncer.flush();
    expect(pushes).toEqual([["now"]]);
    debouncer.change("dropped");
    debouncer.stop();
    clock.advance(1000);
    expect(pushes).toEqual([["now"]]);
  });
});
