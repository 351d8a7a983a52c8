// Envoy's retry state machine: retry_on tables for responses and resets, limits (URX/UO), x-envoy-* headers, back-off, previous_hosts.
import { describe, expect, it } from "vitest";
import { fixedRandom, request, sequenceRandom } from "../routing/testing.ts";
import type { RetryPolicy } from "../routing/types.ts";
import { JitteredExponentialBackOff, jitteredLowerBoundMs } from "./backoff.ts";
import { createRetryState } from "./retry-state.ts";

function policy(overrides: Partial<RetryPolicy> = {}): RetryPolicy {
  return {
    retryOn: [],
    numRetries: 1,
    retriableStatusCodes: [],
    retriableHeaders: [],
    retriableRequestHeaders: [],
    hostSelectionRetryMaxAttempts: 1,
    retryHostPredicates: [],
    ...overrides,
  };
}

/** Istio's default retry policy (no VirtualService retries). */
const ISTIO_DEFAULT = policy({
  retryOn: [
    "connect-failure",
    "refused-stream",
    "unavailable",
    "cancelled",
    "retriable-status-codes",
  ],
  numRetries: 2,
  hostSelectionRetryMaxAttempts: 5,
  retryHostPredicates: ["envoy.retry_host_predicates.previous_hosts"],
});

const zero = { random: fixedRandom(0) };

describe("retry decisions", () => {
  it.each([
    // [retryOn, status, retried?]
    [["5xx"], 503, true],
    [["5xx"], 500, true],
    [["5xx"], 404, false],
    [["gateway-error"], 502, true],
    [["gateway-error"], 504, true],
    [["gateway-error"], 500, false],
    [["retriable-4xx"], 409, true],
    [["retriable-4xx"], 429, false],
    [["retriable-status-codes"], 503, false],
    [["connect-failure", "reset"], 503, false],
  ] as const)("retry_on %j and status %i → retried %s", (retryOn, status, retried) => {
    const state = createRetryState(policy({ retryOn }), request(), zero);
    const result = state.onResponse({ status, headers: {} });
    expect(result !== "return").toBe(retried);
  });

  it("does not retry an application 503 under Istio's default policy", () => {
    const state = createRetryState(ISTIO_DEFAULT, request(), zero);
    expect(state.onResponse({ status: 503, headers: {} })).toBe("return");
    expect(state.flag).toBeUndefined();
  });

  it('retries listed status codes (retryOn "503" becomes a retriable status code)', () => {
    const p = policy({ retryOn: ["retriable-status-codes"], retriableStatusCodes: [503] });
    expect(createRetryState(p, request(), zero).onResponse({ status: 503, headers: {} })).toEqual({
      retryAfterMs: 0,
    });
  });

  it("matches gRPC retry_on values on grpc-status", () => {
    const state = createRetryState(ISTIO_DEFAULT, request(), zero);
    expect(state.onResponse({ status: 200, headers: { "grpc-status": "14" } })).not.toBe("return");
    expect(state.onResponse({ status: 200, headers: {}, grpcStatus: 1 })).not.toBe("return");
    const other = createRetryState(ISTIO_DEFAULT, request(), zero);
    expect(other.onResponse({ status: 200, headers: { "grpc-status": "13" } })).toBe("return");
    expect(other.onResponse({ status: 200, headers: { "grpc-status": "4" } })).toBe("return");
  });

  it("retries x-envoy-ratelimited responses only under envoy-ratelimited", () => {
    const limited = { status: 503, headers: { "x-envoy-ratelimited": "true" } };
    expect(
      createRetryState(policy({ retryOn: ["5xx"] }), request(), zero).onResponse(limited),
    ).toBe("return");
    const p = policy({ retryOn: ["envoy-ratelimited"] });
    expect(createRetryState(p, request(), zero).onResponse(limited)).not.toBe("return");
  });

  it.each([
    // [retryOn, reset kind, retried?]
    [["connect-failure"], "connect-failure", true],
    [["connect-failure"], "reset", false],
    [["refused-stream"], "refused-stream", true],
    [["refused-stream"], "reset", false],
    [["reset"], "reset", true],
    [["reset"], "timeout-per-try", true],
    [["5xx"], "reset", true],
    [["gateway-error"], "connect-failure", true],
    [["gateway-error"], "timeout-per-try", true],
    [["reset-before-request"], "connect-failure", true],
    [["reset-before-request"], "reset", false],
    [["5xx", "reset"], "overflow", false],
    [["retriable-status-codes"], "reset", false],
  ] as const)("retry_on %j and %s → retried %s", (retryOn, kind, retried) => {
    const state = createRetryState(policy({ retryOn }), request(), zero);
    expect(state.onReset(kind) !== "fail").toBe(retried);
  });

  it("honours reset-before-request when the caller says nothing was sent", () => {
    const state = createRetryState(policy({ retryOn: ["reset-before-request"] }), request(), zero);
    expect(state.onReset("reset", { requestStarted: false })).not.toBe("fail");
  });
});

