// What Envoy's HTTP connection manager does to every request before routing
// (ConnectionManagerUtility::mutateRequestHeaders): x-forwarded-for / -proto, internal-request
// detection, cleaning x-envoy-* headers from external requests, x-request-id, XFCC, via.
import { randomUUID } from "node:crypto";
import { isIP } from "node:net";
import type { DownstreamTlsInfo, HcmConfig } from "../listener/types.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { mutateForwardedClientCert } from "./forward-client-cert.ts";
import { firstValue } from "./headers.ts";

/** Headers Envoy trusts only from internal requests; stripped from external ones at the edge. */
const INTERNAL_ONLY = [
  "x-envoy-decorator-operation",
  "x-envoy-downstream-service-cluster",
  "x-envoy-downstream-service-node",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-external-address",
  "x-envoy-force-trace",
  "x-envoy-hedge-on-per-try-timeout",
  "x-envoy-internal",
  "x-envoy-ip-tags",
  "x-envoy-max-retries",
  "x-envoy-retriable-header-names",
  "x-envoy-retriable-status-codes",
  "x-envoy-retry-grpc-on",
  "x-envoy-retry-on",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-upstream-rq-timeout-ms",
] as const;

/** Envoy's default internal address check: RFC 1918, loopback, and IPv6 unique-local. */
export function isInternalAddress(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  if (isIP(v4) === 4) {
    const [a, b] = v4.split(".").map(Number) as [number, number];
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
  }
  if (isIP(ip) === 6) return ip === "::1" || /^f[cd]/i.test(ip);
  return false;
}

export interface RequestMutationInput {
  headers: MutableHeaders;
  /** The downstream peer's IP. */
  remoteIp: string;
  /** "http" or "https" (TLS on the downstream connection). */
  scheme: string;
  /** "1.1" or "2", for `via`. */
  protocol: string;
  /** The downstream TLS session, when the connection is TLS-terminated (XFCC). */
  tls?: DownstreamTlsInfo | undefined;
}

export interface RequestMutationResult {
  /** Whether Envoy considers the request internal (x-envoy-internal semantics). */
  internal: boolean;
  /** The trusted client address (what x-envoy-external-address / source IP policies see). */
  clientIp: string;
}

function xffEntries(headers: MutableHeaders): string[] {
  const xff = headers["x-forwarded-for"];
  if (xff === undefined) return [];
  const joined = Array.isArray(xff) ? xff.join(",") : xff;
  return joined
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

export function mutateRequestHeaders(
  config: HcmConfig,
  input: RequestMutationInput,
): RequestMutationResult {
  const { headers } = input;
  let internal: boolean;
  let clientIp = input.remoteIp;
  if (config.useRemoteAddress) {
    // The edge: the connection's peer is the client, unless trusted hops say otherwise.
    const entries = xffEntries(headers);
    if (config.xffNumTrustedHops > 0 && entries.length >= config.xffNumTrustedHops) {
      clientIp = entries[entries.length - config.xffNumTrustedHops] ?? clientIp;
    }
    if (!config.skipXffAppend) {
      const existing = firstValue(headers["x-forwarded-for"]);
      headers["x-forwarded-for"] = existing ? `${existing},${input.remoteIp}` : input.remoteIp;
    }
    headers["x-forwarded-proto"] = input.scheme;
    // Envoy: internal only when the request came with no x-forwarded-for at all.
    internal = entries.length === 0 && isInternalAddress(clientIp);
    if (!internal) {
      for (const name of INTERNAL_ONLY) delete headers[name];
      headers["x-envoy-external-address"] = clientIp;
    } else headers["x-envoy-internal"] = "true";
  } else {
    // Behind another proxy: trust what it says; internal when XFF names exactly one internal
    // address (Envoy's rule), and the peer is the client when there is no XFF.
    const entries = xffEntries(headers);
    internal = entries.length === 1 && isInternalAddress(entries[0]!);
    if (entries.length > 0) clientIp = entries[entries.length - 1] ?? clientIp;
    if (headers["x-forwarded-proto"] === undefined) headers["x-forwarded-proto"] = input.scheme;
  }
  mutateForwardedClientCert(config, headers, input.tls);
  const requestId = firstValue(headers["x-request-id"]);
  const regenerate =
    requestId === undefined ||
    requestId === "" ||
    (config.useRemoteAddress && !internal && !config.preserveExternalRequestId);
  if (config.generateRequestId && regenerate) headers["x-request-id"] = randomUUID();
  if (config.via) {
    const via = firstValue(headers.via);
    headers.via = via ? `${via}, ${config.via}` : config.via;
  }
  return { internal, clientIp };
}
