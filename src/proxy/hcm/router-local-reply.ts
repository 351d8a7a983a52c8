// How the router answers an upstream failure it cannot retry: the retry kind of a stream reset,
// the local reply the reset gets, and the route's response header mutations on every local reply.
import { upstreamResetReplyInput } from "../http/local-reply.ts";
import type { StreamResetReason } from "../http/reset-reason.ts";
import type { RetryResetKind } from "../http/retry-state.ts";
import type { MutableHeaders } from "../routing/types.ts";
import type { LocalReplyRequest } from "./downstream.ts";

export function resetKind(reason: StreamResetReason): RetryResetKind {
  switch (reason) {
    case "local_connection_failure":
    case "remote_connection_failure":
    case "connection_timeout":
      return "connect-failure";
    case "remote_refused_stream_reset":
    case "local_refused_stream_reset":
      return "refused-stream";
    case "overflow":
      return "overflow";
    default:
      return "reset";
  }
}

/** The reply to an upstream reset no retry follows. */
export function upstreamResetReply(
  reason: StreamResetReason,
  retried: boolean,
  transportFailureReason: string | undefined,
): LocalReplyRequest {
  const reply = upstreamResetReplyInput(reason, {
    retried,
    ...(transportFailureReason ? { transportFailureReason } : {}),
  });
  // Envoy's router answers an upstream protocol error with 502, any other reset with 503.
  return reason === "protocol_error" ? { ...reply, status: 502 } : reply;
}

/** A local reply's headers: a mutation's removal leaves an undefined value behind. */
function definedHeaders(headers: MutableHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}

/**
 * The route's response header mutations (`modifyResponseHeaders`, Envoy's modify_headers_) apply
 * to the router's local replies too.
 */
export function routerLocalReply(
  reply: LocalReplyRequest,
  suppressEnvoyHeaders: boolean,
  modifyResponseHeaders: (headers: MutableHeaders) => void,
): LocalReplyRequest {
  const headers: MutableHeaders = { ...reply.headers };
  if (suppressEnvoyHeaders) delete headers["x-envoy-overloaded"];
  modifyResponseHeaders(headers);
  return { ...reply, headers: definedHeaders(headers) };
}
