// The router's timeout arithmetic: x-envoy-expected-rq-timeout-ms as Envoy's setTimeoutHeaders
// computes it (also on retries), and respect_expected_rq_timeout.
import { describe, expect, it } from "vitest";
import type { ForwardAction, MutableHeaders } from "../routing/types.ts";
import { expectedTimeoutMs, requestTimeoutMs } from "./timeouts.ts";

describe("expectedTimeoutMs", () => {
  it("is the per-try timeout, else the global one; none when neither is set", () => {
    expect(expectedTimeoutMs(15_000, undefined, 0)).toBe(15_000);
    expect(expectedTimeoutMs(15_000, 2000, 0)).toBe(2000);
    expect(expectedTimeoutMs(0, 2000, 0)).toBe(2000);
    expect(expectedTimeoutMs(0, undefined, 0)).toBeUndefined();
  });

  it("on a retry, caps it by what is left of the global timeout (1 ms when nothing is)", () => {
    expect(expectedTimeoutMs(1000, undefined, 300.7)).toBe(700);
    expect(expectedTimeoutMs(1000, 500, 300)).toBe(500);
    expect(expectedTimeoutMs(1000, 500, 800)).toBe(200);
    expect(expectedTimeoutMs(1000, 500, 1000)).toBe(1);
    expect(expectedTimeoutMs(0, 500, 5000)).toBe(500);
  });
});

describe("requestTimeoutMs with respect_expected_rq_timeout", () => {
  const action = { timeoutMs: 15_000 } as ForwardAction;

  it("takes an egress proxy's x-envoy-expected-rq-timeout-ms first", () => {
    const headers: MutableHeaders = {
      "x-envoy-expected-rq-timeout-ms": "250",
      "x-envoy-upstream-rq-timeout-ms": "900",
    };
    expect(requestTimeoutMs(action, headers, false, { respectExpectedRqTimeout: true })).toBe(250);
    expect(headers["x-envoy-upstream-rq-timeout-ms"]).toBe("900");
  });

  it("ignores it otherwise", () => {
    const headers: MutableHeaders = { "x-envoy-expected-rq-timeout-ms": "250" };
    expect(requestTimeoutMs(action, headers, false)).toBe(15_000);
    const upstream: MutableHeaders = { "x-envoy-upstream-rq-timeout-ms": "900" };
    expect(requestTimeoutMs(action, upstream, false, { respectExpectedRqTimeout: true })).toBe(900);
    expect(upstream["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
  });
});
