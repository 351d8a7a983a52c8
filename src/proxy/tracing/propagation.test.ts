// W3C traceparent/tracestate and B3 (single and multi) parsing, and what the proxy writes back,
// for the OpenTelemetry tracer and for the Zipkin tracer.
import { describe, expect, it } from "vitest";
import type { MutableHeaders } from "../routing/types.ts";
import {
  extractParentContext,
  extractZipkinParentContext,
  formatTraceparent,
  injectContext,
  injectZipkinContext,
  parseB3Single,
  parseTraceparent,
} from "./propagation.ts";
import { decideSampled, hcmSamplingReason } from "./sampling.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";

describe("parseTraceparent", () => {
  it.each([
    [`00-${TRACE}-${SPAN}-01`, true],
    [`00-${TRACE}-${SPAN}-00`, false],
    [`00-${TRACE}-${SPAN}-09`, true],
    // A later version may append fields.
    [`01-${TRACE}-${SPAN}-01-extra`, true],
  ])("reads %s", (value, sampled) => {
    expect(parseTraceparent(value)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled,
      format: "w3c",
    });
  });

  it.each([
    "",
    "garbage",
    `ff-${TRACE}-${SPAN}-01`,
    `00-${"0".repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${"0".repeat(16)}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${TRACE}-${SPAN}`,
  ])("rejects %j", (value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it("formats version 00", () => {
    expect(formatTraceparent(TRACE, SPAN, true)).toBe(`00-${TRACE}-${SPAN}-01`);
    expect(formatTraceparent(TRACE, SPAN, false)).toBe(`00-${TRACE}-${SPAN}-00`);
  });
});

describe("B3", () => {
  it("reads the single header with and without a sampling state, widening 64-bit ids", () => {
    expect(parseB3Single(`${TRACE}-${SPAN}-1`)).toMatchObject({ traceId: TRACE, sampled: true });
    expect(parseB3Single(`${TRACE}-${SPAN}-d-${SPAN}`)).toMatchObject({ sampled: true });
    expect(parseB3Single(`${SPAN}-${SPAN}`)).toMatchObject({
      traceId: `0000000000000000${SPAN}`,
      sampled: undefined,
    });
    expect(parseB3Single(`${TRACE}-${SPAN}-x`)).toBeUndefined();
    expect(parseB3Single("0")).toBeUndefined();
  });

  it("reads the multi headers; x-b3-flags 1 (debug) samples", () => {
    const headers = { "x-b3-traceid": TRACE, "x-b3-spanid": SPAN, "x-b3-flags": "1" };
    expect(extractParentContext(headers)).toMatchObject({
      traceId: TRACE,
      sampled: true,
      b3: true,
    });
    expect(extractParentContext({ "x-b3-traceid": TRACE })).toBeUndefined();
  });

  it("prefers traceparent, keeping tracestate, and notes B3 beside it", () => {
    const context = extractParentContext({
      traceparent: `00-${TRACE}-${SPAN}-00`,
      tracestate: "a=1",
      b3: `${SPAN}-${SPAN}-1`,
    });
    expect(context).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      sampled: false,
      traceState: "a=1",
      format: "w3c",
      b3: true,
    });
  });

  it("falls back to B3 when traceparent is malformed, never failing", () => {
    const context = extractParentContext({ traceparent: "nope", b3: `${TRACE}-${SPAN}-0` });
    expect(context).toMatchObject({ traceId: TRACE, sampled: false, format: "b3" });
    expect(extractParentContext({ traceparent: ["a", "b"] })).toBeUndefined();
  });
});

describe("injectContext", () => {
  const context = {
    traceId: TRACE,
    spanId: "1111111111111111",
    sampled: true,
    traceState: undefined,
    parentSpanId: SPAN,
  };

  it("writes traceparent and drops a stale tracestate", () => {
    const headers: MutableHeaders = { tracestate: "old=1" };
    injectContext(headers, { ...context, b3: false });
    expect(headers).toEqual({ traceparent: `00-${TRACE}-1111111111111111-01` });
  });

  it("rewrites multi B3 headers, and single b3 in its own form", () => {
    const multi: MutableHeaders = { "x-b3-traceid": "x", "x-b3-flags": "1" };
    injectContext(multi, { ...context, b3: true });
    expect(multi).toMatchObject({
      "x-b3-traceid": TRACE,
      "x-b3-spanid": "1111111111111111",
      "x-b3-parentspanid": SPAN,
      "x-b3-sampled": "1",
    });
    expect(multi["x-b3-flags"]).toBeUndefined();
    const one: MutableHeaders = { b3: "0" };
    injectContext(one, { ...context, sampled: false, b3: true });
    expect(one.b3).toBe(`${TRACE}-1111111111111111-0`);
    expect(one["x-b3-traceid"]).toBeUndefined();
  });
});

