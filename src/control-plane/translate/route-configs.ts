// A sidecar's outbound RouteConfigurations: one per HTTP service port (named by port, Istio's
// RDS names), each ending with the catch-all virtual host of the outbound traffic policy; and the
// local runtime's "15001" configuration for the HTTP-proxy listener (absolute-form and CONNECT);
// and the per-listener configurations of proxyless gRPC clients.
import {
  buildClusterName,
  buildRouteConfigName,
  PASSTHROUGH_CLUSTER,
  parseClusterName,
} from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { isHttpProtocol } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { buildConnectVirtualHosts, connectRoute } from "./route-connect.ts";
import { domainName, hasPort } from "./route-domains.ts";
import { type VirtualServiceView, viewOf } from "./route-virtual-services.ts";
import { type EgressListenerScope, type SidecarScope, scopeFor } from "./sidecar-scope.ts";
import { buildSidecarVirtualHosts, isHttpOrSniffed } from "./virtual-hosts.ts";

/** Istio raises Envoy's 4 KiB limit on direct response bodies to the 1 MiB its validation allows. */
export const MAX_DIRECT_RESPONSE_BODY_BYTES = 1024 * 1024;
export const LOCAL_OUTBOUND_ROUTE_CONFIG = "15001";

type OutboundPolicy = SidecarScope["outboundTrafficPolicy"];

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Istio's buildCatchAllVirtualHost: `allow_any` → PassthroughCluster, or `block_all` → 502. */
export function buildCatchAllVirtualHost(policy: OutboundPolicy, connect = false): JsonObject {
  if (policy.mode === "ALLOW_ANY") {
    const proxy = policy.egressProxy;
    const cluster = proxy
      ? buildClusterName({
          direction: "outbound",
          port: proxy.port ?? 0,
          subset: proxy.subset ?? "",
          host: proxy.host,
        })
      : PASSTHROUGH_CLUSTER;
    const http = {
      name: "allow_any",
      match: { prefix: "/" },
      route: { cluster, timeout: "0s", max_grpc_timeout: "0s" },
    };
    return {
      name: "allow_any",
      domains: ["*"],
      routes: connect ? [connectRoute({ cluster }, "allow_any"), http] : [http],
      include_request_attempt_count: true,
    };
  }
  const block = (match: JsonObject) => ({
    name: "block_all",
    match,
    direct_response: { status: 502 },
  });
  return {
    name: "block_all",
    domains: ["*"],
    routes: connect
      ? [block({ connect_matcher: {} }), block({ prefix: "/" })]
      : [block({ prefix: "/" })],
    include_request_attempt_count: true,
  };
}

function routeConfiguration(
  name: string,
  virtualHosts: JsonObject[],
  ignorePort: boolean,
): JsonObject {
  return {
    name,
    virtual_hosts: virtualHosts,
    validate_clusters: false,
    max_direct_response_body_size_bytes: MAX_DIRECT_RESPONSE_BODY_BYTES,
    ...(ignorePort ? { ignore_port_in_host_matching: true } : {}),
  };
}

function hasWildcardDomain(virtualHosts: readonly JsonObject[]): boolean {
  return virtualHosts.some((vh) => Array.isArray(vh.domains) && vh.domains.includes("*"));
}

/** The egress listener Istio's GetEgressListenerForRDS picks: the port's own, else the catch-all one. */
function egressListenerFor(scope: SidecarScope, port: number): EgressListenerScope | undefined {
  return (
    scope.egressListeners.find((l) => l.port?.number === port) ??
    scope.egressListeners.find((l) => !l.port)
  );
}

function viewsOf(snapshot: MeshSnapshot, listener: EgressListenerScope): VirtualServiceView[] {
  return listener.virtualServices
    .map((vs) => viewOf(snapshot, vs))
    .filter((v): v is VirtualServiceView => v !== undefined);
}

/** Ports that get an outbound HTTP route configuration: any HTTP or sniffed service port. */
export function outboundHttpPorts(scope: SidecarScope): number[] {
  const ports = new Set<number>();
  for (const service of scope.services)
    for (const port of service.ports) if (isHttpOrSniffed(port.protocol)) ports.add(port.port);
  for (const listener of scope.egressListeners)
    if (listener.port && isHttpProtocol(listener.port.protocol)) ports.add(listener.port.number);
  return [...ports].sort((a, b) => a - b);
}

function portVirtualHosts(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  scope: SidecarScope,
  port: number,
): JsonObject[] | undefined {
  const listener = egressListenerFor(scope, port);
  if (!listener) return undefined;
  const input = { services: listener.services, virtualServices: viewsOf(snapshot, listener) };
  return buildSidecarVirtualHosts(snapshot, proxy, input, port);
}

/**
 * Istio's getVirtualHostsForSniffedServicePort: a sniffed service on its own address routes by
 * `host:port` to its one virtual host, which then matches any authority.
 */
function sniffedServiceVirtualHosts(
  virtualHosts: readonly JsonObject[],
  name: string,
): JsonObject[] {
  const host = name.slice(0, name.lastIndexOf(":"));
  const matching = virtualHosts.filter(
    (vh) => Array.isArray(vh.domains) && vh.domains.some((d) => d === name || d === host),
  );
  return matching.length === 1 ? [{ ...matching[0]!, domains: ["*"] }] : matching;
}

