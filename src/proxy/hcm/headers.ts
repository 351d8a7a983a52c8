// Header hygiene at the HTTP connection manager's edges: what never crosses a hop (connection-
// specific headers), what the router consumes, and the conversions between node's header objects
// and crema's lowercase maps.
import type { IncomingHttpHeaders } from "node:http";
import type { MutableHeaders } from "../routing/types.ts";
import type { WireHeaders } from "./upstream-types.ts";

/** Connection-specific headers (RFC 9110 §7.6.1) that a proxy never forwards, plus HTTP/2's own. */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "te",
]);

function connectionListed(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  const joined = Array.isArray(value) ? value.join(",") : value;
  return joined
    .split(",")
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== "" && v !== "close" && v !== "keep-alive");
}

/**
 * The request headers to route on and forward: lowercase, without pseudo headers, `host`, hop-by-
 * hop headers or headers the Connection header lists. `te: trailers` survives (gRPC needs it).
 */
export function forwardableRequestHeaders(headers: IncomingHttpHeaders): MutableHeaders {
  const out: MutableHeaders = {};
  const listed = connectionListed(headers.connection);
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */ || name === "host") continue;
    if (HOP_BY_HOP.has(name)) {
      if (name === "te" && String(headers.te).toLowerCase() === "trailers") out.te = "trailers";
      continue;
    }
    if (listed.length > 0 && listed.includes(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** Response headers from upstream, made fit for the downstream codec. */
export function forwardableResponseHeaders(headers: WireHeaders): MutableHeaders {
  const out: MutableHeaders = {};
  const listed = connectionListed(headers.connection);
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || name.charCodeAt(0) === 58) continue;
    if (listed.length > 0 && listed.includes(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

export function firstValue(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === "string" ? value : value?.[0];
}
