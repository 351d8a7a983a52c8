// Gateway (router) listeners as Istio's gateway.go builds them: servers of every Gateway selecting
// the proxy merged by port; plaintext HTTP → one HCM with RDS `http.<port>`; HTTPS → a chain per
// server matched by SNI (TLS context is a seam); TLS PASSTHROUGH → SNI chains from VirtualService
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
import { type VirtualServiceView, virtualServicesForGateway } from "./route-virtual-services.ts";
import { gatewayServerRouteName } from "./routes-gateway.ts";
import { buildTcpRoutes, buildTlsRoutes } from "./routes-tcp.ts";
import { l4RouteFilters } from "./tcp-proxy.ts";

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

/**
 * SEAM (security): the DownstreamTlsContext transport socket terminating TLS for a server
 * (credentialName via SDS, certificate files, or ISTIO_MUTUAL). Returns undefined until gateway TLS
 * lands, so HTTPS chains are produced with their SNI match but without termination.
 */
export function gatewayTransportSocket(
  _ctx: ListenerContext,
  _server: GatewayServer,
): JsonObject | undefined {
  return undefined;
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
  const hcm = buildHttpConnectionManager(
    { meshConfig: ctx.snapshot.meshConfig, proxy: ctx.proxy, snapshot: ctx.snapshot },
    {
      class: "gateway",
      statPrefix,
      rds: gatewayRouteName(server),
      useRemoteAddress: true,
      httpProtocolOptions: {},
    },
  );
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
            : withNetworkAuthz(ctx, tcpChains(ctx, s, sniSeen)),
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
