// The parts of a stream's StreamInfo the HCM fills from its connection and, at the end, from the
// request: addresses, SNI and certificates; the request's headers with their pseudo-headers; the
// duration; the bytes on the downstream connection.
import type { X509Certificate } from "node:crypto";
import type { StreamHeaders, StreamInfo } from "../http/stream-info.ts";
import type { ConnectionInfo } from "../listener/types.ts";
import type { RouteRequest } from "../routing/types.ts";
import type { AnyRequest } from "./prepare-request.ts";

const uriSans = new WeakMap<X509Certificate, string | undefined>();

/** The certificate's first URI SAN (a SPIFFE id), computed once per certificate. */
function firstUriSan(certificate: X509Certificate | undefined): string | undefined {
  if (!certificate) return undefined;
  if (uriSans.has(certificate)) return uriSans.get(certificate);
  const san = certificate.subjectAltName
    ?.split(", ")
    .find((entry) => entry.startsWith("URI:"))
    ?.slice(4);
  uriSans.set(certificate, san);
  return san;
}

/** What the accepted connection says of every stream on it. */
export function connectionStreamFields(connection: ConnectionInfo | undefined) {
  const local = connection ? `${connection.destinationIp}:${connection.destinationPort}` : "";
  const remote = connection ? `${connection.sourceIp}:${connection.sourcePort}` : "";
  const direct = connection?.directSourceIp
    ? `${connection.directSourceIp}:${connection.sourcePort}`
    : remote;
  const tls = connection?.tls;
  return {
    downstreamLocalAddress: local,
    downstreamRemoteAddress: remote,
    downstreamDirectRemoteAddress: direct,
    requestedServerName: connection?.serverName || undefined,
    downstreamPeerUriSan: tls?.uriSans[0],
    downstreamLocalUriSan: firstUriSan(tls?.localCertificate),
  };
}

/**
 * What a head of these headers takes on the wire as HTTP/1.1 text (`name: value\r\n` each, and
 * the blank line); HTTP/2's HPACK is smaller, which crema does not model.
 */
function headBytes(headers: StreamHeaders | undefined, firstLine: number): number {
  let bytes = firstLine + 2;
  for (const name in headers) {
    if (name.startsWith(":")) continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === "string") bytes += name.length + value.length + 4;
    else for (const v of value) bytes += name.length + v.length + 4;
  }
  return bytes;
}

/**
 * The request headers with `:method`, `:path`, `:authority` and `:scheme` — the path, authority
 * and scheme as routed (normalised, as Envoy rewrites :path in place; an absolute-form request
 * names its authority in its target). A request refused before routing has its headers as sent.
 */
function requestHeaders(req: AnyRequest, route: RouteRequest | undefined): StreamHeaders {
  // As Envoy logs its request header map after the HCM changed it (a generated x-request-id,
  // x-forwarded-for, edge x-envoy-* removed): the headers as routed, once the request was taken.
  if (route) {
    return {
      ...route.headers,
      ":method": route.method,
      ":path": route.path,
      ":authority": route.authority,
      ":scheme": route.scheme,
    };
  }
  // HTTP/2 requests carry their pseudo-headers already.
  if ("stream" in req) return req.headers as StreamHeaders;
  return {
    ...req.headers,
    ":method": req.method,
    ":path": req.url,
    ":authority": req.headers.host,
  };
}

/** Completes a stream's record once its response is over (or the stream was reset). */
export function finishStreamInfo(
  info: StreamInfo,
  req: AnyRequest,
  startedAt: number,
  route: RouteRequest | undefined,
): void {
  info.durationMs = performance.now() - startedAt;
  info.requestHeaders = requestHeaders(req, route);
  const method = String(info.requestHeaders[":method"] ?? "");
  const path = String(info.requestHeaders[":path"] ?? "");
  // "GET /path HTTP/1.1\r\n" and "HTTP/1.1 200 OK\r\n" (reason phrases vary; 2 characters).
  info.wireBytesReceived =
    info.bytesReceived + headBytes(info.requestHeaders, method.length + path.length + 10);
  info.wireBytesSent =
    info.responseCode === 0 ? info.bytesSent : info.bytesSent + headBytes(info.responseHeaders, 15);
}
