// HTTPRetry → Envoy RetryPolicy, as Istio's retry.ConvertPolicy: the mesh default (2 retries on
// connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes, another host when
// possible) unless the VirtualService sets `retries`; `attempts: 0` disables retries.
import { formatDuration, parseDuration } from "../../base/duration.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { durationJson, isObj, num, type Obj, str } from "./route-values.ts";

export const DEFAULT_RETRY_ON =
  "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

const PREVIOUS_HOSTS_TYPE =
  "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";
const PREVIOUS_PRIORITIES_TYPE =
  "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig";

/** Status codes Go's net/http names: Istio takes a number in `retryOn` as a code only if it is one. */
const HTTP_STATUS_CODES = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
  305, 306, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414,
  415, 416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504,
  505, 506, 507, 508, 510, 511,
]);

function extension(name: string, typeUrl: string, fields: JsonObject = {}): JsonObject {
  return { name, typed_config: { "@type": typeUrl, ...fields } };
}

/** `envoy.retry_host_predicates.previous_hosts`: retry on a host not tried yet. */
export function previousHostsPredicate(): JsonObject {
  return extension("envoy.retry_host_predicates.previous_hosts", PREVIOUS_HOSTS_TYPE);
}

function defaultPolicy(consistentHash: boolean): JsonObject {
  const policy: JsonObject = {
    retry_on: DEFAULT_RETRY_ON,
    num_retries: 2,
    host_selection_retry_max_attempts: "5",
  };
  // With consistent hashing, retries stay on the hashed host.
  if (!consistentHash) policy.retry_host_predicate = [previousHostsPredicate()];
  return policy;
}

/** Splits `retryOn`: numbers that are HTTP status codes become retriable_status_codes. */
export function parseRetryOn(retryOn: string): { retryOn: string; codes: number[] } {
  const policies: string[] = [];
  const codes: number[] = [];
  for (const raw of retryOn.split(",")) {
    const part = raw.trim();
    if (!part) continue;
    const code = /^[+-]?\d+$/.test(part) ? Number(part) : Number.NaN;
    if (HTTP_STATUS_CODES.has(code)) codes.push(code);
    else policies.push(part);
  }
  return { retryOn: policies.join(","), codes };
}

/**
 * The route's retry policy: `retries` from the VirtualService, else the mesh's
 * defaultHttpRetryPolicy, else Istio's default. Undefined when retries are disabled.
 */
export function translateRetryPolicy(
  retries: Obj | undefined,
  consistentHash: boolean,
): JsonObject | undefined {
  const out = defaultPolicy(consistentHash);
  if (!retries) return out;
  const attempts = num(retries.attempts);
  if (attempts <= 0) return undefined;
  out.num_retries = Math.trunc(attempts);
  const retryOn = str(retries.retryOn);
  if (retryOn) {
    const parsed = parseRetryOn(retryOn);
    out.retry_on = parsed.retryOn;
    if (parsed.codes.length > 0) {
      out.retriable_status_codes = parsed.codes;
      if (!parsed.retryOn.includes("retriable-status-codes"))
        out.retry_on = parsed.retryOn
          ? `${parsed.retryOn},retriable-status-codes`
          : "retriable-status-codes";
    }
  }
  const perTryTimeout = durationJson(retries.perTryTimeout);
  if (perTryTimeout) out.per_try_timeout = perTryTimeout;
  if (typeof retries.retryIgnorePreviousHosts === "boolean") {
    if (retries.retryIgnorePreviousHosts) out.retry_host_predicate = [previousHostsPredicate()];
    else delete out.retry_host_predicate;
  }
  if (retries.retryRemoteLocalities === true) {
    out.retry_priority = extension(
      "envoy.retry_priorities.previous_priorities",
      PREVIOUS_PRIORITIES_TYPE,
      { update_frequency: 2 },
    );
  }
  // Envoy refuses a base_interval that is not above 0; a VirtualService cannot say it (validation
  // wants 1 ms), the mesh config's defaultHttpRetryPolicy is not validated.
  const backoff = typeof retries.backoff === "string" ? parseDuration(retries.backoff) : undefined;
  if (backoff?.ok && backoff.ms > 0)
    out.retry_back_off = { base_interval: formatDuration(backoff.ms) };
  return out;
}

/** The mesh-wide default (meshConfig.defaultHttpRetryPolicy), when the mesh config carries one. */
export function meshDefaultRetries(meshConfig: object): Obj | undefined {
  const value = (meshConfig as { defaultHttpRetryPolicy?: unknown }).defaultHttpRetryPolicy;
  return isObj(value) ? value : undefined;
}
