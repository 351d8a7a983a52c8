// Time source for everything that waits or timestamps: the system clock in production, a
// manual clock in tests so that timers fire when the test says so, never on a sleep.

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: number;
}

export function systemClock(): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  let nextId = 1;
  return {
    now: () => Date.now(),
    setTimeout(callback, ms) {
      const id = nextId++;
      const timer = setTimeout(() => {
        timers.delete(id);
        callback();
      }, ms);
      timers.set(id, timer);
      return { id };
    },
    clearTimeout(handle) {
      const timer = timers.get(handle.id);
      if (timer) clearTimeout(timer);
      timers.delete(handle.id);
    },
  };
}

export interface ManualClock extends Clock {
  /** Moves time forward, firing every timer that falls due, in due order. */
  advance(ms: number): void;
  pendingTimers(): number;
}

export function manualClock(start = 0): ManualClock {
  let current = start;
  let nextId = 1;
  const timers = new Map<number, { due: number; callback: () => void }>();
  return {
    now: () => current,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { due: current + Math.max(0, ms), callback });
      return { id };
    },
    clearTimeout(handle) {
      timers.delete(handle.id);
    },
    advance(ms) {
      const target = current + ms;
      for (;;) {
        let nextDue: [number, { due: number; callback: () => void }] | undefined;
        for (const entry of timers) {
          if (entry[1].due <= target && (!nextDue || entry[1].due < nextDue[1].due))
            nextDue = entry;
        }
        if (!nextDue) break;
        timers.delete(nextDue[0]);
        current = nextDue[1].due;
        nextDue[1].callback();
      }
      current = target;
    },
    pendingTimers: () => timers.size,
  };
}
