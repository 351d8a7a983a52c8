// What every coffee-shop service shares: who it is (from the pod's environment), an HTTP server
// that logs one line per request and drains on SIGTERM, the echo answer for every path the
// service does not own, and calls to other services that pass the tracing headers on.
//
// Only node builtins on purpose: these are ordinary applications. Routing, retries, timeouts,
// mTLS and policy are the mesh's job; the apps just call `http://payment-service/...` and let
// HTTP_PROXY (set by the runtime, honoured by fetch with NODE_USE_ENV_PROXY=1) reach the sidecar.

import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { hostname } from "node:os";

export interface ServiceInfo {
  service: string;
  version: string;
  pod: string;
  namespace: string;
  serviceAccount: string;
  host: string;
  port: number;
}

/** Answers the request and returns true, or returns false to let the echo answer it. */
export type Handler = (
  req: IncomingMessage,
  res: ServerResponse,
  info: ServiceInfo,
) => boolean | Promise<boolean>;

export interface RunningService {
  info: ServiceInfo;
  server: Server;
  /** Runs `close` when the service shuts down; the process exits once every closer is done. */
  onShutdown(close: () => Promise<void>): void;
}

/** An error the client caused or should see, with the status to answer. */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const MAX_DELAY_MS = 60_000;
/** How long a shutdown waits for running requests before cutting their connections. */
const DRAIN_MS = 5_000;
const MAX_BODY_BYTES = 1024 * 1024;
/** A guard against a dependency that never answers; the mesh's own timeouts are shorter. */
const CALL_TIMEOUT_MS = 30_000;

export function portFrom(text: string | undefined, fallback: number, name = "PORT"): number {
  if (text === undefined || text === "") return fallback;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new Error(`${name} must be a port number from 0 to 65535, got '${text}'`);
  }
  return port;
}

/** On Kubernetes the pod's namespace is also in its service-account mount. */
function mountedNamespace(): string | undefined {
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim();
  } catch {
    return undefined;
  }
}

export function serviceInfo(service: string, env: NodeJS.ProcessEnv = process.env): ServiceInfo {
  return {
    service,
    version: env.SERVICE_VERSION || "v1",
    pod: env.POD_NAME || hostname(),
    namespace: env.POD_NAMESPACE || mountedNamespace() || "default",
    serviceAccount: env.SERVICE_ACCOUNT || "default",
    host: env.HOST || "0.0.0.0",
    port: portFrom(env.PORT, 8080),
  };
}

export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? "/", "http://app.invalid");
}

/** Who answered, and what it was asked: the first fields of every JSON answer. */
export function identity(info: ServiceInfo, req: IncomingMessage) {
  return {
    service: info.service,
    version: info.version,
    pod: info.pod,
    namespace: info.namespace,
    method: req.method ?? "GET",
    path: req.url ?? "/",
  };
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  if (status === 204 || status === 304) {
    res.writeHead(status).end();
    return;
  }
  const body = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

export function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(html),
  });
  res.end(html);
}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `the request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The body as a JSON object (an empty body is `{}`), or a 400. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await readBody(req);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the request body is not JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, "the request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/** `2s`, `500ms`, `1.5s`, `1m`; a bare number is milliseconds (as `crema echo` reads it). */
export function parseDelay(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!match) return undefined;
  const unit = match[2] === "m" ? 60_000 : match[2] === "s" ? 1000 : 1;
  return Math.round(Number(match[1]) * unit);
}

// --- calling other services

/**
 * Headers an app must copy from the request it serves onto the calls it makes, because the
 * mesh cannot: the proxies see two unrelated requests. Trace context ties them into one trace;
 * the user agent and the demo's own headers let routing rules (Firefox → v1, testers → v2,
 * chaos on demand) apply to the calls behind a page too.
 */
const PROPAGATED_HEADERS = [
  "x-request-id",
  "traceparent",
  "tracestate",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  "x-ot-span-context",
  "x-cloud-trace-context",
  "user-agent",
  "x-coffee-tester",
  "x-coffee-chaos",
  "x-customer-id",
];

export interface CallResult {
  url: string;
  /** Absent when no HTTP answer came back at all (see `error`). */
  status?: number;
  /** The answer's body: parsed JSON, or the text (the mesh's own answers are plain text). */
  body?: unknown;
  error?: string;
  durationMs: number;
}

export interface CallOptions {
  method?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** The request being served, whose tracing and routing headers the call carries on. */
  from?: IncomingMessage;
}

export function ok(result: CallResult): boolean {
  return result.status !== undefined && result.status >= 200 && result.status < 300;
}

/** Calls another service and reports what happened; never throws. */
export async function callService(url: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { accept: "application/json" };
  for (const name of PROPAGATED_HEADERS) {
    const value = options.from?.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await fetch(url, {
      method: options.method ?? "GET",
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: keep the text, e.g. "RBAC: access denied" or "upstream request timeout".
    }
    return { url, status: response.status, body, durationMs: elapsed() };
  } catch (error) {
    return { url, error: describeFetchError(error), durationMs: elapsed() };
  }
}

function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${error.message} (${detail})` : error.message;
}

