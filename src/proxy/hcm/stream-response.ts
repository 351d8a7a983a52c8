// The router's last step: streams an upstream response (head, body with flow control, trailers)
// to the downstream, and turns an upstream or downstream failure midway into a reset.
import type { MutableHeaders } from "../routing/types.ts";
import type { Downstream } from "./downstream.ts";
import type { UpstreamResponse } from "./upstream-types.ts";

/** What streaming needs of the router's stream it belongs to. */
export interface ResponseStreamHooks {
  /** Whether the router's stream already ended (a timeout or reset answered it meanwhile). */
  finished(): boolean;
  /** Ends the router's stream: timers cleared, circuit breaker slots released, body discarded. */
  complete(): void;
  /** Resets the upstream attempt (it gets no further callback). */
  abortAttempt(): void;
}

/**
 * Runs a write to the downstream; a throw (a head or trailer node's codec refuses) resets the
 * downstream stream instead of escaping into an upstream event handler and ending the process.
 */
function downstreamWrite(
  downstream: Downstream,
  hooks: ResponseStreamHooks,
  write: () => void,
): boolean {
  try {
    write();
    return true;
  } catch {
    downstream.flags.push("UPE");
    hooks.complete();
    downstream.reset();
    return false;
  }
}

/**
 * `headers` is the response head as it goes out (forwardable, route mutations applied);
 * `endAttempt` is the attempt's end bookkeeping (active requests, LB), idempotent.
 */
export function streamResponse(
  downstream: Downstream,
  response: UpstreamResponse,
  headers: MutableHeaders,
  hooks: ResponseStreamHooks,
  endAttempt: () => void,
): void {
  const body = response.body;
  if (response.endStream) {
    // A head that ends the stream (gRPC trailers-only, an empty response) is forwarded as one:
    // headers then an empty body would lose grpc-status for gRPC clients.
    body.on("error", () => {});
    body.resume();
    endAttempt();
    hooks.complete();
    downstreamWrite(downstream, hooks, () => downstream.writeHead(response.status, headers, true));
    return;
  }
  if (!downstreamWrite(downstream, hooks, () => downstream.writeHead(response.status, headers))) {
    body.on("error", () => {});
    hooks.abortAttempt();
    endAttempt();
    return;
  }
  const onDrain = (): void => {
    body.resume();
  };
  body.on("data", (chunk: Uint8Array) => {
    if (!downstream.write(chunk)) {
      body.pause();
      downstream.onDrain(onDrain);
    }
  });
  body.once("end", () => {
    endAttempt();
    hooks.complete();
    downstreamWrite(downstream, hooks, () => downstream.end(response.trailers()));
  });
  body.once("error", () => {
    endAttempt();
    if (hooks.finished()) return;
    downstream.flags.push("UR");
    hooks.complete();
    downstream.reset();
  });
  body.once("close", () => {
    if (!hooks.finished() && !body.readableEnded) {
      endAttempt();
      downstream.flags.push("UR");
      hooks.complete();
      downstream.reset();
    }
  });
}
