// Gateway (router) listeners as Istio's gateway.go builds them: servers of every Gateway selecting
// the proxy merged by port; plaintext HTTP → one HCM with RDS `http.<port>`; HTTPS → a chain per
// server matched by SNI, terminating TLS with its credential; TLS PASSTHROUGH → SNI chains from VirtualService
// `tls` routes; AUTO_PASSTHROUGH → SNI-DNAT chains (gateway-auto-passthrough.ts); TCP → tcp_proxy
// from `tcp` routes.
import { hostsOverlap, parseServerHost } from "../../config/analysis/hosts.ts";
import { selectorMatches, stringList, stringMap } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { isHttpProtocol, protocolOf } from "../model/service.ts";
import { buildAuthzNetworkFilters } from "./authz/authz-filters.ts";
import { autoPassthroughChains } from "./gateway-auto-passthrough.ts";
import { buildHttpConnectionManager, hcmFilter } from "./http-connection-manager.ts";
import {
  type ChainOptions,
  compact,
  filterChain,
  type ListenerContext,
  proxyIp,
  socketAddress,
  TLS_INSPECTOR,
  WILDCARD_IPV4,
} from "./listener-common.ts";
import {
  ISTIO_PEER_EXCHANGE,
  metadataExchangeFilters,
  takesMetadataExchange,
} from "./metadata-exchange.ts";
import { type VirtualServiceView, virtualServicesForGateway } from "./route-virtual-services.ts";
import { gatewayServerRouteName } from "./routes-gateway.ts";
import { buildTcpRoutes, buildTlsRoutes } from "./routes-tcp.ts";
import { l4RouteFilters } from "./tcp-proxy.ts";
import { telemetryContext } from "./telemetry-scope.ts";
import {
  credentialSdsSecretConfig,
  exactMatches,
  fileCertificateResource,
  fileRootResource,
  SDS_CA_SUFFIX,
  SDS_DEFAULT_RESOURCE,
  SDS_ROOT_RESOURCE,
  sdsSecretConfig,
  tlsTransportSocket,
} from "./tls-context.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const objects = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

export interface GatewayServer {
  gateway: Resource;
  /** `namespace/name`, as VirtualService `gateways` entries resolve. */
  gatewayName: string;
  server: Obj;
  port: number;
  portName: string;
  protocol: string;
  hosts: string[];
  tlsMode?: string;
}

/** Gateways whose selector matches the proxy's labels, in any namespace (Istio's default). */
export function gatewaysFor(ctx: ListenerContext): Resource[] {
  return ctx.snapshot.config.gateways.filter((g) =>
    selectorMatches(stringMap(g.spec.selector), ctx.proxy.labels),
  );
}

function serversOf(gateway: Resource): GatewayServer[] {
  return objects(gateway.spec.servers).flatMap((server) => {
    const port = isObj(server.port) ? server.port : {};
    if (typeof port.number !== "number") return [];
    const tls = isObj(server.tls) ? server.tls : undefined;
    return [
      {
        gateway,
        gatewayName: `${gateway.namespace}/${gateway.name}`,
        server,
        port: port.number,
        portName: typeof port.name === "string" ? port.name : "",
        protocol: String(port.protocol ?? "").toUpperCase(),
        hosts: stringList(server.hosts),
        ...(tls ? { tlsMode: typeof tls.mode === "string" ? tls.mode : "SIMPLE" } : {}),
      },
    ];
  });
}

const isHttpServer = (s: GatewayServer) => isHttpProtocol(protocolOf({ name: s.protocol }));
const isPassthrough = (s: GatewayServer) =>
  s.tlsMode === "PASSTHROUGH" || s.tlsMode === "AUTO_PASSTHROUGH";
/** Istio's IsHTTPSServerWithTLSTermination. */
const terminatesHttps = (s: GatewayServer) =>
  s.protocol === "HTTPS" && !!s.tlsMode && !isPassthrough(s);

