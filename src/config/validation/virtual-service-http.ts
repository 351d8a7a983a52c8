// One `http[]` rule of a VirtualService: which action it takes (route, redirect, directResponse,
// delegate), and its redirect, rewrite, retries, timeout, fault, mirror, CORS and header
// settings — Istio's validateHTTPRoute and its helpers.
import { parseDuration } from "../../base/duration.ts";
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkPort, checkRange, isObj, type Obj, present } from "./rules.ts";
import {
  checkFractionalPercent,
  checkIstioDuration,
  checkNonNegative,
  checkOneOf,
} from "./virtual-service-common.ts";
import { checkDestination, checkRouteDestinations } from "./virtual-service-destinations.ts";
import {
  checkAuthorityRewrite,
  checkHeaderOperations,
  corsHeaderNameProblem,
} from "./virtual-service-headers.ts";
import { checkHttpMatches, checkIstioRegex, checkStringMatch } from "./virtual-service-match.ts";

/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies that Istio accepts. */
const RETRY_ON_POLICIES = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "envoy-ratelimited",
  "http3-post-connect-failure",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);

/** The status codes Go's net/http names (Istio accepts a number in retryOn only if it is one). */
const KNOWN_HTTP_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
  305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
  416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
  506, 507, 508, 510, 511,
]);

const GRPC_STATUS = new Set([
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
]);

const CORS_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
]);

const KB = 1024;
const MB = 1024 * KB;

export interface HttpRouteOptions {
  /** The VirtualService has no hosts: it is a delegate, attached by a root's `delegate`. */
  delegateVirtualService: boolean;
}

export function checkHttpRoute(
  ctx: ValidationContext,
  path: FieldPath,
  http: Obj,
  options: HttpRouteOptions,
): void {
  checkAction(ctx, path, http, options);
  checkHttpMatches(ctx, [...path, "match"], http.match);
  checkHeaderOperations(ctx, [...path, "headers"], http.headers);
  checkCors(ctx, [...path, "corsPolicy"], http.corsPolicy);
  checkFault(ctx, [...path, "fault"], http.fault);
  checkMirror(ctx, path, http);
  checkRedirect(ctx, [...path, "redirect"], http.redirect);
  checkDirectResponse(ctx, [...path, "directResponse"], http.directResponse);
  checkRetries(ctx, [...path, "retries"], http.retries);
  checkRewrite(ctx, [...path, "rewrite"], http.rewrite);
  checkAuthorityRewrite(ctx, path, http);
  checkRouteDestinations(ctx, [...path, "route"], http.route, { http: true });
  checkIstioDuration(ctx, [...path, "timeout"], http.timeout);
}

/** Exactly one action: route, redirect or directResponse — or delegate on a root rule. */
function checkAction(
  ctx: ValidationContext,
  path: FieldPath,
  http: Obj,
  { delegateVirtualService }: HttpRouteOptions,
): void {
  const hasRoute = Array.isArray(http.route) && http.route.length > 0;
  const exclusive = (field: string, other: string): void =>
    ctx.error(
      [...path, field],
      "CREMA_VALIDATION_EXCLUSIVE",
      `an http rule cannot have both ${other} and ${field}; keep one`,
    );
  if (present(http.delegate)) {
    if (delegateVirtualService) {
      ctx.error(
        [...path, "delegate"],
        "CREMA_VALIDATION_INVALID",
        "a delegate VirtualService (one without hosts) cannot delegate again",
      );
    } else {
      if (present(http.route)) exclusive("route", "delegate");
      if (present(http.redirect)) exclusive("redirect", "delegate");
      return;
    }
  }
  if (present(http.redirect)) {
    if (hasRoute) exclusive("redirect", "route");
    if (present(http.fault)) exclusive("fault", "redirect");
    if (present(http.rewrite)) exclusive("rewrite", "redirect");
    if (present(http.directResponse)) exclusive("directResponse", "redirect");
  } else if (present(http.directResponse)) {
    if (hasRoute) exclusive("directResponse", "route");
    if (present(http.fault)) exclusive("fault", "directResponse");
    if (present(http.rewrite)) exclusive("rewrite", "directResponse");
  } else if (!hasRoute) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      "an http rule needs one of route, redirect, directResponse or delegate",
    );
  }
  if (present(http.mirror) && Array.isArray(http.mirrors) && http.mirrors.length > 0)
    exclusive("mirrors", "mirror");
}

