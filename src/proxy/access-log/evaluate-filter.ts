// Envoy's AccessLogFilter evaluation: does this finished stream get logged?
import { celMatches } from "../cel/index.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import { matchHeaderValue } from "../routing/header-matcher.ts";
import { grpcStatus } from "./command-operators.ts";
import type { AccessLogFilter, ComparisonOp } from "./types.ts";

function compare(op: ComparisonOp, actual: number, value: number): boolean {
  return op === "EQ" ? actual === value : op === "GE" ? actual >= value : actual <= value;
}

function requestHeader(info: StreamInfo, name: string): string | undefined {
  const value = info.requestHeaders[name];
  if (value === undefined || typeof value === "string") return value;
  const list = value as readonly string[];
  return list.length === 0 ? undefined : list.join(",");
}

/**
 * Envoy's traceable filter logs streams whose tracing decision is "sampled". crema's proxy does
 * not trace, so a stream counts as traceable when the request forces or carries a sampled trace:
 * x-envoy-force-trace, x-b3-sampled: 1, or a W3C traceparent with the sampled flag.
 */
function traceable(info: StreamInfo): boolean {
  if (requestHeader(info, "x-envoy-force-trace") !== undefined) return true;
  const b3 = requestHeader(info, "x-b3-sampled");
  if (b3 === "1" || b3 === "true") return true;
  const traceparent = requestHeader(info, "traceparent");
  const flags = traceparent?.split("-")[3];
  return flags !== undefined && (Number.parseInt(flags, 16) & 1) === 1;
}

export function evaluateFilter(filter: AccessLogFilter, info: StreamInfo): boolean {
  switch (filter.kind) {
    case "status_code":
      return compare(filter.op, info.responseCode, filter.value);
    case "duration":
      return compare(filter.op, Math.floor(info.durationMs), filter.value);
    case "not_health_check":
      // Nothing in crema's proxy marks a request as a health check (Envoy's health_check filter).
      return true;
    case "traceable":
      return traceable(info);
    case "response_flag":
      if (filter.flags.length === 0) return info.responseFlags.length > 0;
      return info.responseFlags.some((flag) => filter.flags.includes(flag));
    case "header":
      return matchHeaderValue(filter.header, requestHeader(info, filter.header.name));
    case "grpc_status": {
      // Envoy counts a stream without any status as UNKNOWN.
      const status = grpcStatus(info) ?? 2;
      return filter.statuses.includes(status) !== filter.exclude;
    }
    case "and":
      return filter.filters.every((f) => evaluateFilter(f, info));
    case "or":
      return filter.filters.some((f) => evaluateFilter(f, info));
    case "cel":
      return celMatches(filter.program, info);
  }
}