/**
 * The sidecar's outbound RouteConfigurations, keyed by name: one per HTTP or sniffed port
 * ("9080", in port order) ending with the catch-all virtual host, and one per sniffed service
 * port (`host:port`, the RDS name of listeners bound to the service's address).
 */
export function buildSidecarRouteConfigs(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
): Map<string, JsonObject> {
  const scope = scopeFor(snapshot, proxy);
  const out = new Map<string, JsonObject>();
  const byPort = new Map<number, JsonObject[]>();
  for (const port of outboundHttpPorts(scope)) {
    const virtualHosts = portVirtualHosts(snapshot, proxy, scope, port);
    if (!virtualHosts) continue;
    byPort.set(port, virtualHosts);
    const withCatchAll = hasWildcardDomain(virtualHosts)
      ? virtualHosts
      : [...virtualHosts, buildCatchAllVirtualHost(scope.outboundTrafficPolicy)];
    const name = buildRouteConfigName(port);
    out.set(name, routeConfiguration(name, withCatchAll, true));
  }
  for (const service of scope.services) {
    for (const port of service.ports) {
      const virtualHosts = byPort.get(port.port);
      if (port.protocol !== "UNSUPPORTED" || !virtualHosts) continue;
      const name = domainName(service.hostname, port.port);
      out.set(name, routeConfiguration(name, sniffedServiceVirtualHosts(virtualHosts, name), true));
    }
  }
  return out;
}

/**
 * The "15001" RouteConfiguration of the local runtime's HTTP-proxy listener: every HTTP virtual
 * host of every port, with only the domain forms carrying a port (bare forms too for port 80);
 * CONNECT routes for TCP, TLS and unknown-protocol ports; the catch-all last.
 */
export function buildLocalOutboundRouteConfig(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
): JsonObject {
  const scope = scopeFor(snapshot, proxy);
  const virtualHosts: JsonObject[] = [];
  const taken = new Set<string>();
  for (const port of outboundHttpPorts(scope)) {
    for (const vhost of portVirtualHosts(snapshot, proxy, scope, port) ?? []) {
      const domains = (vhost.domains as string[]).filter(
        (d) => (port === 80 || hasPort(d)) && !taken.has(d.toLowerCase()),
      );
      if (domains.length === 0) continue;
      for (const d of domains) taken.add(d.toLowerCase());
      virtualHosts.push({ ...vhost, domains });
    }
  }
  const views = (port: number) => {
    const listener = egressListenerFor(scope, port);
    return listener ? viewsOf(snapshot, listener) : [];
  };
  for (const vhost of buildConnectVirtualHosts(snapshot, proxy, scope.services, views)) {
    const routes = vhost.routes as JsonObject[];
    // A sniffed port has both: HTTP routes for absolute-form requests, a tunnel for CONNECT.
    const existing = virtualHosts.find((v) => v.name === vhost.name);
    if (existing) {
      existing.routes = [...routes, ...(existing.routes as JsonObject[])];
      continue;
    }
    const domains = (vhost.domains as string[]).filter((d) => !taken.has(d.toLowerCase()));
    if (domains.length === 0) continue;
    for (const d of domains) taken.add(d.toLowerCase());
    virtualHosts.push({ ...vhost, domains });
  }
  virtualHosts.sort((a, b) => compare(String(a.name), String(b.name)));
  if (!hasWildcardDomain(virtualHosts)) {
    // A tunnel to an unknown host on a port the mesh knows as HTTP (not sniffed) is terminated (its requests
    // then meet the port's catch-all as Istio's per-port route configuration has it: 502 under
    // REGISTRY_ONLY, PassthroughCluster under ALLOW_ANY); other ports' tunnels meet the last one.
    const httpPorts = new Set(
      scope.services.flatMap((s) =>
        s.ports.filter((p) => isHttpProtocol(p.protocol)).map((p) => p.port),
      ),
    );
    for (const port of [...httpPorts].sort((a, b) => a - b)) {
      const catchAll = buildCatchAllVirtualHost(scope.outboundTrafficPolicy, false);
      virtualHosts.push({ ...catchAll, name: `${catchAll.name}:${port}`, domains: [`*:${port}`] });
    }
    virtualHosts.push(buildCatchAllVirtualHost(scope.outboundTrafficPolicy, true));
  }
  return routeConfiguration(LOCAL_OUTBOUND_ROUTE_CONFIG, virtualHosts, false);
}

/**
 * Istio's grpcgen buildHTTPRoute: the RouteConfiguration a proxyless gRPC client asks for by
 * its listener's name (`outbound|port||host`): the port's virtual hosts, without a catch-all.
 */
export function buildProxylessRouteConfig(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  name: string,
): JsonObject | undefined {
  const parsed = parseClusterName(name);
  if (!parsed) return undefined;
  const virtualHosts = portVirtualHosts(snapshot, proxy, scopeFor(snapshot, proxy), parsed.port);
  return { name, virtual_hosts: virtualHosts ?? [] };
}
