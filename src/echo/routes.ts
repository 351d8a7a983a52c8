// Maps a request target (path and query) to an echo endpoint and checks the numbers in it.

import { parseDuration } from "../base/duration.ts";
import { nodeHttp } from "../base/node-http.ts";

const { validateHeaderName, validateHeaderValue } = nodeHttp;

export const LIMITS = {
  maxDelayMs: 60_000,
  maxBytes: 100 * 1024 * 1024,
  maxStreamLines: 10_000,
} as const;

export type Route =
  | { kind: "echo" }
  | { kind: "delay"; ms: number }
  | { kind: "bytes"; count: number }
  | { kind: "stream"; count: number }
  | { kind: "headers" }
  | { kind: "ip" }
  | { kind: "ws" };

export interface Target {
  path: string;
  /** Undefined when the target has no query string, which keeps the common case cheap. */
  query: URLSearchParams | undefined;
  route: Route;
  /** Status to answer with, from /status/{code} or ?status=. */
  status: number | undefined;
  /** Extra response headers from ?set-header=name:value. */
  setHeaders: Array<[string, string]>;
}

export type TargetParse = { ok: true; target: Target } | { ok: false; message: string };

/** Hop-by-hop and framing headers: they describe one connection or message, not the content. */
const FRAMING_HEADERS = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "http2-settings",
  "content-length",
];

/** Headers never copied from a request to a response. */
export const UNCOPIED_HEADERS: ReadonlySet<string> = new Set([
  ...FRAMING_HEADERS,
  "proxy-authenticate",
  "proxy-authorization",
  "content-encoding",
  "content-type",
  "x-crema-pod",
]);

/** Headers ?set-header may not set: they would break the framing of the answer. */
const UNSETTABLE_HEADERS: ReadonlySet<string> = new Set(FRAMING_HEADERS);

const ECHO: Route = { kind: "echo" };
const DIGITS = /^\d{1,12}$/;

function fail(message: string): TargetParse {
  return { ok: false, message };
}

function wholeNumber(text: string, what: string, max: number): number | string {
  if (!DIGITS.test(text)) return `${what} must be a whole number, got '${text}'`;
  const value = Number(text);
  if (value > max) return `${what} must be at most ${max}, got ${text}`;
  return value;
}

function statusCode(text: string): number | string {
  if (!/^\d{3}$/.test(text) || Number(text) < 200 || Number(text) > 599) {
    return `status must be a code from 200 to 599, got '${text}'`;
  }
  return Number(text);
}

function delayMs(text: string): number | string {
  const parsed = DIGITS.test(text) ? { ok: true as const, ms: Number(text) } : parseDuration(text);
  if (!parsed.ok || parsed.ms < 0) {
    return `delay must be milliseconds or a duration such as '250ms', got '${text}'`;
  }
  if (parsed.ms > LIMITS.maxDelayMs) {
    return `delay must be at most ${LIMITS.maxDelayMs} ms, got '${text}'`;
  }
  return parsed.ms;
}

/** /status/{code} is the echo endpoint with a chosen status. */
type PathRoute = Route | { kind: "status-path"; code: number };

function routeOf(path: string): PathRoute | string {
  if (path === "/") return ECHO;
  if (path === "/headers") return { kind: "headers" };
  if (path === "/ip") return { kind: "ip" };
  if (path === "/ws") return { kind: "ws" };
  const second = path.indexOf("/", 1);
  if (second < 0) return ECHO;
  const head = path.slice(0, second);
  if (head !== "/status" && head !== "/delay" && head !== "/bytes" && head !== "/stream") {
    return ECHO;
  }
  const arg = path.slice(second + 1);
  if (arg === "" || arg.includes("/")) return `expected ${head}/{number}, got '${path}'`;
  switch (head) {
    case "/status": {
      const code = statusCode(arg);
      return typeof code === "string" ? code : { kind: "status-path", code };
    }
    case "/delay": {
      const ms = delayMs(arg);
      return typeof ms === "string" ? ms : { kind: "delay", ms };
    }
    case "/bytes": {
      const count = wholeNumber(arg, "byte count", LIMITS.maxBytes);
      return typeof count === "string" ? count : { kind: "bytes", count };
    }
    default: {
      const count = wholeNumber(arg, "line count", LIMITS.maxStreamLines);
      return typeof count === "string" ? count : { kind: "stream", count };
    }
  }
}

function headerToSet(spec: string): [string, string] | string {
  const colon = spec.indexOf(":");
  const name = colon < 0 ? "" : spec.slice(0, colon).trim().toLowerCase();
  const value = spec.slice(colon + 1).trim();
  if (name === "") return `set-header must be name:value, got '${spec}'`;
  if (UNSETTABLE_HEADERS.has(name)) return `set-header may not set '${name}'`;
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
  } catch {
    return `set-header '${spec}' is not a valid header`;
  }
  return [name, value];
}

/** Splits and checks a request target such as "/bytes/10?status=206". */
export function parseTarget(url: string): TargetParse {
  let target = url;
  if (!target.startsWith("/")) {
    if (target === "*") return { ok: true, target: plain("*", undefined, ECHO) };
    try {
      const absolute = new URL(target);
      target = absolute.pathname + absolute.search;
    } catch {
      return fail(`'${url}' is not a request target`);
    }
  }
  const mark = target.indexOf("?");
  const path = mark < 0 ? target : target.slice(0, mark);
  const query = mark < 0 ? undefined : new URLSearchParams(target.slice(mark + 1));
  const route = routeOf(path);
  if (typeof route === "string") return fail(route);
  const parsed = plain(path, query, route.kind === "status-path" ? ECHO : route);
  if (route.kind === "status-path") parsed.status = route.code;
  if (query === undefined) return { ok: true, target: parsed };
  const status = query.get("status");
  if (status !== null && parsed.status === undefined) {
    const code = statusCode(status);
    if (typeof code === "string") return fail(code);
    parsed.status = code;
  }
  for (const spec of query.getAll("set-header")) {
    const header = headerToSet(spec);
    if (typeof header === "string") return fail(header);
    parsed.setHeaders.push(header);
  }
  return { ok: true, target: parsed };
}

function plain(path: string, query: URLSearchParams | undefined, route: Route): Target {
  return { path, query, route, status: undefined, setHeaders: [] };
}

/** The query as a plain object; a repeated name becomes an array. */
export function queryObject(query: URLSearchParams | undefined): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (query === undefined) return out;
  for (const [name, value] of query) {
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [seen, value];
  }
  return out;
}

/** Statuses whose responses never carry a body. */
export function statusForbidsBody(status: number): boolean {
  return status === 204 || status === 304 || status < 200;
}
