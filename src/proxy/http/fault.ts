// The HTTP fault filter (envoy.filters.http.fault): decode a route's HTTPFault config and decide,
// per request, the injected delay (DI) and abort (FI) — fixed or header-controlled, sampled by
// FractionalPercent with injected randomness. Envoy applies the delay first, then the abort.
import { type DecodeContext, Fields, isObject } from "../routing/decode-reader.ts";
import { decodeHeaderMatchers, matchRequestHeaders } from "../routing/header-matcher.ts";
import { decodeFractionalPercent, fractionHit } from "../routing/route-match.ts";
import type {
  FractionalPercent,
  HeaderMatch,
  RandomSource,
  RouteRequest,
} from "../routing/types.ts";
import type { ResponseFlag } from "./response-flags.ts";

type Source = "fixed" | "header";

export interface FaultConfig {
  abort?: {
    source: Source;
    httpStatus?: number;
    grpcStatus?: number;
    percentage: FractionalPercent;
  };
  delay?: { source: Source; fixedDelayMs?: number; percentage: FractionalPercent };
  responseRateLimit?: { source: Source; limitKbps?: number; percentage: FractionalPercent };
  headers: readonly HeaderMatch[];
  upstreamCluster?: string;
  downstreamNodes: readonly string[];
  maxActiveFaults?: number;
}

export interface FaultDecision {
  delayMs?: number;
  abort?: { status: number; grpcStatus?: number };
  responseRateLimitKbps?: number;
  /** DI and/or FI, for the access log. */
  flags: ResponseFlag[];
}

export interface FaultContext {
  random: RandomSource;
  /** The cluster the route selected (for `upstream_cluster`). */
  cluster?: string;
  /** Faults in progress across the listener (for `max_active_faults`). */
  activeFaults?: number;
}

const ZERO: FractionalPercent = { numerator: 0, denominator: 100 };

/** HTTPFault JSON (typed_per_filter_config or the filter's own config) → FaultConfig. */
export function decodeFaultConfig(json: unknown, ctx: DecodeContext, path = "fault"): FaultConfig {
  const config: FaultConfig = { headers: [], downstreamNodes: [] };
  if (!isObject(json)) {
    ctx.errors.push(`${path}: expected an object`);
    return config;
  }
  const f = new Fields(ctx, json, path);
  f.skip("@type", "delay_percent_runtime", "abort_percent_runtime", "delay_duration_runtime");
  f.skip("abort_http_status_runtime", "abort_grpc_status_runtime", "max_active_faults_runtime");
  f.skip("response_rate_limit_percent_runtime", "disable_downstream_cluster_stats");
  f.skip("filter_metadata");
  const abort = f.object("abort");
  if (abort) {
    const kind = abort.oneof(["http_status", "grpc_status", "header_abort"]);
    const percentage = percentOf(abort);
    if (kind === "http_status") {
      const httpStatus = abort.uint("http_status");
      if (httpStatus < 200 || httpStatus >= 600)
        abort.error("must be in [200, 600)", "http_status");
      config.abort = { source: "fixed", httpStatus, percentage };
    } else if (kind === "grpc_status") {
      config.abort = { source: "fixed", grpcStatus: abort.uint("grpc_status"), percentage };
    } else if (kind === "header_abort") {
      abort.skip("header_abort");
      config.abort = { source: "header", percentage };
    } else abort.error("one of http_status, grpc_status or header_abort is required");
    abort.finish();
  }
  const delay = f.object("delay");
  if (delay) {
    const kind = delay.oneof(["fixed_delay", "header_delay"]);
    const percentage = percentOf(delay);
    if (kind === "fixed_delay") {
      config.delay = {
        source: "fixed",
        fixedDelayMs: delay.duration("fixed_delay") ?? 0,
        percentage,
      };
    } else if (kind === "header_delay") {
      delay.skip("header_delay");
      config.delay = { source: "header", percentage };
    } else delay.error("one of fixed_delay or header_delay is required");
    delay.finish();
  }
  const limit = f.object("response_rate_limit");
  if (limit) {
    const kind = limit.oneof(["fixed_limit", "header_limit"]);
    const percentage = percentOf(limit);
    const fixed = kind === "fixed_limit" ? limit.object("fixed_limit") : undefined;
    if (fixed) {
      config.responseRateLimit = {
        source: "fixed",
        limitKbps: fixed.uint("limit_kbps"),
        percentage,
      };
      fixed.finish();
    } else if (kind === "header_limit") {
      limit.skip("header_limit");
      config.responseRateLimit = { source: "header", percentage };
    } else limit.error("one of fixed_limit or header_limit is required");
    limit.finish();
  }
  config.headers = decodeHeaderMatchers(f, "headers");
  const cluster = f.string("upstream_cluster");
  if (cluster) config.upstreamCluster = cluster;
  config.downstreamNodes = f.list("downstream_nodes").map(([node]) => String(node));
  const maxActive = f.optUint("max_active_faults");
  if (maxActive !== undefined) config.maxActiveFaults = maxActive;
  f.finish();
  return config;
}