/** Servers by port, Istio's merge rules: HTTP servers share a port; TLS servers share by SNI; TCP alone. */
export function mergeServers(ctx: ListenerContext): Map<number, GatewayServer[]> {
  const byPort = new Map<number, GatewayServer[]>();
  for (const server of gatewaysFor(ctx).flatMap(serversOf)) {
    const existing = byPort.get(server.port);
    if (!existing) {
      byPort.set(server.port, [server]);
      continue;
    }
    const first = existing[0]!;
    if (isHttpServer(server) !== isHttpServer(first)) continue;
    if (!isHttpServer(server) && (!server.tlsMode || !first.tlsMode)) continue;
    existing.push(server);
  }
  return byPort;
}

/** Istio's MergedGateway.ContainsAutoPassthroughGateways: the gateway needs SNI-DNAT clusters. */
export function hasAutoPassthroughServer(ctx: ListenerContext): boolean {
  return [...mergeServers(ctx).values()].some((servers) =>
    servers.some((s) => s.tlsMode === "AUTO_PASSTHROUGH"),
  );
}

/** Istio's gatewayRDSRouteName (shared with the gateway route builder). */
export function gatewayRouteName(server: GatewayServer): string {
  return gatewayServerRouteName(server.gateway, server.server);
}

/** SNI hosts of a TLS server: its hosts without namespace prefixes, deduplicated and sorted. */
export function sniHostsOf(server: GatewayServer): string[] {
  return [
    ...new Set(server.hosts.map((h) => (h.includes("/") ? h.slice(h.indexOf("/") + 1) : h))),
  ].sort();
}

/** Istio's ALPNHttp: what an HTTPS gateway server offers. */
const GATEWAY_HTTPS_ALPN = ["h2", "http/1.1"];

const TLS_PROTOCOL: Readonly<Record<string, string>> = {
  TLSV1_0: "TLSv1_0",
  TLSV1_1: "TLSv1_1",
  TLSV1_2: "TLSv1_2",
  TLSV1_3: "TLSv1_3",
};

/**
 * Istio's buildGatewayListenerTLSContext: the DownstreamTlsContext that terminates TLS for a
 * server. credentialName → the secret over SDS (`kubernetes://<name>`, and `<name>-cacert` to
 * verify clients under MUTUAL); ISTIO_MUTUAL → the workload certificate and mesh roots; otherwise
 * the certificate files the server names. MUTUAL and ISTIO_MUTUAL require a client certificate.
 */
