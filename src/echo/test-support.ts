// Helpers for the echo tests: a server on 127.0.0.1:0 and small HTTP/1.1 and HTTP/2 clients.
import { once } from "node:events";
import { type Agent, request as http1Request, type IncomingHttpHeaders } from "node:http";
import {
  type ClientHttp2Session,
  connect as http2Connect,
  type SecureClientSessionOptions,
} from "node:http2";
import { type RequestOptions as HttpsRequestOptions, request as httpsRequest } from "node:https";
import { connect as netConnect, type Socket } from "node:net";
import type { ConnectionOptions, TLSSocket } from "node:tls";
import { silentLogger } from "../base/logger.ts";
import type { EchoOptions } from "./options.ts";
import { type EchoServer, startEchoServer } from "./server.ts";

export const TEST_POD = "echo-test-pod";

/** Starts an echo server bound to 127.0.0.1 on a free port; the caller stops it. */
export function startTestEcho(options: EchoOptions = {}): Promise<EchoServer> {
  return startEchoServer({
    host: "127.0.0.1",
    port: 0,
    pod: TEST_POD,
    namespace: "echo-ns",
    version: "v7",
    serviceAccount: "echo-sa",
    labels: { app: "echo" },
    logger: silentLogger(),
    ...options,
  });
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The protocol ALPN settled on, for HTTPS requests. */
  alpnProtocol?: string | false | null;
}

export function json<T = Record<string, unknown>>(reply: Reply): T {
  return JSON.parse(reply.body.toString("utf8")) as T;
}

export interface RequestSpec {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: Agent | false;
  /** Called once the server has read the request head (it answered 100 Continue). */
  onContinue?: () => void;
  /** HTTPS instead of HTTP; ALPN and certificates as https.request and tls.connect take them. */
  tls?: HttpsRequestOptions & Pick<ConnectionOptions, "ALPNProtocols">;
}

/** One HTTP/1.1 request; resolves with the whole response. */
export function h1(port: number, path: string, spec: RequestSpec = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers = { ...spec.headers };
    if (spec.onContinue) headers.expect = "100-continue";
    const options = {
      host: "127.0.0.1",
      port,
      path,
      method: spec.method ?? "GET",
      headers,
      agent: spec.agent ?? false,
    };
    const req = spec.tls ? httpsRequest({ ...options, ...spec.tls }) : http1Request(options);
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      const socket = res.socket as TLSSocket;
      const alpnProtocol = spec.tls ? socket.alpnProtocol : undefined;
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          alpnProtocol,
        }),
      );
    });
    if (spec.onContinue) {
      const onContinue = spec.onContinue;
      req.on("continue", () => {
        onContinue();
        req.end(spec.body);
      });
    } else {
      req.end(spec.body);
    }
  });
}

/** An HTTP/2 session (h2c with prior knowledge for http:, ALPN h2 for https:), once connected. */
export async function h2Session(
  url: string,
  options: SecureClientSessionOptions = {},
): Promise<ClientHttp2Session> {
  const session = http2Connect(url, options);
  await Promise.race([
    once(session, "connect"),
    once(session, "error").then(([error]) => Promise.reject(error)),
  ]);
  return session;
}

/** One request on an HTTP/2 session; resolves with the whole response. */
export function h2(
  session: ClientHttp2Session,
  path: string,
  spec: RequestSpec = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      ":method": spec.method ?? "GET",
      ":path": path,
      ...spec.headers,
    };
    if (spec.onContinue) headers.expect = "100-continue";
    const stream = session.request(headers, { endStream: false });
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      responseHeaders = h;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("end", () =>
      resolve({ status, headers: responseHeaders, body: Buffer.concat(chunks) }),
    );
    if (spec.onContinue) {
      const onContinue = spec.onContinue;
      stream.on("continue", () => {
        onContinue();
        stream.end(spec.body);
      });
    } else {
      stream.end(spec.body);
    }
  });
}

/** Closes an HTTP/2 session and waits until it is gone. */
export async function closeSession(session: ClientHttp2Session): Promise<void> {
  if (session.closed || session.destroyed) return;
  const closed = once(session, "close");
  session.close();
  await closed;
}

/** A raw TCP connection, once connected. */
export async function rawConnect(port: number): Promise<Socket> {
  const socket = netConnect({ host: "127.0.0.1", port });
  await once(socket, "connect");
  return socket;
}

/** Everything the peer sends until it closes the connection. */
export async function readAll(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  await once(socket, "close");
  return Buffer.concat(chunks);
}
