import { describe, expect, it } from "vitest";
import { PushQueue } from "./push-queue.ts";

/** A connection whose push takes `ms` of busy time and records the order of pushes. */
function connection(name: string, log: string[], ms = 0) {
  return {
    push() {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // busy: a push computes synchronously
      }
      log.push(name);
    },
  };
}

describe("push queue", () => {
  it("pushes a small fleet before enqueue returns", async () => {
    const log: string[] = [];
    const queue = new PushQueue();
    const done = queue.enqueue([connection("a", log), connection("b", log)]);
    expect(log).toEqual(["a", "b"]);
    await done;
  });

  it("yields to the event loop between slices and resolves once everything is pushed", async () => {
    const log: string[] = [];
    const queue = new PushQueue({ sliceMs: 5 });
    const fleet = Array.from({ length: 6 }, (_, i) => connection(`c${i}`, log, 3));
    const done = queue.enqueue(fleet);
    expect(log.length).toBeLessThan(6);
    let between = false;
    setImmediate(() => {
      between = log.length < 6;
    });
    await done;
    expect(between).toBe(true);
    expect(log).toEqual(fleet.map((_, i) => `c${i}`));
  });

  it("pushes a connection queued twice once, and not at all once removed", async () => {
    const log: string[] = [];
    const queue = new PushQueue({ sliceMs: 0 });
    const [a, b, c] = [connection("a", log), connection("b", log), connection("c", log)];
    const first = queue.enqueue([a, b, c]); // a is pushed at once (every slice pushes one)
    const second = queue.enqueue([b, c]);
    queue.remove(c);
    await Promise.all([first, second]);
    expect(log).toEqual(["a", "b"]);
  });

  it("carries on after a failing push", async () => {
    const log: string[] = [];
    const errors: unknown[] = [];
    const queue = new PushQueue({ onError: (e) => errors.push(e) });
    const failing = {
      push() {
        throw new Error("boom");
      },
    };
    await queue.enqueue([failing, connection("after", log)]);
    expect(log).toEqual(["after"]);
    expect(errors).toHaveLength(1);
  });
});
