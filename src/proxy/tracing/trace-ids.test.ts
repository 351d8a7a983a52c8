// Trace id widths: 64-bit traces for a Zipkin provider without trace_id_128bit, written at 16
// digits.
import { describe, expect, it } from "vitest";
import {
  randomTraceId,
  sixtyFourBitIdGenerator,
  sixtyFourBitTraces,
  zipkinTraceId,
} from "./trace-ids.ts";
import type { ZipkinProvider } from "./types.ts";

const ZIPKIN: ZipkinProvider = {
  kind: "zipkin",
  clusterName: "c",
  authority: "c",
  path: "/api/v2/spans",
  traceId128bit: false,
  w3cPropagation: false,
};

describe("trace ids", () => {
  it("starts 64-bit traces only for a Zipkin provider without trace_id_128bit", () => {
    expect(sixtyFourBitTraces(ZIPKIN)).toBe(true);
    expect(sixtyFourBitTraces({ ...ZIPKIN, traceId128bit: true })).toBe(false);
    expect(randomTraceId(true)).toMatch(/^0{16}[0-9a-f]{16}$/);
    expect(randomTraceId(true)).not.toBe(`0${"0".repeat(31)}`);
    expect(randomTraceId(false)).toMatch(/^[0-9a-f]{32}$/);
    const ids = sixtyFourBitIdGenerator({
      generateTraceId: () => "f".repeat(32),
      generateSpanId: () => "0123456789abcdef",
    });
    expect(ids.generateTraceId()).toBe("00000000000000000123456789abcdef");
    expect(ids.generateSpanId()).toBe("0123456789abcdef");
  });

  it("writes an id whose high half is zero at 16 digits", () => {
    expect(zipkinTraceId("00000000000000000123456789abcdef")).toBe("0123456789abcdef");
    expect(zipkinTraceId("4bf92f3577b34da6a3ce929d0e0e4736")).toBe(
      "4bf92f3577b34da6a3ce929d0e0e4736",
    );
  });
});
