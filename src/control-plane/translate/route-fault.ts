// Per-route filter configs: VirtualService `fault` → envoy.filters.http.fault HTTPFault and
// `corsPolicy` → envoy.filters.http.cors CorsPolicy, as Istio's TranslateFault/TranslateCORSPolicy.
import type { JsonObject } from "../../xds/proto-json.ts";
import { stringMatcher } from "./route-match.ts";
import {
  durationJson,
  durationSeconds,
  integerToFractional,
  isObj,
  num,
  type Obj,
  percentToFractional,
  strings,
} from "./route-values.ts";

export const FAULT_FILTER = "envoy.filters.http.fault";
export const CORS_FILTER = "envoy.filters.http.cors";
const HTTP_FAULT_TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";
const CORS_POLICY_TYPE = "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy";

/** gRPC status names Istio accepts in `abort.grpcStatus`, with their codes. */
const GRPC_STATUS: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

function translateDelay(delay: Obj): JsonObject | undefined {
  const fixed = durationJson(delay.fixedDelay);
  // Istio supports only fixed delays (exponentialDelay is dropped with a warning).
  if (!fixed) return undefined;
  const percentage = isObj(delay.percentage)
    ? percentToFractional(delay.percentage)
    : integerToFractional(num(delay.percent));
  return { fixed_delay: fixed, percentage };
}

function translateAbort(abort: Obj): JsonObject | undefined {
  const out: JsonObject = {};
  // No percentage: Envoy's default of 0 % — nothing is aborted, as Istio documents.
  if (isObj(abort.percentage)) out.percentage = percentToFractional(abort.percentage);
  if (typeof abort.httpStatus === "number") out.http_status = abort.httpStatus;
  else if (typeof abort.grpcStatus === "string" && abort.grpcStatus in GRPC_STATUS)
    out.grpc_status = GRPC_STATUS[abort.grpcStatus]!;
  else return undefined;
  return out;
}

/** The HTTPFault for a route; undefined when neither a delay nor an abort can be expressed. */
export function translateFault(fault: unknown): JsonObject | undefined {
  if (!isObj(fault)) return undefined;
  const delay = isObj(fault.delay) ? translateDelay(fault.delay) : undefined;
  const abort = isObj(fault.abort) ? translateAbort(fault.abort) : undefined;
  if (!delay && !abort) return undefined;
  return {
    "@type": HTTP_FAULT_TYPE,
    ...(delay ? { delay } : {}),
    ...(abort ? { abort } : {}),
  };
}

/** The route's CorsPolicy (the CORS filter is enabled for 100 % of requests). */
export function translateCorsPolicy(cors: unknown): JsonObject | undefined {
  if (!isObj(cors)) return undefined;
  const out: JsonObject = {
    "@type": CORS_POLICY_TYPE,
    forward_not_matching_preflights: cors.unmatchedPreflights !== "IGNORE",
  };
  if (Array.isArray(cors.allowOrigins)) {
    out.allow_origin_string_match = cors.allowOrigins
      .map(stringMatcher)
      .filter((m): m is JsonObject => m !== undefined);
  } else if (Array.isArray(cors.allowOrigin)) {
    out.allow_origin_string_match = strings(cors.allowOrigin).map((exact) => ({ exact }));
  }
  out.filter_enabled = { default_value: { numerator: 100, denominator: "HUNDRED" } };
  if (typeof cors.allowCredentials === "boolean") out.allow_credentials = cors.allowCredentials;
  const joined = (value: unknown) => strings(value).join(",");
  if (joined(cors.allowHeaders)) out.allow_headers = joined(cors.allowHeaders);
  if (joined(cors.allowMethods)) out.allow_methods = joined(cors.allowMethods);
  if (joined(cors.exposeHeaders)) out.expose_headers = joined(cors.exposeHeaders);
  const maxAge = durationSeconds(cors.maxAge);
  if (maxAge !== undefined) out.max_age = String(maxAge);
  return out;
}
