// Istio's push debounce: after a change, wait for 100 ms of quiet before pushing, but never
// delay a push by more than 10 s after the first change of a burst.
import type { Clock, TimerHandle } from "../base/clock.ts";

export interface DebounceOptions {
  quietMs?: number;
  maxDelayMs?: number;
}

export interface PushDebouncer {
  /** Records a change; `reason` is kept for logs and metrics. */
  change(reason: string): void;
  /** Pushes now whatever is pending. */
  flush(): void;
  /** Whether a change waits for its push. */
  pending(): boolean;
  stop(): void;
}

export function createPushDebouncer(
  clock: Clock,
  push: (reasons: readonly string[]) => void,
  { quietMs = 100, maxDelayMs = 10_000 }: DebounceOptions = {},
): PushDebouncer {
  let pending: string[] = [];
  let firstChangeAt = 0;
  let timer: TimerHandle | undefined;

  const fire = () => {
    timer = undefined;
    if (pending.length === 0) return;
    const reasons = pending;
    pending = [];
    push(reasons);
  };

  const schedule = () => {
    if (timer) clock.clearTimeout(timer);
    const untilMax = firstChangeAt + maxDelayMs - clock.now();
    timer = clock.setTimeout(fire, Math.max(0, Math.min(quietMs, untilMax)));
  };

  return {
    change(reason) {
      if (pending.length === 0) firstChangeAt = clock.now();
      pending.push(reason);
      schedule();
    },
    flush() {
      if (timer) clock.clearTimeout(timer);
      fire();
    },
    pending: () => pending.length > 0,
    stop() {
      if (timer) clock.clearTimeout(timer);
      timer = undefined;
      pending = [];
    },
  };
}