export function gatewayTransportSocket(
  ctx: ListenerContext,
  server: GatewayServer,
): JsonObject | undefined {
  const tls = isObj(server.server.tls) ? server.server.tls : undefined;
  if (!tls || isPassthrough(server)) return undefined;
  const mode = server.tlsMode ?? "SIMPLE";
  const mutual = mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL";
  const subjectAltNames = stringList(tls.subjectAltNames);
  const sanMatch: JsonObject = subjectAltNames.length
    ? { match_subject_alt_names: exactMatches(subjectAltNames) }
    : {};
  const credentialName = typeof tls.credentialName === "string" ? tls.credentialName : "";
  const common: JsonObject = {
    ...(server.protocol === "HTTPS" ? { alpn_protocols: GATEWAY_HTTPS_ALPN } : {}),
    // istiod's ALPNDownstreamWithMxc: a TCP server terminating Istio mTLS takes the exchange.
    ...(server.protocol !== "HTTPS" && mode === "ISTIO_MUTUAL"
      ? {
          alpn_protocols: takesMetadataExchange(ctx.proxy)
            ? [ISTIO_PEER_EXCHANGE, ...GATEWAY_HTTPS_ALPN]
            : GATEWAY_HTTPS_ALPN,
        }
      : {}),
  };
  if (credentialName !== "") {
    common.tls_certificate_sds_secret_configs = [credentialSdsSecretConfig(credentialName)];
    if (mutual)
      common.combined_validation_context = {
        default_validation_context: sanMatch,
        validation_context_sds_secret_config: credentialSdsSecretConfig(
          `${credentialName}${SDS_CA_SUFFIX}`,
        ),
      };
    else if (subjectAltNames.length) common.validation_context = sanMatch;
  } else if (mode === "ISTIO_MUTUAL") {
    common.tls_certificate_sds_secret_configs = [sdsSecretConfig(SDS_DEFAULT_RESOURCE)];
    common.combined_validation_context = {
      default_validation_context: sanMatch,
      validation_context_sds_secret_config: sdsSecretConfig(SDS_ROOT_RESOURCE),
    };
  } else {
    const certificate = typeof tls.serverCertificate === "string" ? tls.serverCertificate : "";
    const privateKey = typeof tls.privateKey === "string" ? tls.privateKey : "";
    const caCertificates = typeof tls.caCertificates === "string" ? tls.caCertificates : "";
    if (certificate && privateKey)
      common.tls_certificate_sds_secret_configs = [
        sdsSecretConfig(fileCertificateResource(certificate, privateKey)),
      ];
    if (caCertificates)
      common.combined_validation_context = {
        default_validation_context: sanMatch,
        validation_context_sds_secret_config: sdsSecretConfig(fileRootResource(caCertificates)),
      };
  }
  const minVersion = TLS_PROTOCOL[String(tls.minProtocolVersion ?? "")];
  const maxVersion = TLS_PROTOCOL[String(tls.maxProtocolVersion ?? "")];
  const ciphers = stringList(tls.cipherSuites);
  if (minVersion || maxVersion || ciphers.length)
    common.tls_params = {
      ...(minVersion ? { tls_minimum_protocol_version: minVersion } : {}),
      ...(maxVersion ? { tls_maximum_protocol_version: maxVersion } : {}),
      ...(ciphers.length ? { cipher_suites: ciphers } : {}),
    };
  return tlsTransportSocket("DownstreamTlsContext", {
    common_tls_context: common,
    require_client_certificate: mutual || mode === "ISTIO_MUTUAL",
  });
}

/** Views of VirtualServices bound to the server's Gateway whose hosts meet the server's (pickMatchingGatewayHosts). */
export function virtualServicesForServer(
  ctx: ListenerContext,
  server: GatewayServer,
): VirtualServiceView[] {
  const serverHosts = server.hosts.map((h) => parseServerHost(h, server.gateway.namespace));
  return virtualServicesForGateway(ctx.snapshot, ctx.proxy.namespace, server.gatewayName).filter(
    (vs) =>
      vs.hosts.some((host) =>
        serverHosts.some(
          (sh) =>
            (sh.namespace === "*" || sh.namespace === vs.namespace) && hostsOverlap(sh.host, host),
        ),
      ),
  );
}

function httpChain(
  ctx: ListenerContext,
  server: GatewayServer,
  bindPort: number,
  tls: boolean,
): ChainOptions {
  const statPrefix =
    tls && typeof server.server.name === "string" && server.server.name
      ? server.server.name
      : `outbound_${WILDCARD_IPV4}_${bindPort};`;
  const hcm = buildHttpConnectionManager(telemetryContext(ctx), {
    class: "gateway",
    statPrefix,
    rds: gatewayRouteName(server),
    useRemoteAddress: true,
    httpProtocolOptions: {},
  });
  const transportSocket = tls ? gatewayTransportSocket(ctx, server) : undefined;
  return {
    ...(tls ? { sniHosts: sniHostsOf(server) } : {}),
    filters: [hcmFilter(hcm)],
    ...(transportSocket ? { transportSocket } : {}),
  };
}

