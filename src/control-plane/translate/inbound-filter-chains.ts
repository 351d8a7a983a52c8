// Inbound filter-chain match options and listener filters, as Istio's filterchain_options.go and
// populateListenerFilters: chains per mTLS mode and protocol, original_dst when captured, and the
// TLS/HTTP inspectors enabled only for the destination ports whose chains need them; plus the
// PeerAuthentication mode of each port and the DownstreamTlsContext of its mTLS chains.
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
import { ISTIO_PEER_EXCHANGE, takesMetadataExchange } from "./metadata-exchange.ts";
import { type MtlsMode, mtlsModeForPort, peerAuthenticationOf } from "./peer-authentication.ts";
import {
  SDS_DEFAULT_RESOURCE,
  SDS_ROOT_RESOURCE,
  SUPPORTED_CIPHERS,
  sdsSecretConfig,
  tlsTransportSocket,
} from "./tls-context.ts";

export type { MtlsMode } from "./peer-authentication.ts";

/**
 * The PeerAuthentication mode for an inbound (workload) port, with Istio's precedence; port 0 is
 * the passthrough. DISABLE while proxies hold no workload certificates
 * (meshConfig.workloadCertificates off): every inbound chain stays plaintext.
 */
export function inboundMtlsMode(ctx: ListenerContext, port: number): MtlsMode {
  if (!ctx.snapshot.meshConfig.workloadCertificates) return "DISABLE";
  return mtlsModeForPort(peerAuthenticationOf(ctx.snapshot, ctx.proxy), port);
}

/**
 * Istio's per-port passthrough chains (authn Builder.ForPassthrough): ports that the workload's
 * PeerAuthentication names in portLevelMtls but no inbound port (service target port or Sidecar
 * ingress port) covers get passthrough chains of their own, with that port's mode.
 */
export function passthroughMtlsPorts(
  ctx: ListenerContext,
  handledPorts: readonly number[],
): number[] {
  if (!ctx.snapshot.meshConfig.workloadCertificates) return [];
  const { perPort } = peerAuthenticationOf(ctx.snapshot, ctx.proxy);
  return [...perPort.keys()].filter((p) => !handledPorts.includes(p)).sort((a, b) => a - b);
}

/**
 * The DownstreamTlsContext istiod builds for inbound Istio mTLS (authn/utils BuildInboundTLS and
 * ApplyToCommonTLSContext): the workload certificate and roots over SDS, a client certificate
 * required from any SPIFFE identity of the mesh's trust domain, Istio's TLS 1.2+ ciphers, and ALPN
 * h2/http/1.1 for HTTP chains (TCP chains also `istio-peer-exchange`, for metadata exchange,
 * where the proxy runs the exchange).
 */
export function inboundMtlsTransportSocket(
  ctx: ListenerContext,
  http: boolean,
): JsonObject | undefined {
  if (!ctx.snapshot.meshConfig.workloadCertificates) return undefined;
  const trustDomain = ctx.snapshot.meshConfig.trustDomain;
  return tlsTransportSocket("DownstreamTlsContext", {
    common_tls_context: {
      tls_params: {
        tls_minimum_protocol_version: "TLSv1_2",
        tls_maximum_protocol_version: "TLSv1_3",
        cipher_suites: [...SUPPORTED_CIPHERS],
      },
      alpn_protocols:
        http || !takesMetadataExchange(ctx.proxy)
          ? ["h2", "http/1.1"]
          : [ISTIO_PEER_EXCHANGE, "h2", "http/1.1"],
      tls_certificate_sds_secret_configs: [sdsSecretConfig(SDS_DEFAULT_RESOURCE)],
      combined_validation_context: {
        default_validation_context: {
          match_subject_alt_names: [{ prefix: `spiffe://${trustDomain}/` }],
        },
        validation_context_sds_secret_config: sdsSecretConfig(SDS_ROOT_RESOURCE),
      },
    },
    require_client_certificate: true,
  });
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
