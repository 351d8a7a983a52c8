// The one place the proxy builds a local reply (404 no route, 503 no healthy upstream, 504
// timeout, 403 RBAC, fault aborts …): Envoy's bodies, text/plain, and for gRPC requests a
// trailers-only answer (HTTP 200, grpc-status mapped from the HTTP status, grpc-message encoded).
import { httpToGrpcStatus } from "./grpc-status.ts";
import { resetReasonFlag, resetReasonText, type StreamResetReason } from "./reset-reason.ts";
import type { ResponseFlag } from "./response-flags.ts";

/** Envoy's local-reply bodies, verbatim. */
export const LOCAL_REPLY_BODY = {
  noHealthyUpstream: "no healthy upstream",
  upstreamTimeout: "upstream request timeout",
  rbacDenied: "RBAC: access denied",
  faultAbort: "fault filter abort",
  localRateLimited: "local_rate_limited",
  streamIdleTimeout: "stream timeout",
  requestTimeout: "request timeout",
  maxStreamDuration: "upstream max stream duration reached",
  jwtMissing: "Jwt is missing",
  jwtExpired: "Jwt is expired",
  jwtVerificationFails: "Jwt verification fails",
  jwtIssuerNotConfigured: "Jwt issuer is not configured",
  jwksFetchFailed: "Jwks remote fetch is failed",
} as const;

/** Envoy's response code details (%RESPONSE_CODE_DETAILS%) for the common local replies. */
export const RESPONSE_CODE_DETAILS = {
  /** Not a local reply: the upstream's response, forwarded. */
  viaUpstream: "via_upstream",
  routeNotFound: "route_not_found",
  clusterNotFound: "cluster_not_found",
  noHealthyUpstream: "no_healthy_upstream",
  upstreamTimeout: "upstream_response_timeout",
  upstreamPerTryTimeout: "upstream_per_try_timeout",
  faultAbort: "fault_filter_abort",
  localRateLimited: "local_rate_limited",
  pathNormalizationFailed: "path_normalization_failed",
  streamIdleTimeout: "stream_idle_timeout",
} as const;

export interface LocalReplyInput {
  status: number;
  flag?: ResponseFlag;
  /** %RESPONSE_CODE_DETAILS%, for the access log. */
  details?: string;
  /** Empty (the default) sends no body, no content-type and no content-length. */
  body?: string;
  /** Whether the request is gRPC (see isGrpcRequest): answer trailers-only. */
  grpc: boolean;
  /** Overrides the grpc-status derived from `status` (e.g. a fault filter's grpc_status). */
  grpcStatus?: number;
  /** Extra response headers (lowercase names), e.g. `location` or `x-envoy-ratelimited`; a
   * direct response's `response_headers_to_add` may repeat a name. */
  headers?: Readonly<Record<string, string | string[]>>;
  /** HEAD requests get the headers a GET would, without the body. */
  headRequest?: boolean;
}

/** Envoy's 404 when no route matches (response flag NR). */
export const ROUTE_NOT_FOUND_REPLY: Readonly<Omit<LocalReplyInput, "grpc" | "headRequest">> =
  Object.freeze({ status: 404, flag: "NR", details: RESPONSE_CODE_DETAILS.routeNotFound });

export interface LocalReply {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  /** Always absent: a gRPC local reply is trailers-only (its status travels in the headers). */
  trailers?: Record<string, string>;
  flag?: ResponseFlag;
  details?: string;
}

/**
 * Envoy's PercentEncoding::encode for grpc-message: bytes outside ' '..'}' and '%' become %XX
 * (uppercase). Envoy's check is `ch < ' ' || ch >= '~'`, so '~' is encoded too.
 */
export function percentEncodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    if (byte < 0x20 || byte >= 0x7e || byte === 0x25) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    } else {
      out += String.fromCharCode(byte);
    }
  }
  return out;
}

/** Envoy's Grpc::Common::hasGrpcContentType: application/grpc, application/grpc+…, …;… */
export function isGrpcContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const value = contentType.toLowerCase();
  const base = "application/grpc";
  if (!value.startsWith(base)) return false;
  const next = value.charAt(base.length);
  return next === "" || next === "+" || next === ";";
}

export function localReply(input: LocalReplyInput): LocalReply {
  const body = input.body ?? "";
  const reply: LocalReply = { status: input.status, headers: {}, body: "" };
  if (input.flag !== undefined) reply.flag = input.flag;
  if (input.details !== undefined) reply.details = input.details;
  if (input.grpc) {
    reply.status = 200;
    reply.headers = {
      ...input.headers,
      "content-type": "application/grpc",
      "grpc-status": String(input.grpcStatus ?? httpToGrpcStatus(input.status)),
    };
    if (body !== "" && !input.headRequest) {
      reply.headers["grpc-message"] = percentEncodeGrpcMessage(body);
    }
    delete reply.headers["content-length"];
    return reply;
  }
  reply.headers = { ...input.headers };
  if (body === "") {
    delete reply.headers["content-length"];
    delete reply.headers["content-type"];
    return reply;
  }
  reply.headers["content-length"] = String(Buffer.byteLength(body));
  reply.headers["content-type"] ??= "text/plain";
  if (!input.headRequest) reply.body = body;
  return reply;
}

/**
 * The router's body when an upstream stream fails before response headers:
 * `upstream connect error or disconnect/reset before headers. [retried and the latest ]reset
 * reason: …[, transport failure reason: …]`.
 */
export function upstreamResetBody(
  reason: StreamResetReason,
  options: { retried?: boolean; transportFailureReason?: string } = {},
): string {
  const retried = options.retried ? "retried and the latest " : "";
  const transport = options.transportFailureReason
    ? `, transport failure reason: ${options.transportFailureReason}`
    : "";
  return `upstream connect error or disconnect/reset before headers. ${retried}reset reason: ${resetReasonText(reason)}${transport}`;
}

/** The router's 503 for an upstream reset/connect failure, with its flag (UF, UC, LR, UR, UO …). */
export function upstreamResetReplyInput(
  reason: StreamResetReason,
  options: { retried?: boolean; transportFailureReason?: string } = {},
): Omit<LocalReplyInput, "grpc"> {
  return {
    status: 503,
    flag: resetReasonFlag(reason),
    details: `upstream_reset_before_response_started{${resetReasonText(reason).replaceAll(" ", "_")}}`,
    body: upstreamResetBody(reason, options),
    // Envoy's router marks a circuit-breaker overflow so clients can tell it from a host failure.
    ...(reason === "overflow" ? { headers: { "x-envoy-overloaded": "true" } } : {}),
  };
}

export function upstreamResetReply(
  reason: StreamResetReason,
  options: { grpc: boolean; retried?: boolean; transportFailureReason?: string },
): LocalReply {
  return localReply({ ...upstreamResetReplyInput(reason, options), grpc: options.grpc });
}