function percentOf(f: Fields): FractionalPercent {
  const p = f.object("percentage");
  if (!p) return ZERO; // Envoy: an absent percentage is 0 %.
  const fraction = decodeFractionalPercent(p);
  p.finish();
  return fraction;
}

/** Envoy's decodeHeaders: response rate limit, then delay, then (after the delay) the abort. */
export function decideFault(
  config: FaultConfig,
  request: RouteRequest,
  ctx: FaultContext,
): FaultDecision {
  const decision: FaultDecision = { flags: [] };
  if (config.upstreamCluster && ctx.cluster !== config.upstreamCluster) return decision;
  if (config.downstreamNodes.length > 0) {
    const node = first(request, "x-envoy-downstream-service-node");
    if (node === undefined || !config.downstreamNodes.includes(node)) return decision;
  }
  if (!matchRequestHeaders(config.headers, request)) return decision;
  let active = false;
  // Envoy counts one active fault per request and checks the limit before the first one.
  const tryActivate = (): boolean => {
    if (active) return true;
    if ((ctx.activeFaults ?? 0) >= (config.maxActiveFaults ?? Number.POSITIVE_INFINITY))
      return false;
    active = true;
    return true;
  };
  const rl = config.responseRateLimit;
  if (rl && fractionHit(percentage(rl, request, "throughput-response"), ctx.random)) {
    const kbps = rl.source === "fixed" ? rl.limitKbps : uintHeader(request, "throughput-response");
    if (kbps !== undefined && kbps > 0 && tryActivate()) decision.responseRateLimitKbps = kbps;
  }
  const delay = config.delay;
  if (delay && fractionHit(percentage(delay, request, "delay-request"), ctx.random)) {
    const ms = delay.source === "fixed" ? delay.fixedDelayMs : uintHeader(request, "delay-request");
    if (ms !== undefined && ms > 0 && tryActivate()) {
      decision.delayMs = ms;
      decision.flags.push("DI");
    }
  }
  const abort = config.abort;
  if (abort && fractionHit(percentage(abort, request, "abort-request"), ctx.random)) {
    const status = abortStatus(abort, request);
    if (status && tryActivate()) {
      decision.abort = status;
      decision.flags.push("FI");
    }
  }
  return decision;
}

function abortStatus(
  abort: NonNullable<FaultConfig["abort"]>,
  request: RouteRequest,
): { status: number; grpcStatus?: number } | undefined {
  if (abort.source === "fixed") {
    if (abort.httpStatus !== undefined) return { status: abort.httpStatus };
    return abort.grpcStatus === undefined
      ? undefined
      : { status: 200, grpcStatus: abort.grpcStatus };
  }
  const http = uintHeader(request, "abort-request");
  if (http !== undefined && http >= 200 && http < 600) return { status: http };
  const grpc = uintHeader(request, "abort-grpc-request");
  return grpc === undefined ? undefined : { status: 200, grpcStatus: grpc };
}

/** Header-controlled faults may lower (never raise) the configured numerator per request. */
function percentage(
  fault: { source: Source; percentage: FractionalPercent },
  request: RouteRequest,
  header: string,
): FractionalPercent {
  if (fault.source !== "header") return fault.percentage;
  const numerator = uintHeader(request, `${header}-percentage`);
  if (numerator === undefined) return fault.percentage;
  return {
    numerator: Math.min(numerator, fault.percentage.numerator),
    denominator: fault.percentage.denominator,
  };
}

function first(request: RouteRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" ? value : value?.[0];
}

/** `x-envoy-fault-<name>` as an unsigned integer (first value only, as Envoy reads it). */
function uintHeader(request: RouteRequest, name: string): number | undefined {
  const value = first(request, `x-envoy-fault-${name}`);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}
