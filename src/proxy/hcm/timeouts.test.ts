// The router's timeout arithmetic: x-envoy-expected-rq-timeout-ms as Envoy's setTimeoutHeaders
// computes it (also on retries), and respect_expected_rq_timeout.
import { describe, expect, it } from "vitest";
import type { ForwardAction, MutableHeaders } from "../routing/types.ts";
import {
  expectedTimeoutMs,
  formatGrpcTimeout,
  requestTimeoutMs,
  rewritesGrpcTimeout,
  streamDurationMs,
} from "./timeouts.ts";

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

describe("requestTimeoutMs for gRPC (Envoy's finalTimeout)", () => {
  const action = (extra: Partial<ForwardAction>): ForwardAction =>
    ({ timeoutMs: 15_000, ...extra }) as ForwardAction;
  const grpcTimeout = (value?: string): MutableHeaders =>
    value === undefined ? {} : { "grpc-timeout": value };

  it("without grpc-timeout, max_grpc_timeout is the timeout (0 = none), not the route's", () => {
    expect(requestTimeoutMs(action({ maxGrpcTimeoutMs: 5000 }), grpcTimeout(), true)).toBe(5000);
    expect(requestTimeoutMs(action({ maxGrpcTimeoutMs: 0 }), grpcTimeout(), true)).toBe(0);
  });

  it("is Istio's min(VirtualService timeout, client deadline), or the deadline alone for 0s", () => {
    const vs = action({ timeoutMs: 3000, maxGrpcTimeoutMs: 3000 });
    expect(requestTimeoutMs(vs, grpcTimeout("1S"), true)).toBe(1000);
    expect(requestTimeoutMs(vs, grpcTimeout("10S"), true)).toBe(3000);
    const none = action({ timeoutMs: 0, maxGrpcTimeoutMs: 0 });
    expect(requestTimeoutMs(none, grpcTimeout("10S"), true)).toBe(10_000);
    expect(requestTimeoutMs(none, grpcTimeout(), true)).toBe(0);
  });

  it("subtracts grpc_timeout_offset before capping, only when it leaves time", () => {
    const offset = action({ maxGrpcTimeoutMs: 5000, grpcTimeoutOffsetMs: 1000 });
    expect(requestTimeoutMs(offset, grpcTimeout("5500m"), true)).toBe(4500);
    expect(requestTimeoutMs(offset, grpcTimeout("10S"), true)).toBe(5000);
    expect(requestTimeoutMs(offset, grpcTimeout("500m"), true)).toBe(500);
  });

  it("grpc-timeout: 0 is no deadline, so max_grpc_timeout applies", () => {
    expect(requestTimeoutMs(action({ maxGrpcTimeoutMs: 5000 }), grpcTimeout("0S"), true)).toBe(
      5000,
    );
  });

  it("ignores max_grpc_timeout and the route timeout once the route sets max_stream_duration", () => {
    const both = action({ usingNewTimeouts: true, maxGrpcTimeoutMs: 5000 });
    expect(requestTimeoutMs(both, grpcTimeout("1S"), true)).toBe(0);
    expect(requestTimeoutMs(both, {}, false)).toBe(0);
    expect(rewritesGrpcTimeout(both, true)).toBe(false);
    expect(rewritesGrpcTimeout(action({ maxGrpcTimeoutMs: 0 }), true)).toBe(true);
    expect(rewritesGrpcTimeout(action({ maxGrpcTimeoutMs: 0 }), false)).toBe(false);
  });
});

describe("streamDurationMs (Envoy's refreshDurationTimeout)", () => {
  const action = (extra: Partial<ForwardAction>): ForwardAction =>
    ({ timeoutMs: 15_000, usingNewTimeouts: true, ...extra }) as ForwardAction;

  it("takes grpc-timeout capped by grpc_timeout_header_max, then less the offset, and rewrites it", () => {
    const headers: MutableHeaders = { "grpc-timeout": "10S" };
    const capped = action({ grpcTimeoutHeaderMaxMs: 3000, grpcTimeoutHeaderOffsetMs: 500 });
    expect(streamDurationMs(capped, undefined, headers, true)).toBe(2500);
    expect(headers["grpc-timeout"]).toBe("2500m");
    const uncapped = action({ grpcTimeoutHeaderMaxMs: 0 });
    expect(streamDurationMs(uncapped, undefined, { "grpc-timeout": "10S" }, true)).toBe(10_000);
    const eaten = action({ grpcTimeoutHeaderMaxMs: 0, grpcTimeoutHeaderOffsetMs: 2000 });
    expect(streamDurationMs(eaten, undefined, { "grpc-timeout": "1S" }, true)).toBe(0);
  });

  it("else the route's max_stream_duration (0 = none), else the HCM's", () => {
    expect(streamDurationMs(action({ maxStreamDurationMs: 700 }), 900, {}, false)).toBe(700);
    expect(streamDurationMs(action({ maxStreamDurationMs: 0 }), 900, {}, false)).toBeUndefined();
    expect(streamDurationMs(action({}), 900, {}, false)).toBe(900);
    expect(streamDurationMs(action({}), undefined, {}, false)).toBeUndefined();
    // Without grpc_timeout_header_max the client's deadline plays no part.
    const headers: MutableHeaders = { "grpc-timeout": "1S" };
    expect(streamDurationMs(action({ maxStreamDurationMs: 700 }), undefined, headers, true)).toBe(
      700,
    );
    expect(headers["grpc-timeout"]).toBe("700m");
  });
});

describe("formatGrpcTimeout (Envoy's toGrpcTimeout)", () => {
  it("uses ms, then coarser units to stay within 8 digits", () => {
    expect(formatGrpcTimeout(2000)).toBe("2000m");
    expect(formatGrpcTimeout(99_999_999)).toBe("99999999m");
    expect(formatGrpcTimeout(100_000_000)).toBe("100000S");
  });
});
