// Timers for configured durations: Node clamps any delay above 2^31-1 ms to 1 ms (with a
// TimeoutOverflowWarning), so a long configured timeout (e.g. "720h") would fire at once.
// Such a delay is treated as "no timer": nothing a process waits on lasts 24.8 days.

/** The longest delay Node's timers honour (2^31-1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whether `ms` arms a timer: positive, finite and within what Node's timers honour. */
export function armsTimer(ms: number | undefined): ms is number {
  return ms !== undefined && ms > 0 && ms <= MAX_TIMER_MS;
}

/**
 * setTimeout for a configured duration: undefined when the duration is disabled (≤ 0) or too long
 * for Node to honour, so callers keep their `if (timer) clearTimeout(timer)` handling.
 */
export function setTimeoutMs(
  callback: () => void,
  ms: number | undefined,
): NodeJS.Timeout | undefined {
  return armsTimer(ms) ? setTimeout(callback, ms) : undefined;
}
