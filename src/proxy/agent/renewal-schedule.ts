// When the agent asks the CA again: renewal once a share of the certificate's lifetime has passed
// (pilot-agent's SECRET_GRACE_PERIOD_RATIO with its jitter), and back-off between failed attempts.
// Pure: the caller owns the clock, the timers and the random source.

/** pilot-agent's SECRET_GRACE_PERIOD_RATIO default: renew when half the lifetime is left. */
export const DEFAULT_GRACE_PERIOD_RATIO = 0.5;
/** pilot-agent's SECRET_GRACE_PERIOD_RATIO_JITTER default: ±1 % (about 15 min over 24 h). */
export const DEFAULT_GRACE_PERIOD_RATIO_JITTER = 0.01;

export interface RenewalInput {
  /** When the agent received the certificate (pilot-agent's CreatedTime), epoch ms. */
  issuedAt: number;
  /** The leaf's notAfter, epoch ms. */
  notAfter: number;
  now: number;
  gracePeriodRatio: number;
  gracePeriodRatioJitter: number;
  /** A number in [0, 1). */
  random: () => number;
}

/**
 * Milliseconds until renewal, as pilot-agent's rotateTime computes it: the grace period is the
 * (jittered) ratio of the lifetime, counted back from notAfter; whole ms, never negative.
 */
export function renewalDelayMs(input: RenewalInput): number {
  const jitter = (input.random() * 2 - 1) * input.gracePeriodRatioJitter;
  const ratio = Math.min(1, Math.max(0, input.gracePeriodRatio + jitter));
  const lifetime = Math.max(0, input.notAfter - input.issuedAt);
  return Math.max(0, Math.round(input.notAfter - ratio * lifetime - input.now));
}

export interface BackOff {
  /** The first wait, ms. */
  initialMs: number;
  /** The longest wait, ms. */
  maxMs: number;
}

/** Half a second, doubling to 30 s: a CA that starts beside its proxies is found quickly. */
export const DEFAULT_BACK_OFF: BackOff = { initialMs: 500, maxMs: 30_000 };

/**
 * The wait before retry number `attempt` (1 after the first failure): exponential from
 * `initialMs` up to `maxMs`, each randomised down by up to 20 % so proxies do not retry in step.
 */
export function retryDelayMs(attempt: number, backOff: BackOff, random: () => number): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 30);
  const base = Math.min(backOff.maxMs, backOff.initialMs * 2 ** exponent);
  return Math.round(base * (1 - 0.2 * random()));
}
