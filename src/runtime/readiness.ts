// A pod's readiness from its probes, with the kubelet's default thresholds: one success makes a
// pod ready (successThreshold 1); a ready pod becomes unready after three failures in a row
// (failureThreshold 3), so that one slow probe on a busy machine does not take its endpoints
// away; a container that is no longer running makes it unready at once.

/** Kubernetes' default readinessProbe.failureThreshold. */
export const FAILURE_THRESHOLD = 3;

export interface Readiness {
  ready: boolean;
  /** Failed probes in a row. */
  failures: number;
}

export function readinessAfterProbe(
  before: Readiness,
  passed: boolean,
  containerExited: boolean,
): Readiness {
  const failures = passed ? 0 : before.failures + 1;
  const ready = passed || (before.ready && !containerExited && failures < FAILURE_THRESHOLD);
  return { ready, failures };
}
