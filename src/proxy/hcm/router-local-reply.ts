// How the router answers an upstream failure it cannot retry: the retry kind of a stream reset,
// the local reply the reset gets, and what suppress_envoy_headers removes from its local replies.
import { upstreamResetReplyInput } from "../http/local-reply.ts";
import type { StreamResetReason } from "../http/reset-reason.ts";
import type { RetryResetKind } from "../http/retry-state.ts";
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

/**
 * Under suppress_envoy_headers the router's local replies carry no x-envoy-overloaded (the route's
 * response header mutations are the downstream's, see Downstream.mutateResponseHeaders).
 */
export function routerLocalReply(
  reply: LocalReplyRequest,
  suppressEnvoyHeaders: boolean,
): LocalReplyRequest {
  if (!suppressEnvoyHeaders || reply.headers?.["x-envoy-overloaded"] === undefined) return reply;
  const headers = { ...reply.headers };
  delete headers["x-envoy-overloaded"];
  return { ...reply, headers };
}
