/**
 * Waits until `check` reports that a condition holds, by asking it again and again until a
 * deadline. The bound is time, not a count of attempts: on a loaded machine one attempt can be
 * fast (a local reply) while the push it waits for takes seconds, so a fixed count runs out
 * early exactly when the machine is busiest.
 *
 * `check` returns the value to hand back, or `undefined`/`false` for "not yet". `detail` is
 * called once, on timeout, for what the error should show (the last answer, logs).
 */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; detail?: () => string } = {},
): Promise<T> {
  const { timeoutMs = 20_000, intervalMs = 10 } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const detail = options.detail?.();
  throw new Error(
    `timed out after ${timeoutMs} ms waiting until ${what}${detail ? `\n${detail}` : ""}`,
  );
}