function checkRedirect(ctx: ValidationContext, path: FieldPath, redirect: unknown): void {
  if (!isObj(redirect)) return;
  checkOneOf(ctx, path, redirect, ["port", "derivePort"]);
  const anySet = ["uri", "authority", "scheme"].some(
    (f) => typeof redirect[f] === "string" && redirect[f] !== "",
  );
  if (!anySet && !present(redirect.port) && !present(redirect.derivePort)) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      "a redirect must set at least one of uri, authority, scheme, port or derivePort",
    );
  }
  const code = redirect.redirectCode;
  if (typeof code === "number" && code !== 0 && (code < 300 || code > 399)) {
    ctx.error(
      [...path, "redirectCode"],
      "CREMA_VALIDATION_RANGE",
      `redirectCode ${code} is not a redirect; use a 3xx code (default 301)`,
    );
  }
  const scheme = redirect.scheme;
  if (typeof scheme === "string" && scheme !== "" && scheme !== "http" && scheme !== "https") {
    ctx.error(
      [...path, "scheme"],
      "CREMA_VALIDATION_INVALID",
      `redirect scheme ${JSON.stringify(scheme)} is invalid; use "http" or "https"`,
    );
  }
  if (redirect.port !== 0) checkPort(ctx, [...path, "port"], redirect.port);
}

function bodySize(body: Obj): number {
  if (typeof body.string === "string") return Buffer.byteLength(body.string);
  if (typeof body.bytes === "string") return Buffer.from(body.bytes, "base64").length;
  return 0;
}

function checkDirectResponse(ctx: ValidationContext, path: FieldPath, response: unknown): void {
  if (!isObj(response)) return;
  checkRange(ctx, [...path, "status"], response.status, 200, 600, "HTTP status");
  if (isObj(response.body)) {
    const bodyPath = [...path, "body"];
    checkOneOf(ctx, bodyPath, response.body, ["string", "bytes"]);
    const size = bodySize(response.body);
    if (size > MB) {
      ctx.error(
        bodyPath,
        "CREMA_VALIDATION_RANGE",
        `the direct response body is ${size} bytes; Istio allows at most 1MB`,
      );
    } else if (size > 100 * KB) {
      ctx.warn(
        bodyPath,
        "CREMA_VALIDATION_RANGE",
        `the direct response body is ${size} bytes; bodies over 100KB slow the control plane down`,
      );
    }
  }
}

function checkRetries(ctx: ValidationContext, path: FieldPath, retries: unknown): void {
  if (!isObj(retries)) return;
  const attempts = typeof retries.attempts === "number" ? retries.attempts : 0;
  checkNonNegative(ctx, [...path, "attempts"], retries.attempts, "retries.attempts");
  const retryOn = typeof retries.retryOn === "string" ? retries.retryOn : "";
  if (
    attempts === 0 &&
    (present(retries.perTryTimeout) || retryOn !== "" || present(retries.retryRemoteLocalities))
  ) {
    ctx.error(
      present(retries.attempts) ? [...path, "attempts"] : path,
      "CREMA_VALIDATION_INVALID",
      "attempts is 0 (the default), which disables retries, yet retryOn, perTryTimeout or retryRemoteLocalities is set; set attempts to 1 or more",
    );
  }
  checkIstioDuration(ctx, [...path, "perTryTimeout"], retries.perTryTimeout);
  checkIstioDuration(ctx, [...path, "backoff"], retries.backoff);
  if (retryOn !== "") {
    for (const policy of retryOn.split(",")) {
      const code = /^\d+$/.test(policy) ? Number(policy) : Number.NaN;
      if (KNOWN_HTTP_STATUS.has(code) || RETRY_ON_POLICIES.has(policy)) continue;
      ctx.error(
        [...path, "retryOn"],
        "CREMA_VALIDATION_INVALID",
        `${JSON.stringify(policy)} is not a retryOn policy; use comma-separated Envoy policies without spaces (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes, …), gRPC statuses (cancelled, deadline-exceeded, internal, resource-exhausted, unavailable) or HTTP status codes`,
      );
    }
  }
}

