// Trace id widths. OpenTelemetry's ids are always 32 hex digits; Envoy's Zipkin tracer starts
// 64-bit traces unless trace_id_128bit is set, and writes a trace id whose high 64 bits are zero
// (a 64-bit id, or one continued from a 16-digit B3 header) as 16 digits, in B3 headers and in
// reported spans alike. crema holds every id at 32 digits and narrows it only on the wire.
import { randomBytes } from "node:crypto";
import type { IdGenerator } from "@opentelemetry/sdk-trace";
import type { TracingProvider } from "./types.ts";

const ZERO_HIGH = "0000000000000000";

/** Whether new traces of this provider get 64-bit ids. */
export function sixtyFourBitTraces(provider: TracingProvider): boolean {
  return provider.kind === "zipkin" && !provider.traceId128bit;
}

/** A random trace id for a new trace (32 hex digits, the high half zero when 64-bit). */
export function randomTraceId(sixtyFourBit: boolean): string {
  if (!sixtyFourBit) return randomBytes(16).toString("hex");
  let low = randomBytes(8).toString("hex");
  while (low === ZERO_HIGH) low = randomBytes(8).toString("hex");
  return `${ZERO_HIGH}${low}`;
}

/** `ids` with 64-bit trace ids: the SDK's generator for the spans of a 64-bit provider. */
export function sixtyFourBitIdGenerator(ids: IdGenerator): IdGenerator {
  return {
    generateTraceId: () => `${ZERO_HIGH}${ids.generateSpanId()}`,
    generateSpanId: () => ids.generateSpanId(),
  };
}

/** A trace id as Zipkin (and B3) writes it: 16 digits when the high half is zero, else 32. */
export function zipkinTraceId(traceId: string): string {
  return traceId.length === 32 && traceId.startsWith(ZERO_HIGH) ? traceId.slice(16) : traceId;
}
