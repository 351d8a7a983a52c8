// The JSON description of a request that the echo endpoints answer with.
import type { IncomingHttpHeaders } from "node:http";
import type { ConnectionInfo } from "./connections.ts";
import type { EchoIdentity } from "./options.ts";
import { queryObject, type Target } from "./routes.ts";

export interface RequestDescription {
  pod: string;
  namespace: string;
  version: string;
  serviceAccount: string;
  labels: Readonly<Record<string, string>>;
  protocol: string;
  method: string;
  host: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[]>;
  bodyLength: number;
  remoteAddress: string;
  remotePort: number;
  tls: boolean;
  peerCertificateUriSan: string | null;
}

/** The parts of an HTTP/1.1 or HTTP/2 (compatibility API) request the description needs. */
export interface RequestFacts {
  method?: string | undefined;
  httpVersionMajor: number;
  httpVersion: string;
  headers: IncomingHttpHeaders;
}

/** Request headers without HTTP/2 pseudo-headers (which appear as method, host and path). */
export function plainHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ":" */) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

export function protocolOf(request: RequestFacts): string {
  return request.httpVersionMajor === 2 ? "HTTP/2" : `HTTP/${request.httpVersion}`;
}

export function describeRequest(
  identity: EchoIdentity,
  request: RequestFacts,
  target: Target,
  connection: ConnectionInfo,
  bodyLength: number,
): RequestDescription {
  const headers = request.headers;
  const authority = headers[":authority"];
  return {
    pod: identity.pod,
    namespace: identity.namespace,
    version: identity.version,
    serviceAccount: identity.serviceAccount,
    labels: identity.labels,
    protocol: protocolOf(request),
    method: request.method ?? "",
    host: (typeof authority === "string" ? authority : headers.host) ?? "",
    path: target.path,
    query: queryObject(target.query),
    headers: plainHeaders(headers),
    bodyLength,
    remoteAddress: connection.remoteAddress,
    remotePort: connection.remotePort,
    tls: connection.tls,
    peerCertificateUriSan: connection.peerCertificateUriSan,
  };
}
