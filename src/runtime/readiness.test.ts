import { describe, expect, it } from "vitest";
import { FAILURE_THRESHOLD, type Readiness, readinessAfterProbe } from "./readiness.ts";

const run = (start: Readiness, probes: boolean[], exited = false) =>
  probes.reduce((state, passed) => readinessAfterProbe(state, passed, exited), start);

describe("readiness after probes", () => {
  it("makes a pod ready on its first successful probe", () => {
    expect(run({ ready: false, failures: 0 }, [false, false, true]).ready).toBe(true);
  });

  it("keeps a ready pod ready through fewer failures in a row than the threshold", () => {
    const failures = Array<boolean>(FAILURE_THRESHOLD - 1).fill(false);
    expect(run({ ready: true, failures: 0 }, [...failures, true, ...failures]).ready).toBe(true);
  });

  it("makes a ready pod unready after the threshold of failures in a row", () => {
    const failures = Array<boolean>(FAILURE_THRESHOLD).fill(false);
    expect(run({ ready: true, failures: 0 }, failures)).toEqual({
      ready: false,
      failures: FAILURE_THRESHOLD,
    });
  });

  it("makes a pod unready at once when a container has exited", () => {
    expect(run({ ready: true, failures: 0 }, [false], true).ready).toBe(false);
  });
});
