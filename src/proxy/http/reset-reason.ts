// Why an upstream stream ended before a response (Envoy's Http::StreamResetReason): the text the
// router puts in its 503 body and the response flag it sets for each.
import type { ResponseFlag } from "./response-flags.ts";

export type StreamResetReason =
  | "local_connection_failure"
  | "remote_connection_failure"
  | "connection_timeout"
  | "connection_termination"
  | "local_reset"
  | "local_refused_stream_reset"
  | "overflow"
  | "remote_reset"
  | "remote_refused_stream_reset"
  | "connect_error"
  | "protocol_error"
  | "overload_manager";

const TEXT: Record<StreamResetReason, string> = {
  local_connection_failure: "local connection failure",
  remote_connection_failure: "remote connection failure",
  connection_timeout: "connection timeout",
  connection_termination: "connection termination",
  local_reset: "local reset",
  local_refused_stream_reset: "local refused stream reset",
  overflow: "overflow",
  remote_reset: "remote reset",
  remote_refused_stream_reset: "remote refused stream reset",
  connect_error: "remote error with CONNECT request",
  protocol_error: "protocol error",
  overload_manager: "overload manager reset",
};

const FLAG: Record<StreamResetReason, ResponseFlag> = {
  local_connection_failure: "UF",
  remote_connection_failure: "UF",
  connection_timeout: "UF",
  connection_termination: "UC",
  local_reset: "LR",
  local_refused_stream_reset: "LR",
  overflow: "UO",
  remote_reset: "UR",
  remote_refused_stream_reset: "UR",
  connect_error: "UR",
  protocol_error: "UPE",
  overload_manager: "OM",
};

/** Envoy's Http::Utility::resetReasonToString. */
export function resetReasonText(reason: StreamResetReason): string {
  return TEXT[reason];
}

/** The router's streamResetReasonToResponseFlag. */
export function resetReasonFlag(reason: StreamResetReason): ResponseFlag {
  return FLAG[reason];
}

/** A failure to establish the connection (what `connect-failure` retries). */
export function isConnectFailure(reason: StreamResetReason): boolean {
  return (
    reason === "local_connection_failure" ||
    reason === "remote_connection_failure" ||
    reason === "connection_timeout"
  );
}
