// HTTP/2 upstream connections (gRPC, h2 clusters): one multiplexed session per host and source
// address, replaced when it closes or receives GOAWAY; connect timeout and reset classification as
// Envoy's HTTP/2 connection pool reports them.
import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import { connect as netConnect } from "node:net";
import { armsTimer, setTimeoutMs } from "../../base/timer.ts";
import { DialError, dialFailure } from "../upstream/dial.ts";
import type {
  AttemptCallbacks,
  UpstreamAttempt,
  UpstreamRequestHead,
  UpstreamTarget,
  WireHeaders,
} from "./upstream-types.ts";

type SessionState = { session: ClientHttp2Session; connected: boolean; failure?: DialError };

/** One target's session, created on demand. */
export class Http2Connection {
  private state: SessionState | undefined;
  private readonly target: UpstreamTarget;

  constructor(target: UpstreamTarget) {
    this.target = target;
  }

  session(): SessionState {
    const current = this.state;
    if (current && !current.session.closed && !current.session.destroyed && !current.failure)
      return current;
    const target = this.target;
    const session = connect(`http://${target.address}:${target.port}`, {
      createConnection: () =>
        netConnect({
          host: target.address,
          port: target.port,
          noDelay: true,
          ...(target.sourceAddress ? { localAddress: target.sourceAddress } : {}),
        }),
      settings: { enablePush: false },
    });
    const state: SessionState = { session, connected: false };
    this.state = state;
    const timer = setTimeoutMs(() => {
      state.failure = new DialError("connection_timeout", "connect timeout");
      session.destroy();
    }, target.connectTimeoutMs);
    session.once("connect", () => {
      if (timer) clearTimeout(timer);
      state.connected = true;
    });
    session.on("error", (err: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (!state.connected && !state.failure) state.failure = dialFailure(err);
    });
    session.once("close", () => {
      if (timer) clearTimeout(timer);
      if (this.state === state) this.state = undefined;
    });
    session.on("goaway", () => {
      if (this.state === state) this.state = undefined;
    });
    if (armsTimer(target.idleTimeoutMs))
      session.setTimeout(target.idleTimeoutMs, () => session.close());
    return state;
  }

  close(): void {
    this.state?.session.close();
    this.state = undefined;
  }
}

class Http2Attempt implements UpstreamAttempt {
  private readonly stream: ClientHttp2Stream;
  private settled = false;

  constructor(connection: Http2Connection, head: UpstreamRequestHead, callbacks: AttemptCallbacks) {
    const state = connection.session();
    const headers: Record<string, string | string[]> = {
      ...head.headers,
      [constants.HTTP2_HEADER_METHOD]: head.method,
      [constants.HTTP2_HEADER_PATH]: head.path,
      [constants.HTTP2_HEADER_SCHEME]: head.scheme,
      [constants.HTTP2_HEADER_AUTHORITY]: head.authority,
    };
    this.stream = state.session.request(headers, { endStream: false, waitForTrailers: false });
    const stream = this.stream;
    if (state.connected) callbacks.onConnected?.();
    else state.session.once("connect", () => callbacks.onConnected?.());
    let trailers: WireHeaders | undefined;
    stream.on("trailers", (t) => {
      trailers = stripPseudo(t as WireHeaders);
    });
    const fail = (): void => {
      if (this.settled) return;
      this.settled = true;
      if (state.failure) {
        callbacks.onReset(state.failure.reason, state.failure.transportFailureReason);
        return;
      }
      if (!state.connected) {
        callbacks.onReset("remote_connection_failure", "delayed connect error: connection closed");
        return;
      }
      const code = stream.rstCode;
      if (code === constants.NGHTTP2_REFUSED_STREAM)
        callbacks.onReset("remote_refused_stream_reset");
      else if (code !== undefined && code !== constants.NGHTTP2_NO_ERROR)
        callbacks.onReset("remote_reset");
      else callbacks.onReset("connection_termination");
    };
    stream.on("error", fail);
    stream.on("close", fail);
    stream.on("response", (h, flags: number) => {
      if (this.settled) return;
      this.settled = true;
      const status = Number(h[constants.HTTP2_HEADER_STATUS] ?? 502);
      callbacks.onResponse({
        status,
        headers: stripPseudo(h as WireHeaders),
        body: stream,
        trailers: () => trailers,
        // The frame's flags: a client stream's endAfterHeaders is still false at 'response'.
        endStream: (flags & constants.NGHTTP2_FLAG_END_STREAM) !== 0,
      });
    });
  }

  write(chunk: Uint8Array): boolean {
    return this.stream.write(chunk);
  }

  /** Request trailers are not forwarded on HTTP/2 upstreams (gRPC requests carry none). */
  end(): void {
    this.stream.end();
  }

  onDrain(listener: () => void): void {
    this.stream.once("drain", listener);
  }

  abort(): void {
    this.settled = true;
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_CANCEL);
  }
}

function stripPseudo(headers: WireHeaders): WireHeaders {
  const out: WireHeaders = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export function startHttp2Attempt(
  connection: Http2Connection,
  head: UpstreamRequestHead,
  callbacks: AttemptCallbacks,
): UpstreamAttempt {
  return new Http2Attempt(connection, head, callbacks);
}