// --- the echo answer

const STATUS_PATH = /^\/status\/(\d+)$/;
const DELAY_PATH = /^\/delay\/([^/]+)$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** Headers that describe the connection or the body's framing: the server owns those. */
const RESERVED_HEADERS = new Set([
  "connection",
  "content-length",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** `?set-header=name:value` (repeatable) adds response headers, on every path. */
function applySetHeaders(req: IncomingMessage, res: ServerResponse): void {
  for (const entry of requestUrl(req).searchParams.getAll("set-header")) {
    const colon = entry.indexOf(":");
    const name = entry.slice(0, colon).trim().toLowerCase();
    const value = entry.slice(colon + 1).trim();
    if (
      colon < 0 ||
      !HEADER_NAME.test(name) ||
      RESERVED_HEADERS.has(name) ||
      /[^\t\x20-\x7e]/.test(value)
    ) {
      throw new HttpError(
        400,
        `set-header must be name:value with a header name you may set, got '${entry}'`,
      );
    }
    res.appendHeader(name, value);
  }
}

function describeRequest(info: ServiceInfo, req: IncomingMessage, bodyLength: number) {
  return {
    ...identity(info, req),
    serviceAccount: info.serviceAccount,
    host: req.headers.host ?? "",
    headers: req.headers,
    bodyLength,
    remoteAddress: req.socket.remoteAddress ?? "",
  };
}

function wait(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    // A client that gives up (or a mesh timeout that fires) cancels the wait.
    const timer = setTimeout(resolve, ms);
    res.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function echo(info: ServiceInfo, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let bodyLength = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) bodyLength += chunk.length;
  const { pathname } = requestUrl(req);
  const description = describeRequest(info, req, bodyLength);
  const status = STATUS_PATH.exec(pathname);
  if (status) {
    const code = Number(status[1]);
    if (code < 200 || code > 599) throw new HttpError(400, `status must be 200-599, got ${code}`);
    sendJson(res, code, description);
    return;
  }
  const delay = DELAY_PATH.exec(pathname);
  if (delay) {
    const ms = parseDelay(delay[1]!);
    if (ms === undefined || ms > MAX_DELAY_MS) {
      throw new HttpError(400, `delay must be a duration such as 2s or 500ms, at most 60s`);
    }
    await wait(ms, res);
    if (res.destroyed) return;
  }
  sendJson(res, 200, description);
}

// --- the server

export async function startService(name: string, handle?: Handler): Promise<RunningService> {
  const info = serviceInfo(name);
  let draining = false;
  const closers: Array<() => Promise<void>> = [];

  const respond = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    res.once("close", () => {
      const status = res.writableFinished ? String(res.statusCode) : "aborted";
      const ms = Math.round(performance.now() - started);
      console.log(`${req.method} ${req.url} ${status} version=${info.version} ${ms}ms`);
    });
    res.setHeader("x-coffee-pod", info.pod);
    res.setHeader("x-coffee-version", info.version);
    if (draining) res.setHeader("connection", "close");
    try {
      applySetHeaders(req, res);
      if (handle && (await handle(req, res, info))) return;
      await echo(info, req, res);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) console.error(error);
      sendJson(res, status, { ...identity(info, req), error: (error as Error).message });
    }
  };

  const server = createServer((req, res) => void respond(req, res));
  // The sidecar keeps idle connections to the app for up to an hour and reuses them. If the app
  // closed them first (Node's default is after 5 s), a request sent on a connection just as it
  // closes would fail with a 503 that is no one's fault.
  server.keepAliveTimeout = 3_660_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(info.port, info.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  console.log(`${name} ${info.version} listening on http://${info.host}:${info.port}`);

  const shutdown = (signal: string) => {
    if (draining) process.exit(0); // a second signal: stop now
    draining = true;
    console.log(`${signal}: draining`);
    const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const cut = setTimeout(() => {
      server.closeAllConnections();
      setTimeout(() => process.exit(0), 500).unref();
    }, DRAIN_MS);
    cut.unref();
    void Promise.allSettled([httpClosed, ...closers.map((close) => close())]).then(() => {
      clearTimeout(cut);
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  return { info, server, onShutdown: (close) => closers.push(close) };
}
