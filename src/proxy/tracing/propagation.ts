// Trace context on the wire: W3C `traceparent`/`tracestate` and Zipkin's B3 (multi `x-b3-*` and
// single `b3`) parsed from a request's headers, and the proxy's span context written back into the
// upstream request. The OpenTelemetry tracer reads traceparent then B3 and writes traceparent
// (B3 too when the context came in B3); the Zipkin tracer reads and writes B3 (W3C as well only
// with trace_context_option USE_B3_WITH_W3C_PROPAGATION). Malformed values count as absent: a bad
// header never fails a request.
import type { MutableHeaders } from "../routing/types.ts";
import { zipkinTraceId } from "./trace-ids.ts";

/** A span context from the downstream request (the parent of the proxy's span). */
export interface ParentContext {
  /** 32 lower-case hex digits (a 64-bit B3 id is left-padded with zeros). */
  traceId: string;
  /** 16 lower-case hex digits. */
  spanId: string;
  /** The upstream's decision; undefined when the headers carried none (B3 may defer it). */
  sampled: boolean | undefined;
  /** W3C tracestate, passed on unchanged. */
  traceState: string | undefined;
  /** The header family it was read from (traceparent wins when both came). */
  format: "w3c" | "b3";
  /**
   * The request carried B3 headers: the proxy rewrites them too, so the next hop never sees a
   * B3 context older than the traceparent beside it.
   */
  b3: boolean;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const ZERO_TRACE = "00000000000000000000000000000000";
const ZERO_SPAN = "0000000000000000";
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

function single(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : value.length === 1 ? value[0] : undefined;
}

/**
 * W3C Trace Context level 1: version `ff` and all-zero ids are invalid; a higher version may carry
 * more fields after the four it shares with version 00.
 */
export function parseTraceparent(
  value: string,
): Omit<ParentContext, "traceState" | "b3"> | undefined {
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return {
    traceId: traceId!,
    spanId: spanId!,
    sampled: (Number.parseInt(flags!, 16) & 1) === 1,
    format: "w3c",
  };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/** A B3 trace id: 16 or 32 hex digits, widened to 32. */
function b3TraceId(value: string): string | undefined {
  const id = value.toLowerCase();
  if (HEX32.test(id)) return id === ZERO_TRACE ? undefined : id;
  if (HEX16.test(id)) return id === ZERO_SPAN ? undefined : `0000000000000000${id}`;
  return undefined;
}

function b3SpanId(value: string): string | undefined {
  const id = value.toLowerCase();
  return HEX16.test(id) && id !== ZERO_SPAN ? id : undefined;
}

/** B3's sampling state: `1`/`true` and debug `d` sample, `0`/`false` do not. */
function b3Sampled(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "1" || value === "true" || value === "d") return true;
  if (value === "0" || value === "false") return false;
  return undefined;
}

/** The single `b3` header: `{TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]`. */
export function parseB3Single(value: string): Omit<ParentContext, "traceState" | "b3"> | undefined {
  const parts = value.trim().split("-");
  if (parts.length < 2 || parts.length > 4) return undefined;
  const traceId = b3TraceId(parts[0]!);
  const spanId = b3SpanId(parts[1]!);
  if (!traceId || !spanId) return undefined;
  const sampled = b3Sampled(parts[2]);
  if (parts[2] !== undefined && sampled === undefined) return undefined;
  return { traceId, spanId, sampled, format: "b3" };
}

/** `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled`, `x-b3-flags` (debug `1` implies sampled). */
function parseB3Multi(
  headers: MutableHeaders,
): Omit<ParentContext, "traceState" | "b3"> | undefined {
  const rawTrace = single(headers["x-b3-traceid"]);
  const rawSpan = single(headers["x-b3-spanid"]);
  if (rawTrace === undefined || rawSpan === undefined) return undefined;
  const traceId = b3TraceId(rawTrace.trim());
  const spanId = b3SpanId(rawSpan.trim());
  if (!traceId || !spanId) return undefined;
  const debug = single(headers["x-b3-flags"]) === "1";
  const sampled = debug ? true : b3Sampled(single(headers["x-b3-sampled"])?.trim());
  return { traceId, spanId, sampled, format: "b3" };
}

/** The parent context of a request: traceparent first (Envoy's OpenTelemetry tracer), then B3. */
export function extractParentContext(headers: MutableHeaders): ParentContext | undefined {
  const b3 = single(headers.b3);
  const hasB3 = b3 !== undefined || headers["x-b3-traceid"] !== undefined;
  const traceparent = single(headers.traceparent);
  if (traceparent !== undefined) {
    const parsed = parseTraceparent(traceparent);
    if (parsed) {
      const state = headers.tracestate;
      const traceState = typeof state === "string" ? state : state?.join(",");
      return { ...parsed, traceState: traceState || undefined, b3: hasB3 };
    }
  }
  if (!hasB3) return undefined;
  const fromB3 = b3 !== undefined ? parseB3Single(b3) : parseB3Multi(headers);
  return fromB3 ? { ...fromB3, traceState: undefined, b3: true } : undefined;
}

/**
 * The parent context as Envoy's Zipkin tracer reads it: the single `b3` header when present, else
 * `x-b3-traceid`/`x-b3-spanid`; a traceparent only with `w3cFallback` and no B3 context.
 */
export function extractZipkinParentContext(
  headers: MutableHeaders,
  w3cFallback: boolean,
): ParentContext | undefined {
  const b3 = single(headers.b3);
  const fromB3 = b3 !== undefined ? parseB3Single(b3) : parseB3Multi(headers);
  if (fromB3) return { ...fromB3, traceState: undefined, b3: true };
  const traceparent = w3cFallback ? single(headers.traceparent) : undefined;
  const fromW3c = traceparent !== undefined ? parseTraceparent(traceparent) : undefined;
  return fromW3c ? { ...fromW3c, traceState: undefined, b3: false } : undefined;
}

/** Whether the request carries a B3 sampling-only decision (`b3: 0`, `x-b3-sampled` alone). */
export function b3SamplingOnly(headers: MutableHeaders): boolean | undefined {
  const b3 = single(headers.b3)?.trim();
  if (b3 === "0" || b3 === "1" || b3 === "d") return b3 !== "0";
  if (headers["x-b3-traceid"] !== undefined) return undefined;
  return b3Sampled(single(headers["x-b3-sampled"])?.trim());
}

const B3_HEADERS = ["b3", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled"];

/** What the proxy's span tells the upstream: its ids, the decision, and the parent's state. */
export interface InjectedContext {
  traceId: string;
  spanId: string;
  sampled: boolean;
  traceState: string | undefined;
  /** Also write B3 (the request came in B3). */
  b3: boolean;
  /** The parent span id, for x-b3-parentspanid. */
  parentSpanId: string | undefined;
}

/** Replaces the request's trace headers with the proxy's span context. */
export function injectContext(headers: MutableHeaders, context: InjectedContext): void {
  headers.traceparent = formatTraceparent(context.traceId, context.spanId, context.sampled);
  if (context.traceState) headers.tracestate = context.traceState;
  else delete headers.tracestate;
  if (!context.b3) return;
  const single = headers.b3 !== undefined;
  for (const name of B3_HEADERS) delete headers[name];
  delete headers["x-b3-flags"];
  if (single) {
    headers.b3 = `${context.traceId}-${context.spanId}-${context.sampled ? "1" : "0"}`;
    return;
  }
  headers["x-b3-traceid"] = context.traceId;
  headers["x-b3-spanid"] = context.spanId;
  if (context.parentSpanId) headers["x-b3-parentspanid"] = context.parentSpanId;
  headers["x-b3-sampled"] = context.sampled ? "1" : "0";
}

/**
 * The Zipkin tracer's context for the upstream: x-b3-traceid (16 digits for a 64-bit trace),
 * x-b3-spanid, x-b3-parentspanid and x-b3-sampled, plus a traceparent with `w3c`. Envoy leaves a
 * single `b3` header as it came, so the next hop (which reads `b3` first) would continue the
 * caller's span rather than this one: crema rewrites it instead. Other W3C headers and
 * x-b3-flags pass through untouched, as in Envoy.
 */
export function injectZipkinContext(
  headers: MutableHeaders,
  context: Omit<InjectedContext, "b3" | "traceState">,
  w3c: boolean,
): void {
  const traceId = zipkinTraceId(context.traceId);
  const sampled = context.sampled ? "1" : "0";
  headers["x-b3-traceid"] = traceId;
  headers["x-b3-spanid"] = context.spanId;
  if (context.parentSpanId) headers["x-b3-parentspanid"] = context.parentSpanId;
  else delete headers["x-b3-parentspanid"];
  headers["x-b3-sampled"] = sampled;
  if (headers.b3 !== undefined) headers.b3 = `${traceId}-${context.spanId}-${sampled}`;
  if (w3c)
    headers.traceparent = formatTraceparent(context.traceId, context.spanId, context.sampled);
}
