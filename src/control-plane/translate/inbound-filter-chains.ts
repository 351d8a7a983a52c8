// Inbound filter-chain match options and listener filters, as Istio's filterchain_options.go and
// populateListenerFilters: chains per mTLS mode and protocol, original_dst when captured, and the
// TLS/HTTP inspectors enabled only for the destination ports whose chains need them.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { Protocol } from "../model/service.ts";
import {
  type ChainOptions,
  destinationPortsPredicate,
  HTTP_INSPECTOR,
  type ListenerContext,
  ORIGINAL_DST,
  PLAINTEXT_HTTP_ALPNS,
  RAW_BUFFER,
  TLS_INSPECTOR,
  TLS_TRANSPORT,
} from "./listener-common.ts";
import { listenerProtocol } from "./listeners-outbound.ts";

export type MtlsMode = "DISABLE" | "PERMISSIVE" | "STRICT";

/**
 * SEAM (security): the PeerAuthentication mode for an inbound port. Until workload certificates and
 * SDS exist every port is plaintext (DISABLE); the security work returns PERMISSIVE by default.
 */
export function inboundMtlsMode(_ctx: ListenerContext, _port: number): MtlsMode {
  return "DISABLE";
}

/** SEAM (security): the DownstreamTlsContext transport socket for Istio mTLS chains. */
export function inboundMtlsTransportSocket(
  _ctx: ListenerContext,
  _http: boolean,
): JsonObject | undefined {
  return undefined;
}

export interface MatchOption {
  http: boolean;
  applicationProtocols?: readonly string[];
  transportProtocol: string;
  tls?: boolean;
}

const MTLS_HTTP_ALPNS = ["istio-http/1.0", "istio-http/1.1", "istio-h2"];
/** Every ALPN an Istio mTLS client offers (Istio's allIstioMtlsALPNs). */
export const ALL_ISTIO_ALPNS = ["istio", "istio-peer-exchange", ...MTLS_HTTP_ALPNS];

/** Istio's getFilterChainMatchOptions (filterchain_options.go), by mTLS mode and listener protocol. */
export function matchOptions(mode: MtlsMode, protocol: Protocol): MatchOption[] {
  const lp = listenerProtocol(protocol);
  const plain = (http: boolean, alpn?: readonly string[]): MatchOption => ({
    http,
    transportProtocol: RAW_BUFFER,
    ...(alpn ? { applicationProtocols: alpn } : {}),
  });
  const tls = (http: boolean, alpn?: readonly string[], terminate = true): MatchOption => ({
    http,
    transportProtocol: TLS_TRANSPORT,
    ...(alpn ? { applicationProtocols: alpn } : {}),
    ...(terminate ? { tls: true } : {}),
  });
  if (lp === "HTTP") {
    if (mode === "STRICT") return [tls(true)];
    return mode === "PERMISSIVE" ? [tls(true, ALL_ISTIO_ALPNS), plain(true)] : [plain(true)];
  }
  if (lp === "AUTO") {
    if (mode === "STRICT") return [tls(true, MTLS_HTTP_ALPNS), tls(false)];
    if (mode === "PERMISSIVE")
      return [
        tls(true, MTLS_HTTP_ALPNS),
        plain(true, PLAINTEXT_HTTP_ALPNS),
        tls(false, ["istio-peer-exchange", "istio"]),
        plain(false),
        tls(false, undefined, false),
      ];
    return [plain(true, PLAINTEXT_HTTP_ALPNS), plain(false)];
  }
  if (mode === "STRICT") return [tls(false)];
  return mode === "PERMISSIVE"
    ? [tls(false, ALL_ISTIO_ALPNS), plain(false), tls(false, undefined, false)]
    : [plain(false)];
}

/** Istio's populateListenerFilters: original_dst when captured, inspectors only where chains need them. */
export function inboundListenerFilters(
  chains: readonly ChainOptions[],
  bindToPort: boolean,
): JsonObject[] {
  const filters: JsonObject[] = bindToPort ? [] : [ORIGINAL_DST];
  const needs = new Map<number, { tls: boolean; http: boolean }>();
  for (const chain of chains) {
    const port = chain.destinationPort ?? 0;
    const seen = needs.get(port) ?? { tls: false, http: false };
    seen.tls ||= chain.transportProtocol === TLS_TRANSPORT;
    seen.http ||= (chain.applicationProtocols ?? []).some((p) => p === "http/1.1" || p === "h2c");
    needs.set(port, seen);
  }
  const ports = (pick: (n: { tls: boolean; http: boolean }, port: number) => boolean) =>
    [...needs]
      .filter(([port, n]) => pick(n, port))
      .map(([port]) => port)
      .sort((a, b) => a - b);
  if ([...needs.values()].some((n) => n.tls)) {
    const byDefault = needs.get(0)?.tls ?? false;
    const listed = ports((n, p) => p !== 0 && n.tls !== byDefault);
    if (!listed.length) filters.push(TLS_INSPECTOR);
    else if (byDefault)
      filters.push({ ...TLS_INSPECTOR, filter_disabled: destinationPortsPredicate(listed) });
    else
      filters.push({
        ...TLS_INSPECTOR,
        filter_disabled: { not_match: destinationPortsPredicate(listed) },
      });
  }
  if ([...needs.values()].some((n) => n.http)) {
    const disabled = ports((n) => !n.http);
    filters.push(
      disabled.length
        ? { ...HTTP_INSPECTOR, filter_disabled: destinationPortsPredicate(disabled) }
        : HTTP_INSPECTOR,
    );
  }
  return filters;
}