describe("retry limits", () => {
  it("stops after num_retries and flags URX", () => {
    const state = createRetryState(policy({ retryOn: ["5xx"], numRetries: 2 }), request(), zero);
    expect(state.onResponse({ status: 500, headers: {} })).not.toBe("return");
    expect(state.onReset("reset")).not.toBe("fail");
    expect(state.attempts).toBe(3);
    expect(state.onResponse({ status: 500, headers: {} })).toBe("return");
    expect(state.flag).toBe("URX");
    expect(state.attempts).toBe(3);
  });

  it("flags UO when the retry circuit breaker refuses", () => {
    const state = createRetryState(policy({ retryOn: ["5xx"] }), request(), {
      random: fixedRandom(0),
      breakerAllowsRetry: () => false,
    });
    expect(state.onResponse({ status: 503, headers: {} })).toBe("return");
    expect(state.flag).toBe("UO");
    expect(state.retriesRemaining).toBe(0);
  });

  it("retries nothing without a policy unless a header asks", () => {
    expect(createRetryState(undefined, request(), zero).onReset("connect-failure")).toBe("fail");
    const asked = request({ headers: { "x-envoy-retry-on": "connect-failure" } });
    const state = createRetryState(undefined, asked, zero);
    expect(state.onReset("connect-failure")).not.toBe("fail");
    expect(state.onReset("connect-failure")).toBe("fail");
    expect(state.flag).toBe("URX");
  });
});

describe("request headers", () => {
  const headers = {
    "x-envoy-retry-on": "5xx, bogus",
    "x-envoy-retry-grpc-on": "internal",
    "x-envoy-max-retries": "3",
    "x-envoy-retriable-status-codes": "418",
    "x-envoy-retriable-header-names": "X-Retry-Me",
    "x-envoy-upstream-rq-per-try-timeout-ms": "250",
  };

  it("merges x-envoy-retry-on, x-envoy-retry-grpc-on and x-envoy-max-retries", () => {
    const state = createRetryState(
      policy({ retryOn: ["retriable-status-codes"] }),
      request({ headers }),
      zero,
    );
    expect(state.retriesRemaining).toBe(3);
    expect(state.perTryTimeoutMs).toBe(250);
    expect(state.onResponse({ status: 500, headers: {} })).not.toBe("return");
    expect(state.onResponse({ status: 418, headers: {} })).not.toBe("return");
    expect(state.onResponse({ status: 200, headers: { "grpc-status": "13" } })).not.toBe("return");
    expect(state.onResponse({ status: 200, headers: {} })).toBe("return");
  });

  it("adds x-envoy-retriable-header-names as presence matchers under retriable-headers", () => {
    const h = {
      "x-envoy-retry-on": "retriable-headers",
      "x-envoy-retriable-header-names": "X-Retry-Me",
    };
    const state = createRetryState(undefined, request({ headers: h }), zero);
    expect(state.onResponse({ status: 200, headers: { "x-retry-me": "1" } })).not.toBe("return");
  });

  it("ignores them when told to (edge proxies strip x-envoy-* from external requests)", () => {
    const state = createRetryState(undefined, request({ headers }), {
      random: fixedRandom(0),
      honorRequestHeaders: false,
    });
    expect(state.retriesRemaining).toBe(1);
    expect(state.onResponse({ status: 500, headers: {} })).toBe("return");
  });
});

