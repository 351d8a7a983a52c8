// Answers one HTTP request (HTTP/1.1 or HTTP/2 alike): picks the endpoint and writes its reply.
import type { Buffer } from "node:buffer";
import type { Logger } from "../base/logger.ts";
import type { ConnectionInfo } from "./connections.ts";
import { describeRequest, type RequestFacts } from "./describe.ts";
import type { EchoIdentity } from "./options.ts";
import { byteChunks, type EchoResponse, pump, sendError, sendJson } from "./responses.ts";
import { parseTarget, statusForbidsBody, type Target, UNCOPIED_HEADERS } from "./routes.ts";

/** What the endpoints use of http.IncomingMessage and http2.Http2ServerRequest. */
export interface EchoRequest extends RequestFacts {
  readonly url?: string | undefined;
  on(event: "data", listener: (chunk: Buffer) => void): unknown;
  on(event: "end" | "error", listener: () => void): unknown;
}

export interface HandlerContext {
  identity: EchoIdentity;
  logger: Logger;
  /** True once stop() was called: HTTP/1.1 answers then ask the client to close. */
  draining: () => boolean;
}

export type RequestHandler = (
  req: EchoRequest,
  res: EchoResponse,
  connection: ConnectionInfo,
) => void;

export function createRequestHandler(context: HandlerContext): RequestHandler {
  const { identity, logger } = context;
  const debug = logger.isLevelEnabled("debug");
  return (req, res, connection) => {
    try {
      res.setHeader("x-crema-pod", identity.pod);
      if (req.httpVersionMajor < 2 && context.draining()) res.setHeader("connection", "close");
      if (debug) logger.debug({ method: req.method, url: req.url }, "echo request");
      const parsed = parseTarget(req.url ?? "/");
      if (!parsed.ok) {
        readBody(req, () => sendError(res, 400, parsed.message));
        return;
      }
      const target = parsed.target;
      setRequestedHeaders(res, target);
      readBody(req, (bodyLength) => {
        try {
          answer(context, req, res, target, connection, bodyLength);
        } catch (error) {
          fail(logger, res, error);
        }
      });
    } catch (error) {
      fail(logger, res, error);
    }
  };
}

function fail(logger: Logger, res: EchoResponse, error: unknown): void {
  logger.warn({ err: error }, "echo request failed");
  sendError(res, 500, "the echo server could not answer this request");
}

/** Counts the body without keeping it; calls back once the whole body has arrived. */
function readBody(req: EchoRequest, done: (length: number) => void): void {
  let length = 0;
  req.on("data", (chunk) => {
    length += chunk.length;
  });
  req.on("end", () => done(length));
  // A client that goes away mid-body ends the request with an error; nobody is left to answer.
  req.on("error", () => {});
}

function setRequestedHeaders(res: EchoResponse, target: Target): void {
  if (target.setHeaders.length === 0) return;
  const values = new Map<string, string[]>();
  for (const [name, value] of target.setHeaders) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  for (const [name, list] of values) res.setHeader(name, list.length === 1 ? list[0]! : list);
}

function answer(
  context: HandlerContext,
  req: EchoRequest,
  res: EchoResponse,
  target: Target,
  connection: ConnectionInfo,
  bodyLength: number,
): void {
  const head = req.method === "HEAD";
  const status = target.status ?? 200;
  const route = target.route;
  const describe = () => describeRequest(context.identity, req, target, connection, bodyLength);
  switch (route.kind) {
    case "echo":
      sendJson(res, status, describe(), head);
      return;
    case "headers":
      copyRequestHeaders(req, res);
      sendJson(res, status, describe(), head);
      return;
    case "ip":
      sendJson(res, status, { origin: connection.remoteAddress }, head);
      return;
    case "ws":
      sendError(res, 426, "/ws speaks WebSocket: send an HTTP/1.1 upgrade request");
      return;
    case "delay": {
      const timer = setTimeout(() => {
        res.off("close", cancel);
        sendJson(res, status, describe(), head);
      }, route.ms);
      const cancel = () => clearTimeout(timer);
      res.once("close", cancel);
      return;
    }
    case "bytes":
      if (head || statusForbidsBody(status)) {
        res.writeHead(status, statusForbidsBody(status) ? {} : bytesHeaders(route.count));
        res.end();
        return;
      }
      res.writeHead(status, bytesHeaders(route.count));
      pump(res, byteChunks(route.count));
      return;
    case "stream": {
      if (head || statusForbidsBody(status)) {
        res.writeHead(status);
        res.end();
        return;
      }
      res.writeHead(status, { "content-type": "application/x-ndjson" });
      const description = describe();
      let id = 0;
      pump(res, () =>
        id < route.count ? `${JSON.stringify({ id: id++, ...description })}\n` : undefined,
      );
      return;
    }
  }
}

function bytesHeaders(count: number): Record<string, string | number> {
  return { "content-type": "application/octet-stream", "content-length": count };
}

/** /headers: request headers come back as response headers, except per-connection ones. */
function copyRequestHeaders(req: EchoRequest, res: EchoResponse): void {
  const headers = req.headers;
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */ || UNCOPIED_HEADERS.has(name)) continue;
    const value = headers[name];
    if (value === undefined || res.hasHeader(name)) continue;
    res.setHeader(name, value);
  }
}
