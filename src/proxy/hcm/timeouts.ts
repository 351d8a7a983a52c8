// The router's request timeout (Envoy's FilterUtility::finalTimeout): the route timeout, replaced
// by a gRPC client's grpc-timeout where the route allows it, or by x-envoy-upstream-rq-timeout-ms;
// and the stream duration a route's max_stream_duration sets (refreshDurationTimeout).
import type { ForwardAction, MutableHeaders } from "../routing/types.ts";
import { firstValue } from "./headers.ts";

const GRPC_TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1000,
  m: 1,
  u: 0.001,
  n: 0.000001,
};

/** `grpc-timeout` ("<1–8 digits><H|M|S|m|u|n>") in ms, or undefined when malformed. */
export function parseGrpcTimeout(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (!match) return undefined;
  return Math.ceil(Number(match[1]) * GRPC_TIMEOUT_UNIT_MS[match[2]!]!);
}

/** Envoy's Grpc::Common::toGrpcTimeout: ms, else coarser units so the value keeps 8 digits. */
export function formatGrpcTimeout(ms: number): string {
  const MAX = 99_999_999;
  let time = Math.floor(ms);
  if (time <= MAX) return `${time}m`;
  time = Math.floor(time / 1000);
  if (time <= MAX) return `${time}S`;
  time = Math.floor(time / 60);
  if (time <= MAX) return `${time}M`;
  time = Math.floor(time / 60);
  return `${Math.min(time, MAX)}H`;
}

/**
 * Whether the router rewrites `grpc-timeout` to the expected timeout (Envoy's setTimeoutHeaders):
 * only under the deprecated max_grpc_timeout, so the upstream learns the per-try timeout too.
 */
export function rewritesGrpcTimeout(action: ForwardAction, grpc: boolean): boolean {
  return grpc && !action.usingNewTimeouts && action.maxGrpcTimeoutMs !== undefined;
}

/**
 * The global timeout in ms; 0 = none. Consumes x-envoy-upstream-rq-timeout-ms; with the router's
 * respect_expected_rq_timeout, an egress proxy's x-envoy-expected-rq-timeout-ms comes first (and
 * x-envoy-upstream-rq-timeout-ms is then left alone, as Envoy does).
 *
 * A route with max_stream_duration uses the HCM's stream duration timer instead (see
 * streamDurationMs): the router then has no timeout of its own, not even the route's.
 */
export function requestTimeoutMs(
  action: ForwardAction,
  headers: MutableHeaders,
  grpc: boolean,
  options: { respectExpectedRqTimeout?: boolean } = {},
): number {
  let timeout = 0;
  if (!action.usingNewTimeouts) {
    const max = action.maxGrpcTimeoutMs;
    if (grpc && max !== undefined) {
      // No grpc-timeout is an infinite deadline (0), which max_grpc_timeout then caps; the offset
      // comes first and only when it leaves some time (0 would mean infinity).
      let grpcTimeout = parseGrpcTimeout(firstValue(headers["grpc-timeout"])) ?? 0;
      const offset = action.grpcTimeoutOffsetMs;
      if (offset !== undefined && offset < grpcTimeout) grpcTimeout -= offset;
      if (max !== 0 && (grpcTimeout === 0 || grpcTimeout > max)) grpcTimeout = max;
      timeout = grpcTimeout;
    } else timeout = action.timeoutMs;
  }
  const expected = options.respectExpectedRqTimeout
    ? firstValue(headers["x-envoy-expected-rq-timeout-ms"])
    : undefined;
  if (expected !== undefined) {
    if (/^\d+$/.test(expected)) timeout = Number(expected);
    return timeout;
  }
  const header = firstValue(headers["x-envoy-upstream-rq-timeout-ms"]);
  delete headers["x-envoy-upstream-rq-timeout-ms"];
  if (header !== undefined && /^\d+$/.test(header)) timeout = Number(header);
  return timeout;
}

/**
 * Envoy's ActiveStream::refreshDurationTimeout for a route with max_stream_duration: the stream's
 * deadline in ms from its start, or undefined for none. A gRPC request's grpc-timeout wins when
 * grpc_timeout_header_max is set (capped by it unless 0, then less grpc_timeout_header_offset);
 * else the route's max_stream_duration (0 = none), else the HCM's. Rewrites `grpc-timeout` to the
 * deadline, as Envoy does before subtracting the time already used.
 */
export function streamDurationMs(
  action: ForwardAction,
  hcmMaxStreamDurationMs: number | undefined,
  headers: MutableHeaders,
  grpc: boolean,
): number | undefined {
  const requested = grpc ? parseGrpcTimeout(firstValue(headers["grpc-timeout"])) : undefined;
  const max = action.grpcTimeoutHeaderMaxMs;
  let timeout: number;
  if (requested === undefined || max === undefined) {
    if (action.maxStreamDurationMs !== undefined) {
      if (action.maxStreamDurationMs === 0) return undefined;
      timeout = action.maxStreamDurationMs;
    } else if (hcmMaxStreamDurationMs) timeout = hcmMaxStreamDurationMs;
    else return undefined;
  } else {
    timeout = max !== 0 && requested > max ? max : requested;
    const offset = action.grpcTimeoutHeaderOffsetMs;
    if (timeout !== 0 && offset !== undefined) timeout = offset < timeout ? timeout - offset : 0;
  }
  if (action.usingNewTimeouts && grpc) headers["grpc-timeout"] = formatGrpcTimeout(timeout);
  return timeout;
}

/**
 * Envoy's FilterUtility::setTimeoutHeaders: the x-envoy-expected-rq-timeout-ms value — the per-try
 * timeout, else the global one, capped by what is left of the global one `elapsedMs` after the
 * request completed (1 ms when nothing is left: 0 would mean no timeout); undefined when neither
 * timeout is set.
 */
export function expectedTimeoutMs(
  globalMs: number,
  perTryMs: number | undefined,
  elapsedMs: number,
): number | undefined {
  const expected = perTryMs || globalMs;
  if (expected <= 0) return undefined;
  if (globalMs <= 0) return expected;
  const elapsed = Math.floor(elapsedMs);
  return elapsed >= globalMs ? 1 : Math.min(expected, globalMs - elapsed);
}
