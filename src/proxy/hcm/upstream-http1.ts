// One HTTP/1.1 upstream stream on a pool's keep-alive node:http Agent (http1-pool.ts admits it);
// connect timeout and failure classification as Envoy's HTTP/1 connection pool reports them (UF
// before the connection, UC when it closes before the response head, UPE when the codec rejects it).
import type { Agent, ClientRequest } from "node:http";
import type { TLSSocket } from "node:tls";
import { nodeHttp } from "../../base/node-http.ts";
import { setTimeoutMs } from "../../base/timer.ts";
import { upstreamSslInfo } from "../tls/upstream-ssl-info.ts";
import { DialError, dialFailure, socketLocalAddress } from "../upstream/dial.ts";
import type {
  AttemptCallbacks,
  UpstreamAttempt,
  UpstreamRequestHead,
  UpstreamTarget,
  WireHeaders,
} from "./upstream-types.ts";

const { request } = nodeHttp;

/** llhttp's errors (HPE_INVALID_HEADER_TOKEN, HPE_INVALID_CONSTANT, …): a malformed message. */
function isParseError(error: NodeJS.ErrnoException): boolean {
  return typeof error.code === "string" && error.code.startsWith("HPE_");
}

/** Whether the response head is the whole response, as Envoy's HTTP/1 codec reports end_stream. */
function hasNoBody(method: string, status: number, contentLength: string | undefined): boolean {
  return method === "HEAD" || status === 204 || status === 304 || contentLength === "0";
}

class Http1Attempt implements UpstreamAttempt {
  private readonly req: ClientRequest;
  private settled = false;
  private connectTimer: NodeJS.Timeout | undefined;

  constructor(
    agent: Agent,
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    callbacks: AttemptCallbacks,
  ) {
    const headers: WireHeaders = { host: head.authority, ...head.headers };
    this.req = request({
      agent,
      host: target.address,
      port: target.port,
      method: head.method,
      path: head.path,
      headers,
      setHost: false,
    });
    const req = this.req;
    let connected = false;
    const fail = (error: DialError | NodeJS.ErrnoException): void => {
      if (this.settled) return;
      this.settled = true;
      this.clearTimer();
      if (error instanceof DialError) callbacks.onReset(error.reason, error.transportFailureReason);
      else if (!connected) {
        const dial = dialFailure(error);
        callbacks.onReset(dial.reason, dial.transportFailureReason);
      } else if (isParseError(error)) {
        // Envoy's HTTP/1 codec raises a CodecProtocolException on a malformed response, which its
        // codec client turns into a protocol_error reset (502 UPE), not a connection termination.
        callbacks.onReset("protocol_error");
      } else callbacks.onReset("connection_termination");
    };
    req.on("socket", (socket) => {
      // A TLS connection is established once its handshake is done and the server accepted
      // (connect_timeout covers both); a pooled one was established long ago.
      const tls = socket as TLSSocket & { secureConnecting?: boolean };
      const secure = tls.encrypted === true;
      if (!socket.connecting && !(secure && tls.secureConnecting)) {
        connected = true;
        callbacks.onConnected?.(upstreamSslInfo(socket), socketLocalAddress(socket));
        return;
      }
      this.connectTimer = setTimeoutMs(() => {
        fail(new DialError("connection_timeout", "connect timeout"));
        req.destroy();
      }, target.connectTimeoutMs);
      socket.once(secure ? "secureConnect" : "connect", () => {
        // A refused server destroyed the socket in an earlier listener; its error follows.
        if (socket.destroyed) return;
        connected = true;
        this.clearTimer();
        callbacks.onConnected?.(upstreamSslInfo(socket), socketLocalAddress(socket));
      });
    });
    req.on("error", fail);
    req.on("response", (res) => {
      if (this.settled) {
        res.resume();
        return;
      }
      this.settled = true;
      const status = res.statusCode ?? 502;
      callbacks.onResponse({
        status,
        endStream: hasNoBody(head.method, status, res.headers["content-length"]),
        headers: res.headers as WireHeaders,
        body: res,
        trailers: () =>
          Object.keys(res.trailers).length > 0 ? (res.trailers as WireHeaders) : undefined,
      });
    });
  }

  private clearTimer(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  write(chunk: Uint8Array): boolean {
    return this.req.write(chunk);
  }

  end(trailers?: WireHeaders): void {
    if (trailers) this.req.addTrailers(trailers);
    this.req.end();
  }

  onDrain(listener: () => void): void {
    this.req.once("drain", listener);
  }

  abort(): void {
    this.settled = true;
    this.clearTimer();
    this.req.destroy();
  }
}

export function startHttp1Attempt(
  agent: Agent,
  target: UpstreamTarget,
  head: UpstreamRequestHead,
  callbacks: AttemptCallbacks,
): UpstreamAttempt {
  return new Http1Attempt(agent, target, head, callbacks);
}
