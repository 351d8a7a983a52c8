// Envoy's router retry decision as a pure state machine (RetryStateImpl): which responses and
// resets are retried under a route's retry policy and the x-envoy-retry-* request headers, how
// long to back off, when the retry limit or the retry circuit breaker says no (URX / UO), and
// which hosts the load balancer should avoid on a retry (previous_hosts).
import { joinedHeader, matchHeaderValue, matchRequestHeaders } from "../routing/header-matcher.ts";
import type { HeaderMatch, RandomSource, RetryPolicy, RouteRequest } from "../routing/types.ts";
import { JitteredExponentialBackOff, jitteredLowerBoundMs } from "./backoff.ts";
import { parseGrpcStatus } from "./grpc-status.ts";
import type { ResponseFlag } from "./response-flags.ts";

const HTTP_RETRY_ON = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "envoy-ratelimited",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "http3-post-connect-failure",
]);
const GRPC_RETRY_ON: ReadonlyMap<string, number> = new Map([
  ["cancelled", 1],
  ["deadline-exceeded", 4],
  ["resource-exhausted", 8],
  ["internal", 13],
  ["unavailable", 14],
]);
const PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts";

/** Request headers the router consumes (removes before forwarding upstream). */
export const RETRY_REQUEST_HEADERS = [
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-hedge-on-per-try-timeout",
  "x-envoy-retriable-header-names",
  "x-envoy-retriable-status-codes",
  "x-envoy-upstream-rq-per-try-timeout-ms",
] as const;

export type RetryResetKind =
  | "connect-failure"
  | "refused-stream"
  | "reset"
  | "timeout-per-try"
  | "overflow";

export type ResponseHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

export interface RetryResponse {
  status: number;
  /** grpc-status of a trailers-only response; read from `headers` when absent. */
  grpcStatus?: number;
  headers: ResponseHeaders;
}

export interface RetryStateOptions {
  /** A number in [0, 1); injected so back-offs are deterministic in tests. */
  random: RandomSource;
  /** The cluster's retry circuit breaker / retry budget; false refuses the retry (UO). */
  breakerAllowsRetry?: () => boolean;
  /** Wall clock in ms, for UNIX_TIMESTAMP rate-limit reset headers. */
  now?: () => number;
  /** Honour x-envoy-retry-on and friends (default true; edge proxies strip them first). */
  honorRequestHeaders?: boolean;
}

export type RetryDecision = { retryAfterMs: number };

export interface RetryState {
  /** Upstream attempts made so far (1 before any retry). */
  readonly attempts: number;
  /** Retries left under num_retries / x-envoy-max-retries. */
  readonly retriesRemaining: number;
  /** Set when a retriable failure was not retried: URX (limit reached) or UO (breaker). */
  readonly flag: ResponseFlag | undefined;
  /** Per-try timeout in ms (x-envoy-upstream-rq-per-try-timeout-ms overrides the policy). */
  readonly perTryTimeoutMs: number | undefined;
  /** How many times the load balancer may re-pick to honour the host predicates. */
  readonly hostSelectionMaxAttempts: number;
  onResponse(response: RetryResponse): "return" | RetryDecision;
  onReset(kind: RetryResetKind, options?: { requestStarted?: boolean }): "fail" | RetryDecision;
  /** Record the host an attempt went to (feeds previous_hosts). */
  onHostAttempted(host: string): void;
  /** Envoy's shouldSelectAnotherHost: only on retries, only with a host predicate. */
  shouldSelectAnotherHost(host: string): boolean;
  /** The load balancer's loop: pick up to hostSelectionMaxAttempts + 1 times, else keep the last. */
  selectHost<H>(choose: () => H | undefined, key: (host: H) => string): H | undefined;
}