function tcpChains(
  ctx: ListenerContext,
  server: GatewayServer,
  sniSeen: Set<string>,
): ChainOptions[] {
  if (server.tlsMode === "AUTO_PASSTHROUGH") {
    // Envoy rejects duplicate SNI matches: a service two such servers cover gets one chain.
    const chains = autoPassthroughChains(ctx, sniHostsOf(server));
    const fresh = chains.filter((c) => !c.sniHosts?.some((h) => sniSeen.has(h)));
    for (const c of fresh) for (const h of c.sniHosts ?? []) sniSeen.add(h);
    return fresh;
  }
  const l4 = { ...ctx, gateways: new Set([server.gatewayName]) };
  const views = virtualServicesForServer(ctx, server);
  if (server.tlsMode === "PASSTHROUGH") {
    const out: ChainOptions[] = [];
    for (const view of views) {
      for (const route of buildTlsRoutes(view, server.port, l4)) {
        const sni = route.match.sniHosts;
        if (sni.some((h) => sniSeen.has(h))) continue; // Envoy rejects duplicate SNI matches.
        for (const h of sni) sniSeen.add(h);
        out.push({ sniHosts: sni, filters: l4RouteFilters(ctx, route) });
      }
    }
    return out;
  }
  for (const view of views) {
    const route = buildTcpRoutes(view, server.port, l4)[0];
    if (!route) continue;
    const transportSocket = server.tlsMode ? gatewayTransportSocket(ctx, server) : undefined;
    return [
      {
        ...(server.tlsMode ? { sniHosts: sniHostsOf(server) } : {}),
        filters: l4RouteFilters(ctx, route),
        ...(transportSocket ? { transportSocket } : {}),
      },
    ];
  }
  return [];
}

/** Istio puts the network RBAC filters (authz/) in front of every TCP chain of a gateway. */
function withNetworkAuthz(ctx: ListenerContext, chains: ChainOptions[]): ChainOptions[] {
  const authz = buildAuthzNetworkFilters(ctx);
  return authz.length ? chains.map((c) => ({ ...c, filters: [...authz, ...c.filters] })) : chains;
}

/** istiod's includeMx: a TCP server terminating ISTIO_MUTUAL reads the client's exchange first. */
function withMetadataExchange(
  ctx: ListenerContext,
  server: GatewayServer,
  chains: ChainOptions[],
): ChainOptions[] {
  if (server.tlsMode !== "ISTIO_MUTUAL") return chains;
  const exchange = metadataExchangeFilters(ctx.proxy);
  return exchange.length
    ? chains.map((c) => ({ ...c, filters: [...exchange, ...c.filters] }))
    : chains;
}

/** The port a gateway listener binds: the server port, or the local runtime's remapped one. */
export function gatewayBindPort(ctx: ListenerContext, serverPort: number): number {
  return ctx.mode === "local"
    ? (ctx.snapshot.meshConfig.ingressGatewayPorts?.[serverPort] ?? serverPort)
    : serverPort;
}

/** Every listener of a gateway proxy: one `0.0.0.0_<port>` per merged server port. */
export function buildGatewayListeners(ctx: ListenerContext): JsonObject[] {
  const listeners: JsonObject[] = [];
  for (const [port, servers] of mergeServers(ctx)) {
    const bindPort = gatewayBindPort(ctx, port);
    const first = servers[0]!;
    const sniSeen = new Set<string>();
    const chains: ChainOptions[] = isHttpServer(first)
      ? [httpChain(ctx, first, bindPort, false)]
      : servers.flatMap((s) =>
          terminatesHttps(s)
            ? [httpChain(ctx, s, bindPort, true)]
            : withMetadataExchange(ctx, s, withNetworkAuthz(ctx, tcpChains(ctx, s, sniSeen))),
        );
    if (chains.length === 0) continue; // Istio omits listeners without chains (no bound TCP/TLS routes).
    const needTls = chains.some((c) => (c.sniHosts?.length ?? 0) > 0);
    listeners.push(
      compact({
        name: `${WILDCARD_IPV4}_${bindPort}`,
        // Locally every pod owns a loopback address; the runtime forwards the host port to it.
        address: socketAddress(
          ctx.mode === "local" ? proxyIp(ctx.proxy.ips) : WILDCARD_IPV4,
          bindPort,
        ),
        filter_chains: chains.map((c) => filterChain(c)),
        listener_filters: needTls ? [TLS_INSPECTOR] : undefined,
        listener_filters_timeout: "0s",
        traffic_direction: "OUTBOUND",
      }),
    );
  }
  return listeners;
}
