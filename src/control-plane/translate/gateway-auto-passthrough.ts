// Gateway servers with `tls.mode: AUTO_PASSTHROUGH`, as istiod's builtAutoPassthroughFilterChains
// (gateway.go) and buildOutboundSniDnatClusters (cluster.go): for every mesh service port whose host
// the server's hosts cover, a filter chain matching the SNI `outbound_.<port>_.<subset>_.<host>`
// (the default subset is empty: `outbound_.<port>_._.<host>`) and Istio's mTLS ALPNs, relaying the
// still-encrypted connection with tcp_proxy to the SNI-DNAT cluster of the same name: the outbound
// cluster (endpoints, DestinationRule policy) without upstream TLS.
import { hostCovers } from "../../config/analysis/hosts.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { buildServicePortClusters, outboundServices } from "./clusters.ts";
import { destinationRuleFor } from "./destination-rules.ts";
import { ALL_ISTIO_ALPNS } from "./inbound-filter-chains.ts";
import type { ChainOptions, ListenerContext } from "./listener-common.ts";
import { destinationFilters } from "./tcp-proxy.ts";
import { istioMtlsSni } from "./upstream-tls.ts";

/** Mesh-internal services a gateway relays to, with their non-UDP ports. */
function relayedServices(snapshot: MeshSnapshot, proxy: ProxyNode): Service[] {
  return outboundServices(snapshot, proxy).filter((s) => s.location !== "MESH_EXTERNAL");
}

/** The filter chains of one AUTO_PASSTHROUGH server, whose SNI hosts are `sniHosts`. */
export function autoPassthroughChains(
  ctx: ListenerContext,
  sniHosts: readonly string[],
): ChainOptions[] {
  const { snapshot, proxy } = ctx;
  const out: ChainOptions[] = [];
  for (const service of relayedServices(snapshot, proxy)) {
    if (!sniHosts.some((h) => hostCovers(h, service.hostname))) continue;
    const dr = destinationRuleFor(snapshot, proxy, service.hostname);
    const subsets = ["", ...(dr?.subsets ?? []).map((s) => String(s.name))];
    for (const port of service.ports) {
      if (port.protocol === "UDP") continue;
      for (const subset of subsets) {
        const cluster = istioMtlsSni(port.port, subset, service.hostname);
        out.push({
          sniHosts: [cluster],
          applicationProtocols: ALL_ISTIO_ALPNS,
          filters: destinationFilters(ctx, cluster, service.hostname, subset),
        });
      }
    }
  }
  return out;
}

/** The SNI-DNAT clusters of a gateway with an AUTO_PASSTHROUGH server, keyed by name. */
export function buildSniDnatClusters(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
): Array<[string, JsonObject]> {
  const ctx = { snapshot, proxy, options: {} };
  const out: Array<[string, JsonObject]> = [];
  for (const service of relayedServices(snapshot, proxy)) {
    const dr = destinationRuleFor(snapshot, proxy, service.hostname);
    for (const port of service.ports) {
      if (port.protocol === "UDP") continue;
      for (const cluster of buildServicePortClusters(ctx, service, port, dr, "sni-dnat")) {
        out.push([String(cluster.name), cluster]);
      }
    }
  }
  return out;
}
