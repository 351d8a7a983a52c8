// CONNECT tunnels in the local runtime's HTTP-proxy route configuration: a virtual host per
// TCP/TLS/unknown-protocol service port whose CONNECT route relays the tunnel as TCP to the
// service's cluster — or to the clusters its VirtualService `tcp` rules choose.
import { buildClusterName } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { isHttpProtocol, type Service } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { domainName, hasPort, serviceDomains } from "./route-domains.ts";
import { type VirtualServiceView, virtualServiceForHost } from "./route-virtual-services.ts";
import { buildTcpRoutes } from "./routes-tcp.ts";

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

function tunnelAction(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  service: Service,
  port: number,
  candidates: readonly VirtualServiceView[],
): JsonObject {
  const vs = virtualServiceForHost(candidates, service.hostname);
  // A CONNECT names a host, not an address: rules limited to destination subnets cannot apply.
  const rule = vs
    ? buildTcpRoutes(vs, port, { snapshot, proxy }).find(
        (r) => r.match.destinationSubnets.length === 0,
      )
    : undefined;
  if (!rule) {
    return {
      cluster: buildClusterName({
        direction: "outbound",
        port,
        subset: "",
        host: service.hostname,
      }),
    };
  }
  if (rule.clusters.length === 1) return { cluster: rule.clusters[0]!.name };
  return { weighted_clusters: { clusters: rule.clusters.map((c) => ({ ...c })) } };
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
      const action = tunnelAction(
        snapshot,
        proxy,
        service,
        port.port,
        virtualServicesFor(port.port),
      );
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