describe("the Zipkin tracer's context", () => {
  const B3_TRACE = "80f198ee56343ba864fe8b2a57d3eff7";
  const B3_SPAN = "e457b5a2e4d86bd1";
  const traceparent = `00-${TRACE}-${SPAN}-01`;

  it("reads B3 (the single header first) and ignores traceparent without W3C propagation", () => {
    expect(
      extractZipkinParentContext(
        { traceparent, "x-b3-traceid": B3_TRACE, "x-b3-spanid": B3_SPAN, "x-b3-sampled": "0" },
        false,
      ),
    ).toEqual({
      traceId: B3_TRACE,
      spanId: B3_SPAN,
      sampled: false,
      format: "b3",
      traceState: undefined,
      b3: true,
    });
    expect(
      extractZipkinParentContext(
        { b3: `${B3_TRACE}-${SPAN}-1`, "x-b3-traceid": B3_TRACE, "x-b3-spanid": B3_SPAN },
        false,
      )?.spanId,
    ).toBe(SPAN);
    // A sampling-only b3 header carries no context, and Envoy then reads no x-b3-* either.
    expect(
      extractZipkinParentContext(
        { b3: "1", "x-b3-traceid": B3_TRACE, "x-b3-spanid": B3_SPAN },
        false,
      ),
    ).toBeUndefined();
    expect(extractZipkinParentContext({ traceparent }, false)).toBeUndefined();
  });

  it("falls back to traceparent with USE_B3_WITH_W3C_PROPAGATION, B3 still first", () => {
    expect(extractZipkinParentContext({ traceparent }, true)).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      sampled: true,
      format: "w3c",
    });
    expect(
      extractZipkinParentContext(
        { traceparent, "x-b3-traceid": B3_TRACE, "x-b3-spanid": B3_SPAN },
        true,
      )?.traceId,
    ).toBe(B3_TRACE);
  });

  it("writes x-b3-* with a 64-bit trace id at 16 digits, leaving W3C headers alone", () => {
    const headers: MutableHeaders = {
      traceparent,
      tracestate: "a=b",
      "x-b3-parentspanid": "1111111111111111",
      "x-b3-flags": "1",
    };
    injectZipkinContext(
      headers,
      {
        traceId: `0000000000000000${B3_SPAN}`,
        spanId: SPAN,
        sampled: true,
        parentSpanId: undefined,
      },
      false,
    );
    expect(headers).toEqual({
      traceparent,
      tracestate: "a=b",
      "x-b3-flags": "1",
      "x-b3-traceid": B3_SPAN,
      "x-b3-spanid": SPAN,
      "x-b3-sampled": "1",
    });
  });

  it("writes the parent, rewrites a single b3 header, and adds traceparent with W3C", () => {
    const headers: MutableHeaders = { b3: `${B3_TRACE}-${B3_SPAN}-1` };
    injectZipkinContext(
      headers,
      { traceId: B3_TRACE, spanId: SPAN, sampled: false, parentSpanId: B3_SPAN },
      true,
    );
    expect(headers).toEqual({
      b3: `${B3_TRACE}-${SPAN}-0`,
      "x-b3-traceid": B3_TRACE,
      "x-b3-spanid": SPAN,
      "x-b3-parentspanid": B3_SPAN,
      "x-b3-sampled": "0",
      traceparent: formatTraceparent(B3_TRACE, SPAN, false),
    });
  });
});

describe("sampling", () => {
  const config = {
    clientSamplingPercent: 100,
    randomSamplingPercent: 0,
    overallSamplingPercent: 100,
  };
  const never = () => 0.999999;

  it("forces on x-envoy-force-trace and x-client-trace-id, else samples at random_sampling", () => {
    expect(hcmSamplingReason(config, { "x-envoy-force-trace": "1" }, never)).toBe("service_forced");
    expect(hcmSamplingReason(config, { "x-client-trace-id": "c" }, never)).toBe("client_forced");
    expect(hcmSamplingReason(config, {}, never)).toBe("not_traceable");
    expect(hcmSamplingReason({ ...config, randomSamplingPercent: 100 }, {}, never)).toBe(
      "sampling",
    );
    expect(
      hcmSamplingReason(
        { ...config, overallSamplingPercent: 0 },
        { "x-envoy-force-trace": "1" },
        never,
      ),
    ).toBe("not_traceable");
  });

  it("follows the parent's decision when it carried one", () => {
    const parent = extractParentContext({ traceparent: `00-${TRACE}-${SPAN}-00` });
    expect(decideSampled(parent, {}, "service_forced")).toBe(false);
    const deferred = extractParentContext({ "x-b3-traceid": TRACE, "x-b3-spanid": SPAN });
    expect(decideSampled(deferred, {}, "sampling")).toBe(true);
    expect(decideSampled(undefined, { b3: "0" }, "sampling")).toBe(false);
    expect(decideSampled(undefined, {}, "not_traceable")).toBe(false);
  });
});