export function createRetryState(
  policy: RetryPolicy | undefined,
  request: RouteRequest,
  options: RetryStateOptions,
): RetryState {
  const honor = options.honorRequestHeaders ?? true;
  const header = (name: string) => (honor ? joinedHeader(request.headers, name) : undefined);
  const retryOn = new Set<string>(policy?.retryOn ?? []);
  for (const v of split(header("x-envoy-retry-on"))) if (HTTP_RETRY_ON.has(v)) retryOn.add(v);
  for (const v of split(header("x-envoy-retry-grpc-on"))) if (GRPC_RETRY_ON.has(v)) retryOn.add(v);
  const requestMatchers = policy?.retriableRequestHeaders ?? [];
  if (requestMatchers.length > 0 && !requestMatchers.some((m) => matchRequestHeaders([m], request)))
    retryOn.clear();
  let retriesRemaining = policy?.numRetries ?? 1;
  const maxRetries = header("x-envoy-max-retries");
  if (retryOn.size > 0 && maxRetries !== undefined && /^\d+$/.test(maxRetries.trim()))
    retriesRemaining = Number(maxRetries.trim());
  const statusCodes = new Set(policy?.retriableStatusCodes ?? []);
  for (const code of split(header("x-envoy-retriable-status-codes")))
    if (/^\d+$/.test(code)) statusCodes.add(Number(code));
  const retriableHeaders: HeaderMatch[] = [...(policy?.retriableHeaders ?? [])];
  for (const name of split(header("x-envoy-retriable-header-names")))
    retriableHeaders.push(presentMatcher(name.toLowerCase()));
  let perTryTimeoutMs = policy?.perTryTimeoutMs;
  const perTryHeader = header("x-envoy-upstream-rq-per-try-timeout-ms");
  if (perTryHeader !== undefined && /^\d+$/.test(perTryHeader)) perTryTimeoutMs = +perTryHeader;

  const base = policy?.retryBackOff?.baseIntervalMs ?? 25;
  const backOff = new JitteredExponentialBackOff(
    base,
    policy?.retryBackOff?.maxIntervalMs ?? base * 10,
    options.random,
  );
  const avoidPrevious = policy?.retryHostPredicates.includes(PREVIOUS_HOSTS) ?? false;
  const attempted = new Set<string>();
  let attempts = 1;
  let flag: ResponseFlag | undefined;

  const retry = (lowerBoundMs?: number): "no" | RetryDecision => {
    if (retriesRemaining === 0) {
      flag = "URX";
      return "no";
    }
    retriesRemaining--;
    if (options.breakerAllowsRetry && !options.breakerAllowsRetry()) {
      flag = "UO";
      return "no";
    }
    attempts++;
    const retryAfterMs =
      lowerBoundMs === undefined
        ? backOff.nextBackOffMs()
        : jitteredLowerBoundMs(lowerBoundMs, options.random);
    return { retryAfterMs };
  };

  const wouldRetryResponse = (r: RetryResponse): boolean => {
    if (joinedHeader(r.headers, "x-envoy-ratelimited") !== undefined)
      return retryOn.has("envoy-ratelimited");
    if (retryOn.has("5xx") && r.status >= 500 && r.status < 600) return true;
    if (retryOn.has("gateway-error") && r.status >= 502 && r.status <= 504) return true;
    if (retryOn.has("retriable-4xx") && r.status === 409) return true;
    if (retryOn.has("retriable-status-codes") && statusCodes.has(r.status)) return true;
    if (
      retryOn.has("retriable-headers") &&
      retriableHeaders.some((m) => matchHeaderValue(m, joinedHeader(r.headers, m.name)))
    )
      return true;
    const grpc = r.grpcStatus ?? parseGrpcStatus(joinedHeader(r.headers, "grpc-status")?.trim());
    if (grpc === undefined) return false;
    for (const [name, code] of GRPC_RETRY_ON) if (code === grpc && retryOn.has(name)) return true;
    return false;
  };

  const wouldRetryReset = (kind: RetryResetKind, started: boolean): boolean => {
    if (kind === "overflow") return false;
    if (kind === "connect-failure" && retryOn.has("connect-failure")) return true;
    if (retryOn.has("reset-before-request") && !started) return true;
    if (retryOn.has("reset") || retryOn.has("5xx") || retryOn.has("gateway-error")) return true;
    return kind === "refused-stream" && retryOn.has("refused-stream");
  };

  const state: RetryState = {
    get attempts() {
      return attempts;
    },
    get retriesRemaining() {
      return retriesRemaining;
    },
    get flag() {
      return flag;
    },
    perTryTimeoutMs,
    hostSelectionMaxAttempts: policy?.hostSelectionRetryMaxAttempts ?? 1,
    onResponse(response) {
      if (!wouldRetryResponse(response)) return "return";
      const decision = retry(rateLimitedBackOff(policy, response.headers, options));
      return decision === "no" ? "return" : decision;
    },
    onReset(kind, resetOptions = {}) {
      const started = resetOptions.requestStarted ?? kind !== "connect-failure";
      if (!wouldRetryReset(kind, started)) return "fail";
      const decision = retry();
      return decision === "no" ? "fail" : decision;
    },
    onHostAttempted(host) {
      attempted.add(host);
    },
    shouldSelectAnotherHost(host) {
      return attempts > 1 && avoidPrevious && attempted.has(host);
    },
    selectHost(choose, key) {
      const tries = (attempts > 1 ? state.hostSelectionMaxAttempts : 1) + 1;
      let host: ReturnType<typeof choose>;
      for (let i = 0; i < tries; i++) {
        host = choose();
        if (host === undefined || !state.shouldSelectAnotherHost(key(host))) return host;
      }
      return host;
    },
  };
  return state;
}

/** The lower bound of a server-directed back-off (rate_limited_retry_back_off reset headers). */
function rateLimitedBackOff(
  policy: RetryPolicy | undefined,
  headers: ResponseHeaders,
  options: RetryStateOptions,
): number | undefined {
  const config = policy?.rateLimitedRetryBackOff;
  if (!config) return undefined;
  for (const { name, format } of config.resetHeaders) {
    const raw = headers[name];
    const value = (typeof raw === "string" ? raw : raw?.[0])?.trim();
    if (value === undefined || !/^\d+$/.test(value)) continue;
    let ms = Number(value) * 1000;
    if (format === "UNIX_TIMESTAMP") {
      const now = (options.now ?? Date.now)();
      if (ms < now) continue;
      ms -= now;
    }
    if (ms > config.maxIntervalMs) continue;
    return ms > 1 ? ms : undefined;
  }
  return undefined;
}

function split(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function presentMatcher(name: string): HeaderMatch {
  return {
    name,
    kind: "present",
    present: true,
    rangeStart: 0,
    rangeEnd: 0,
    invert: false,
    treatMissingAsEmpty: false,
  };
}