function checkRewrite(ctx: ValidationContext, path: FieldPath, rewrite: unknown): void {
  if (!isObj(rewrite)) return;
  const uri = typeof rewrite.uri === "string" ? rewrite.uri : "";
  const authority = typeof rewrite.authority === "string" ? rewrite.authority : "";
  const regexRewrite = rewrite.uriRegexRewrite;
  if (uri !== "" && present(regexRewrite)) {
    ctx.error(
      [...path, "uriRegexRewrite"],
      "CREMA_VALIDATION_EXCLUSIVE",
      "a rewrite may set uri or uriRegexRewrite, not both",
    );
    return;
  }
  if (uri === "" && !present(regexRewrite) && authority === "") {
    ctx.error(
      path,
      "CREMA_VALIDATION_REQUIRED",
      "a rewrite must set uri, uriRegexRewrite or authority",
    );
    return;
  }
  if (isObj(regexRewrite)) {
    const match = regexRewrite.match;
    const replacement = regexRewrite.rewrite;
    if (
      typeof match !== "string" ||
      match === "" ||
      typeof replacement !== "string" ||
      replacement === ""
    ) {
      ctx.error(
        [...path, "uriRegexRewrite"],
        "CREMA_VALIDATION_REQUIRED",
        "uriRegexRewrite needs both match and rewrite",
      );
      return;
    }
    checkIstioRegex(ctx, [...path, "uriRegexRewrite", "match"], match);
  }
}

function checkFault(ctx: ValidationContext, path: FieldPath, fault: unknown): void {
  if (!isObj(fault)) return;
  const { abort, delay } = fault;
  if (!present(abort) && !present(delay)) {
    ctx.error(path, "CREMA_VALIDATION_REQUIRED", "fault injection needs an abort, a delay or both");
    return;
  }
  if (isObj(abort)) {
    const at = [...path, "abort"];
    checkFractionalPercent(ctx, [...at, "percentage"], abort.percentage);
    const kind = checkOneOf(ctx, at, abort, ["httpStatus", "grpcStatus", "http2Error"]);
    if (kind === "httpStatus") {
      checkRange(ctx, [...at, "httpStatus"], abort.httpStatus, 200, 600, "HTTP status");
    } else if (kind === "grpcStatus") {
      const status = abort.grpcStatus;
      if (typeof status === "string" && !GRPC_STATUS.has(status)) {
        ctx.error(
          [...at, "grpcStatus"],
          "CREMA_VALIDATION_INVALID",
          `gRPC status ${JSON.stringify(status)} is not supported; use a code name such as UNAVAILABLE or NOT_FOUND`,
        );
      }
    } else if (kind === "http2Error") {
      ctx.error(
        [...at, "http2Error"],
        "CREMA_VALIDATION_INVALID",
        "HTTP/2 error aborts are not supported; use httpStatus or grpcStatus",
      );
    } else {
      ctx.warn(
        at,
        "CREMA_VALIDATION_REQUIRED",
        "the abort sets no httpStatus or grpcStatus, so it injects nothing",
      );
    }
  }
  if (isObj(delay)) {
    const at = [...path, "delay"];
    checkFractionalPercent(ctx, [...at, "percentage"], delay.percentage);
    if (present(delay.percent)) {
      checkRange(ctx, [...at, "percent"], delay.percent, 0, 100, "percentage");
      ctx.warn(
        [...at, "percent"],
        "CREMA_VALIDATION_DEPRECATED",
        "fault.delay.percent is deprecated; use percentage: {value: N}",
      );
    }
    const kind = checkOneOf(ctx, at, delay, ["fixedDelay", "exponentialDelay"]);
    if (kind === "fixedDelay") {
      checkIstioDuration(ctx, [...at, "fixedDelay"], delay.fixedDelay);
    } else if (kind === "exponentialDelay") {
      ctx.error(
        [...at, "exponentialDelay"],
        "CREMA_VALIDATION_INVALID",
        "exponentialDelay is not supported; use fixedDelay",
      );
    } else {
      ctx.warn(
        at,
        "CREMA_VALIDATION_REQUIRED",
        "the delay sets no fixedDelay, so it injects nothing",
      );
    }
  }
}

