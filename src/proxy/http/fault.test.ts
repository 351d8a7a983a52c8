// Fault filter: HTTPFault decoding and per-request delay/abort decisions, fixed and header-controlled, with deterministic randomness.
import { describe, expect, it } from "vitest";
import type { DecodeContext } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { fixedRandom, request, sequenceRandom } from "../routing/testing.ts";
import { decideFault, decodeFaultConfig, type FaultConfig } from "./fault.ts";

function decode(json: unknown): FaultConfig {
  const ctx: DecodeContext = { errors: [], regexes: new Re2Lease() };
  const config = decodeFaultConfig(json, ctx);
  expect(ctx.errors).toEqual([]);
  return config;
}

function errorsOf(json: unknown): string[] {
  const ctx: DecodeContext = { errors: [], regexes: new Re2Lease() };
  decodeFaultConfig(json, ctx);
  return ctx.errors;
}

const pct = (numerator: number, denominator = "HUNDRED") => ({ numerator, denominator });
const always = { random: fixedRandom(0) };

describe("decodeFaultConfig", () => {
  it("reads Istio's abort and delay", () => {
    const config = decode({
      "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      delay: { fixed_delay: "1.5s", percentage: pct(500000, "MILLION") },
      abort: { http_status: 503, percentage: pct(100) },
    });
    expect(config.delay).toEqual({
      source: "fixed",
      fixedDelayMs: 1500,
      percentage: { numerator: 500000, denominator: 1_000_000 },
    });
    expect(config.abort).toEqual({
      source: "fixed",
      httpStatus: 503,
      percentage: { numerator: 100, denominator: 100 },
    });
  });

  it("treats an absent percentage as 0 %", () => {
    const config = decode({ abort: { http_status: 500 } });
    expect(config.abort?.percentage.numerator).toBe(0);
    expect(decideFault(config, request(), always)).toEqual({ flags: [] });
  });

  it("rejects an out-of-range status and a missing error type", () => {
    expect(errorsOf({ abort: { http_status: 99, percentage: pct(1) } })[0]).toMatch(/200, 600/);
    expect(errorsOf({ abort: { percentage: pct(1) } })[0]).toMatch(/one of/);
  });
});

describe("decideFault", () => {
  it("delays, then aborts, with DI and FI", () => {
    const config = decode({
      delay: { fixed_delay: "2s", percentage: pct(100) },
      abort: { http_status: 503, percentage: pct(100) },
    });
    expect(decideFault(config, request(), always)).toEqual({
      delayMs: 2000,
      abort: { status: 503 },
      flags: ["DI", "FI"],
    });
  });

  it("samples each fault with its own draw (delay first)", () => {
    const config = decode({
      delay: { fixed_delay: "1s", percentage: pct(50) },
      abort: { http_status: 500, percentage: pct(50) },
    });
    expect(decideFault(config, request(), { random: sequenceRandom([0.49, 0.5]) })).toEqual({
      delayMs: 1000,
      flags: ["DI"],
    });
    expect(decideFault(config, request(), { random: sequenceRandom([0.5, 0.49]) })).toEqual({
      abort: { status: 500 },
      flags: ["FI"],
    });
  });

  it("aborts gRPC with HTTP 200 and the configured grpc-status", () => {
    const config = decode({ abort: { grpc_status: 14, percentage: pct(100) } });
    expect(decideFault(config, request(), always).abort).toEqual({ status: 200, grpcStatus: 14 });
  });

  it("takes header-controlled faults from x-envoy-fault-* only when enabled", () => {
    const config = decode({
      abort: { header_abort: {}, percentage: pct(100) },
      delay: { header_delay: {}, percentage: pct(100) },
    });
    const headers = {
      "x-envoy-fault-abort-request": "429",
      "x-envoy-fault-delay-request": "150",
    };
    expect(decideFault(config, request({ headers }), always)).toEqual({
      delayMs: 150,
      abort: { status: 429 },
      flags: ["DI", "FI"],
    });
    expect(decideFault(config, request(), always)).toEqual({ flags: [] });
    const grpc = { "x-envoy-fault-abort-grpc-request": "4" };
    expect(decideFault(config, request({ headers: grpc }), always).abort).toEqual({
      status: 200,
      grpcStatus: 4,
    });
    const fixed = decode({ abort: { http_status: 503, percentage: pct(0) } });
    expect(decideFault(fixed, request({ headers }), always)).toEqual({ flags: [] });
  });

  it("lets the percentage header lower but not raise the configured numerator", () => {
    const config = decode({ abort: { header_abort: {}, percentage: pct(50) } });
    const at = (p: string) =>
      decideFault(
        config,
        request({
          headers: {
            "x-envoy-fault-abort-request": "503",
            "x-envoy-fault-abort-request-percentage": p,
          },
        }),
        { random: fixedRandom(0.3) },
      ).abort;
    expect(at("20")).toBeUndefined();
    expect(at("40")).toEqual({ status: 503 });
    expect(at("100")).toEqual({ status: 503 });
  });

  it("ignores invalid header values", () => {
    const config = decode({ abort: { header_abort: {}, percentage: pct(100) } });
    const bad = { "x-envoy-fault-abort-request": "600" };
    expect(decideFault(config, request({ headers: bad }), always).abort).toBeUndefined();
  });

  it("applies only to matching headers, cluster and downstream nodes", () => {
    const config = decode({
      abort: { http_status: 503, percentage: pct(100) },
      headers: [{ name: "x-user", string_match: { exact: "tester" } }],
      upstream_cluster: "reviews",
      downstream_nodes: ["node-a"],
    });
    const headers = { "x-user": "tester", "x-envoy-downstream-service-node": "node-a" };
    expect(
      decideFault(config, request({ headers }), { ...always, cluster: "reviews" }).abort,
    ).toEqual({
      status: 503,
    });
    expect(
      decideFault(config, request({ headers }), { ...always, cluster: "ratings" }).abort,
    ).toBeUndefined();
    const other = { ...headers, "x-user": "someone" };
    expect(
      decideFault(config, request({ headers: other }), { ...always, cluster: "reviews" }).abort,
    ).toBeUndefined();
  });

  it("injects nothing once max_active_faults are in progress", () => {
    const config = decode({
      abort: { http_status: 503, percentage: pct(100) },
      max_active_faults: 2,
    });
    expect(decideFault(config, request(), { ...always, activeFaults: 1 }).abort).toBeDefined();
    expect(decideFault(config, request(), { ...always, activeFaults: 2 })).toEqual({ flags: [] });
  });

  it("rate-limits the response body", () => {
    const config = decode({
      response_rate_limit: { fixed_limit: { limit_kbps: 64 }, percentage: pct(100) },
    });
    expect(decideFault(config, request(), always)).toEqual({
      responseRateLimitKbps: 64,
      flags: [],
    });
  });
});
