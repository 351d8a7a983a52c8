// CONNECT tunnels in the local runtime's HTTP-proxy route configuration: a virtual host per
// TCP/TLS/unknown-protocol service port whose CONNECT route relays the tunnel as TCP to the
// service's cluster — or to the clusters its VirtualService `tcp` rules choose.
import { buildClusterName } from "../../api/istio-names.ts";
import { hostCovers } from "../../config/analysis/hosts.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { isHttpProtocol, type Service, type ServicePort } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { domainName, hasPort, serviceDomains } from "./route-domains.ts";
import { type VirtualServiceView, virtualServiceForHost } from "./route-virtual-services.ts";
import { buildTcpRoutes, buildTlsRoutes, type L4Route } from "./routes-tcp.ts";
import { l4IdleTimeout } from "./tcp-proxy.ts";

/** A route matching CONNECT requests and tunnelling them (as TCP) with `action`'s cluster. */
export function connectRoute(action: JsonObject, name?: string): JsonObject {
  return {
    ...(name ? { name } : {}),
    match: { connect_matcher: {} },
    route: {
      ...action,
      // A tunnel lasts as long as the connection: no route timeout.
      timeout: "0s",
      upgrade_configs: [{ upgrade_type: "CONNECT", connect_config: {} }],
    },
  };
}

function tlsRuleNamingService(
  rules: readonly L4Route[],
  service: Service,
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
): L4Route | undefined {
  const { domainSuffix } = snapshot.meshConfig;
  const names = serviceDomains(service, undefined, proxy.namespace, domainSuffix).domains;
  return rules.find((r) => r.match.sniHosts.some((sni) => names.some((n) => hostCovers(sni, n))));
}

function tunnelAction(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  service: Service,
  port: ServicePort,
  candidates: readonly VirtualServiceView[],
): JsonObject {
  const vs = virtualServiceForHost(candidates, service.hostname);
  const ctx = { snapshot, proxy };
  // A CONNECT names a host, not an address: rules limited to destination subnets cannot apply.
  const applies = (r: L4Route) => r.match.destinationSubnets.length === 0;
  // The tunnel's SNI is not visible to the route, so `tls` rules (tried before `tcp` ones on TLS
  // ports, as Istio orders the filter chains) match when their sniHosts name the service: the
  // client is taken to send the name it CONNECTs to.
  const tlsRule =
    vs && (port.protocol === "TLS" || port.protocol === "HTTPS")
      ? tlsRuleNamingService(
          buildTlsRoutes(vs, port.port, ctx).filter(applies),
          service,
          snapshot,
          proxy,
        )
      : undefined;
  const rule = tlsRule ?? (vs ? buildTcpRoutes(vs, port.port, ctx).find(applies) : undefined);
  const clusters = rule?.clusters ?? [
    {
      name: buildClusterName({
        direction: "outbound",
        port: port.port,
        subset: "",
        host: service.hostname,
      }),
      weight: 1,
    },
  ];
  // The DestinationRule's connectionPool.tcp.idleTimeout, as the tcp_proxy would carry it.
  const idle = l4IdleTimeout(ctx, clusters);
  const action: JsonObject =
    clusters.length === 1
      ? { cluster: clusters[0]!.name }
      : { weighted_clusters: { clusters: clusters.map((c) => ({ ...c })) } };
  if (idle) action.idle_timeout = idle;
  return action;
}

/**
 * One virtual host (`host:port`) per non-HTTP, non-UDP service port, whose domains are the
 * service's domain forms that carry the port. `virtualServicesFor(port)` lists the mesh
 * VirtualServices the proxy imports on that port.
 */
export function buildConnectVirtualHosts(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  services: readonly Service[],
  virtualServicesFor: (port: number) => readonly VirtualServiceView[],
): JsonObject[] {
  const out: JsonObject[] = [];
  const sorted = [...services].sort((a, b) =>
    a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0,
  );
  for (const service of sorted) {
    for (const port of service.ports) {
      if (isHttpProtocol(port.protocol) || port.protocol === "UDP") continue;
      const { domains } = serviceDomains(
        service,
        port.port,
        proxy.namespace,
        snapshot.meshConfig.domainSuffix,
      );
      const action = tunnelAction(snapshot, proxy, service, port, virtualServicesFor(port.port));
      out.push({
        name: domainName(service.hostname, port.port),
        domains: domains.filter(hasPort),
        routes: [connectRoute(action)],
        include_request_attempt_count: true,
      });
    }
  }
  return out;
}