function checkMirror(ctx: ValidationContext, path: FieldPath, http: Obj): void {
  checkDestination(ctx, [...path, "mirror"], http.mirror);
  for (const field of ["mirrorPercent", "mirror_percent"]) {
    if (!present(http[field])) continue;
    checkRange(ctx, [...path, field], http[field], 0, 100, "mirror percentage");
    ctx.warn(
      [...path, field],
      "CREMA_VALIDATION_DEPRECATED",
      `${field} is deprecated; use mirrorPercentage: {value: N}`,
    );
  }
  if (isObj(http.mirrorPercentage))
    checkRange(
      ctx,
      [...path, "mirrorPercentage", "value"],
      http.mirrorPercentage.value,
      0,
      100,
      "mirror percentage",
    );
  if (Array.isArray(http.mirrors)) {
    http.mirrors.forEach((mirror, i) => {
      if (!isObj(mirror)) return;
      const at = [...path, "mirrors", i];
      checkDestination(ctx, [...at, "destination"], mirror.destination);
      if (isObj(mirror.percentage))
        checkRange(
          ctx,
          [...at, "percentage", "value"],
          mirror.percentage.value,
          0,
          100,
          "mirror percentage",
        );
    });
  }
}

function checkCors(ctx: ValidationContext, path: FieldPath, cors: unknown): void {
  if (!isObj(cors)) return;
  if (Array.isArray(cors.allowOrigins)) {
    cors.allowOrigins.forEach((origin, i) => {
      checkStringMatch(ctx, [...path, "allowOrigins", i], origin, { requireValue: true });
    });
  }
  if (present(cors.allowOrigin)) {
    ctx.warn(
      [...path, "allowOrigin"],
      "CREMA_VALIDATION_DEPRECATED",
      "corsPolicy.allowOrigin is deprecated; use allowOrigins with exact, prefix or regex matches",
    );
  }
  if (Array.isArray(cors.allowMethods)) {
    cors.allowMethods.forEach((method, i) => {
      if (typeof method === "string" && !CORS_METHODS.has(method)) {
        ctx.error(
          [...path, "allowMethods", i],
          "CREMA_VALIDATION_INVALID",
          `${JSON.stringify(method)} is not an HTTP method; use one of ${[...CORS_METHODS].join(", ")}`,
        );
      }
    });
  }
  for (const field of ["allowHeaders", "exposeHeaders"]) {
    const names = cors[field];
    if (!Array.isArray(names)) continue;
    names.forEach((name, i) => {
      if (typeof name !== "string") return;
      const problem = corsHeaderNameProblem(name);
      if (problem) ctx.error([...path, field, i], "CREMA_VALIDATION_HEADER", problem);
    });
  }
  const maxAge = cors.maxAge;
  if (checkIstioDuration(ctx, [...path, "maxAge"], maxAge) && typeof maxAge === "string") {
    const parsed = parseDuration(maxAge);
    if (parsed.ok && parsed.ms % 1000 !== 0) {
      ctx.error(
        [...path, "maxAge"],
        "CREMA_VALIDATION_DURATION",
        `maxAge ${maxAge} is finer than the Access-Control-Max-Age header allows; use whole seconds (e.g. "24h" or "600s")`,
      );
    }
  }
}
