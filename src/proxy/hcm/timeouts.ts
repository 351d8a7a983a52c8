// The router's request timeout (Envoy's FilterUtility::finalTimeout): the route timeout, replaced
// by a gRPC client's grpc-timeout where the route allows it, or by x-envoy-upstream-rq-timeout-ms.
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

/**
 * The global timeout in ms; 0 = none. Consumes x-envoy-upstream-rq-timeout-ms; with the router's
 * respect_expected_rq_timeout, an egress proxy's x-envoy-expected-rq-timeout-ms comes first (and
 * x-envoy-upstream-rq-timeout-ms is then left alone, as Envoy does).
 */
export function requestTimeoutMs(
  action: ForwardAction,
  headers: MutableHeaders,
  grpc: boolean,
  options: { respectExpectedRqTimeout?: boolean } = {},
): number {
  let timeout = action.timeoutMs;
  const grpcMax = action.grpcTimeoutHeaderMaxMs ?? action.maxGrpcTimeoutMs;
  if (grpc && grpcMax !== undefined) {
    const requested = parseGrpcTimeout(firstValue(headers["grpc-timeout"]));
    if (requested !== undefined) {
      timeout = grpcMax > 0 ? Math.min(requested, grpcMax) : requested;
      const offset = action.grpcTimeoutHeaderOffsetMs ?? action.grpcTimeoutOffsetMs ?? 0;
      if (offset > 0 && offset < timeout) timeout -= offset;
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
