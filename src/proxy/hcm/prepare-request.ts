// The HCM's first step for each request (HTTP/1.1, HTTP/2 or an upgrade): the request's facts as
// routing sees them — absolute-form URLs, header count, path normalisation, the HCM's request
// header mutations — or the local reply that rejects it.
import type { IncomingMessage } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import { isGrpcContentType, RESPONSE_CODE_DETAILS } from "../http/local-reply.ts";
import { normalizeRequestPath } from "../http/path-normalization.ts";
import type { HcmConfig } from "../listener/types.ts";
import type { MutableHeaders, RouteRequest } from "../routing/types.ts";
import type { ConnectionState } from "./hcm-types.ts";
import { firstValue, forwardableRequestHeaders } from "./headers.ts";
import { mutateRequestHeaders } from "./mutate-request-headers.ts";

export type AnyRequest = IncomingMessage | Http2ServerRequest;

export type PreparedRequest =
  | { ok: true; route: RouteRequest; headers: MutableHeaders; grpc: boolean; clientIp: string }
  | { ok: false; status: number; details: string; location?: string };

/** The request's facts as routing sees them, or a reason to reject it. */
export function prepareRequest(
  config: HcmConfig,
  req: AnyRequest,
  http2: boolean,
  state: ConnectionState | undefined,
): PreparedRequest {
  const headers = forwardableRequestHeaders(req.headers);
  const method = req.method ?? "GET";
  let path = (http2 ? (req.headers[":path"] as string | undefined) : req.url) ?? "";
  let authority =
    state?.tunnelAuthority ??
    (http2 ? (req.headers[":authority"] as string | undefined) : undefined) ??
    req.headers.host ??
    "";
  if (!http2 && path !== "" && path[0] !== "/" && path !== "*") {
    // Absolute form (a client using us as its HTTP proxy).
    try {
      const url = new URL(path);
      if (config.allowAbsoluteUrl && state?.tunnelAuthority === undefined) authority = url.host;
      path = `${url.pathname}${url.search}`;
    } catch {
      return { ok: false, status: 400, details: "absolute_path_rejected" };
    }
  }
  if ((req.rawHeaders?.length ?? 0) / 2 > config.maxHeadersCount) {
    return { ok: false, status: 431, details: "too_many_headers" };
  }
  const normalized = normalizeRequestPath(path, config);
  if (normalized.action === "reject") {
    return { ok: false, status: 400, details: RESPONSE_CODE_DETAILS.pathNormalizationFailed };
  }
  if (normalized.action === "redirect") {
    return {
      ok: false,
      status: 307,
      details: "path_normalization_redirect",
      location: normalized.path,
    };
  }
  path = normalized.path;
  const remoteIp = state?.info.sourceIp ?? req.socket?.remoteAddress ?? "";
  const tls = state?.info.tls;
  // Envoy's scheme for a request on a TLS connection is https.
  const scheme = tls ? "https" : "http";
  const { clientIp } = mutateRequestHeaders(config, {
    headers,
    remoteIp,
    scheme,
    protocol: http2 ? "2" : "1.1",
    tls,
  });
  const grpc = isGrpcContentType(firstValue(headers["content-type"]));
  return {
    ok: true,
    route: { authority, path, method, scheme, headers, sourceIp: clientIp },
    headers,
    grpc,
    clientIp,
  };
}
