// A gateway's RouteConfigurations (`http.<port>`, `https.<port>.<portName>.<gateway>.<ns>`), as
// Istio's buildGatewayHTTPRouteConfig: per server host, the routes of every VirtualService bound
// to the server's Gateway, concatenated (catch-alls last); httpsRedirect servers require TLS.

import { buildRouteConfigName } from "../../api/istio-names.ts";
import { exportedTo, hostCovers, parseServerHost } from "../../config/analysis/hosts.ts";
import { selectorMatches } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { isHttpProtocol, type Protocol, protocolOf } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { RouteContext } from "./route-action.ts";
import { MAX_DIRECT_RESPONSE_BODY_BYTES } from "./route-configs.ts";
import { domainName } from "./route-domains.ts";
import { isCatchAllRoute } from "./route-match.ts";
import { isObj, num, type Obj, objs, str, stringRecord, strings } from "./route-values.ts";
import { type VirtualServiceView, virtualServicesForGateway } from "./route-virtual-services.ts";
import { buildHttpRoutes } from "./routes-http.ts";

export interface GatewayServer {
  gateway: Resource;
  /** `namespace/name` of the Gateway, as VirtualServices bind to it. */
  gatewayName: string;
  server: Obj;
  port: number;
  protocol: Protocol;
  /** The RDS name of its HTTP connection manager; "" for servers without one (TCP, TLS passthrough). */
  routeName: string;
  /** The port the gateway binds for it, when not `port` (the local runtime's remapping). */
  bindPort?: number;
}

function isPassthrough(server: Obj): boolean {
  const mode = isObj(server.tls) ? str(server.tls.mode) : "";
  return mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH";
}

/**
 * Istio's gatewayRDSRouteName (without the `.<bind>` suffix Istio adds for servers with a
 * `bind`, like the gateway listeners that reference these names).
 */
export function gatewayServerRouteName(gateway: Resource, server: Obj): string {
  const port = isObj(server.port) ? server.port : {};
  const protocol = protocolOf({ name: str(port.protocol) });
  if (isHttpProtocol(protocol)) return buildRouteConfigName(num(port.number), "gateway");
  if (protocol === "HTTPS" && !isPassthrough(server))
    return `https.${num(port.number)}.${str(port.name)}.${gateway.name}.${gateway.namespace}`;
  return "";
}

/** Servers of the Gateways whose selector matches the proxy, in any namespace, in creation order. */
export function gatewayServersFor(snapshot: MeshSnapshot, proxy: ProxyNode): GatewayServer[] {
  const out: GatewayServer[] = [];
  for (const gateway of snapshot.config.gateways) {
    if (!selectorMatches(stringRecord(gateway.spec.selector), proxy.labels)) continue;
    for (const server of objs(gateway.spec.servers)) {
      const port = isObj(server.port) ? server.port : {};
      out.push({
        gateway,
        gatewayName: `${gateway.namespace}/${gateway.name}`,
        server,
        port: num(port.number),
        protocol: protocolOf({ name: str(port.protocol) }),
        routeName: gatewayServerRouteName(gateway, server),
      });
    }
  }
  return out;
}

/** Istio's host.Names.Intersection: for each overlapping pair, the more specific host. */
function intersect(serverHosts: readonly string[], vsHosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const serverHost of serverHosts) {
    for (const vsHost of vsHosts) {
      const host = hostCovers(vsHost, serverHost)
        ? serverHost
        : hostCovers(serverHost, vsHost)
          ? vsHost
          : undefined;
      if (host && !out.includes(host)) out.push(host);
    }
  }
  return out;
}

interface GatewayVirtualHost {
  vhost: JsonObject;
  routes: JsonObject[];
  /** Which (gateway, VirtualService) route lists were appended, in order: equal keys, equal routes. */
  sources: string[];
}

function lookupServiceFor(snapshot: MeshSnapshot, proxy: ProxyNode, vs: VirtualServiceView) {
  return (host: string) => {
    const own = snapshot.serviceFor(host, vs.namespace);
    if (
      own &&
      own.namespace === vs.namespace &&
      exportedTo(own.exportTo, own.namespace, proxy.namespace)
    )
      return own;
    return snapshot.serviceFor(host, proxy.namespace);
  };
}