describe("back-off", () => {
  it("is fully jittered and doubles from 25 ms up to 10× base", () => {
    const b = new JitteredExponentialBackOff(25, 250, fixedRandom(0.999999));
    expect([1, 2, 3, 4, 5, 6].map(() => b.nextBackOffMs())).toEqual([24, 49, 99, 199, 249, 249]);
    const low = new JitteredExponentialBackOff(25, 250, fixedRandom(0));
    expect(low.nextBackOffMs()).toBe(0);
  });

  it("uses the policy's back-off in the state machine", () => {
    const p = policy({
      retryOn: ["5xx"],
      numRetries: 3,
      retryBackOff: { baseIntervalMs: 100, maxIntervalMs: 150 },
    });
    const state = createRetryState(p, request(), { random: sequenceRandom([0.5]) });
    const delays = [1, 2, 3].map(() => state.onResponse({ status: 503, headers: {} }));
    expect(delays).toEqual([{ retryAfterMs: 50 }, { retryAfterMs: 75 }, { retryAfterMs: 75 }]);
  });

  it("honours rate-limited reset headers within max_interval", () => {
    const p = policy({
      retryOn: ["retriable-status-codes"],
      retriableStatusCodes: [429],
      rateLimitedRetryBackOff: {
        resetHeaders: [
          { name: "retry-after", format: "SECONDS" },
          { name: "x-ratelimit-reset", format: "UNIX_TIMESTAMP" },
        ],
        maxIntervalMs: 5000,
      },
    });
    const opts = { random: fixedRandom(0), now: () => 1_000_000 };
    expect(
      createRetryState(p, request(), opts).onResponse({
        status: 429,
        headers: { "retry-after": "2" },
      }),
    ).toEqual({ retryAfterMs: 2000 });
    expect(
      createRetryState(p, request(), opts).onResponse({
        status: 429,
        headers: { "x-ratelimit-reset": "1003" },
      }),
    ).toEqual({ retryAfterMs: 3000 });
    // Too long: falls back to the exponential back-off.
    expect(
      createRetryState(p, request(), opts).onResponse({
        status: 429,
        headers: { "retry-after": "60" },
      }),
    ).toEqual({ retryAfterMs: 0 });
    expect(jitteredLowerBoundMs(2000, fixedRandom(0.5))).toBe(2500);
  });
});

describe("host selection", () => {
  it("avoids previously attempted hosts on retries only", () => {
    const state = createRetryState(ISTIO_DEFAULT, request(), zero);
    state.onHostAttempted("a");
    expect(state.shouldSelectAnotherHost("a")).toBe(false);
    state.onReset("connect-failure");
    expect(state.shouldSelectAnotherHost("a")).toBe(true);
    expect(state.shouldSelectAnotherHost("b")).toBe(false);
    const picks = ["a", "a", "b"];
    expect(
      state.selectHost(
        () => picks.shift(),
        (h) => h,
      ),
    ).toBe("b");
  });

  it("keeps the last pick after hostSelectionMaxAttempts + 1 tries", () => {
    const state = createRetryState(ISTIO_DEFAULT, request(), zero);
    state.onHostAttempted("a");
    state.onReset("connect-failure");
    let calls = 0;
    expect(
      state.selectHost(
        () => {
          calls++;
          return "a";
        },
        (h) => h,
      ),
    ).toBe("a");
    expect(calls).toBe(6);
  });

  it("does not re-pick without the previous_hosts predicate", () => {
    const state = createRetryState(policy({ retryOn: ["reset"] }), request(), zero);
    state.onHostAttempted("a");
    state.onReset("reset");
    expect(state.shouldSelectAnotherHost("a")).toBe(false);
  });
});