function buildRouteConfig(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  routeName: string,
  servers: readonly GatewayServer[],
): JsonObject {
  const vhosts = new Map<string, GatewayVirtualHost>();
  const routeCache = new Map<string, JsonObject[]>();
  for (const { gateway, gatewayName, server, port, bindPort } of servers) {
    const redirect = isObj(server.tls) && server.tls.httpsRedirect === true;
    const parsedHosts = strings(server.hosts).map((h) => parseServerHost(h, gateway.namespace));
    for (const vs of virtualServicesForGateway(snapshot, proxy.namespace, gatewayName)) {
      const serverHosts = parsedHosts
        .filter((h) => h.namespace === "*" || h.namespace === vs.namespace)
        .map((h) => h.host);
      const hosts = intersect(serverHosts, vs.hosts);
      if (hosts.length === 0) continue;
      // The key is everything the routes depend on: TLS changes redirect schemes, ports change port matches.
      const key = `${gatewayName}|${vs.namespace}/${vs.name}|${port}|${bindPort ?? port}|${isObj(server.tls)}`;
      let routes = routeCache.get(key);
      if (!routes) {
        const ctx: RouteContext = {
          snapshot,
          proxy,
          listenPort: port,
          ...(bindPort !== undefined && bindPort !== port ? { requestPort: bindPort } : {}),
          gateways: new Set([gatewayName]),
          isTls: isObj(server.tls),
          lookupService: lookupServiceFor(snapshot, proxy, vs),
        };
        routes = buildHttpRoutes(ctx, vs);
        routeCache.set(key, routes);
      }
      if (routes.length === 0) continue;
      for (const host of hosts) {
        const existing = vhosts.get(host);
        if (existing) {
          existing.routes.push(...routes);
          existing.sources.push(key);
          if (redirect) existing.vhost.require_tls = "ALL";
          continue;
        }
        const vhost: JsonObject = {
          name: domainName(host, port),
          domains: [host],
          include_request_attempt_count: true,
          ...(redirect ? { require_tls: "ALL" } : {}),
        };
        vhosts.set(host, { vhost, routes: [...routes], sources: [key] });
      }
    }
    // httpsRedirect hosts without any route still redirect to https.
    if (!redirect) continue;
    for (const { host } of parsedHosts) {
      const existing = vhosts.get(host);
      if (existing) existing.vhost.require_tls = "ALL";
      else {
        const vhost = {
          name: domainName(host, port),
          domains: [host],
          include_request_attempt_count: true,
          require_tls: "ALL",
        };
        vhosts.set(host, { vhost, routes: [], sources: [] });
      }
    }
  }
  const virtualHosts =
    vhosts.size === 0
      ? [{ name: domainName("blackhole", servers[0]?.port ?? 0), domains: ["*"], routes: [] }]
      : collapse(vhosts);
  return {
    name: routeName,
    virtual_hosts: virtualHosts,
    validate_clusters: false,
    ...(proxy.kind === "proxyless" ? {} : { ignore_port_in_host_matching: true }),
    max_direct_response_body_size_bytes: MAX_DIRECT_RESPONSE_BODY_BYTES,
  };
}

/**
 * Istio's collapseDuplicateRoutes: hosts given the very same route lists (one VirtualService
 * for several hosts) share one virtual host, named after the alphabetically first; then catch-all
 * routes move last and virtual hosts are sorted by name.
 */
function collapse(vhosts: ReadonlyMap<string, GatewayVirtualHost>): JsonObject[] {
  const primary = new Map<string, GatewayVirtualHost>();
  const out: GatewayVirtualHost[] = [];
  for (const host of [...vhosts.keys()].sort()) {
    const entry = vhosts.get(host)!;
    const key = `${entry.sources.join(",")}#${entry.vhost.require_tls ?? ""}`;
    const first = primary.get(key);
    if (first) {
      first.vhost.domains = [
        ...(first.vhost.domains as string[]),
        ...(entry.vhost.domains as string[]),
      ];
      continue;
    }
    primary.set(key, entry);
    out.push(entry);
  }
  return out
    .map(
      ({ vhost, routes }): JsonObject => ({
        ...vhost,
        routes: [...routes.filter((r) => !isCatchAllRoute(r)), ...routes.filter(isCatchAllRoute)],
      }),
    )
    .sort((a, b) =>
      String(a.name) < String(b.name) ? -1 : String(a.name) > String(b.name) ? 1 : 0,
    );
}

/** Route configurations of a gateway proxy, keyed by name (in name order). */
export function buildGatewayRouteConfigs(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  servers: readonly GatewayServer[] = gatewayServersFor(snapshot, proxy),
): Map<string, JsonObject> {
  const byRoute = new Map<string, GatewayServer[]>();
  for (const server of servers) {
    if (!server.routeName) continue;
    byRoute.set(server.routeName, [...(byRoute.get(server.routeName) ?? []), server]);
  }
  const out = new Map<string, JsonObject>();
  for (const name of [...byRoute.keys()].sort())
    out.set(name, buildRouteConfig(snapshot, proxy, name, byRoute.get(name)!));
  return out;
}
