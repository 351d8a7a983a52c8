// Clusters for proxyless gRPC clients, as Istio's grpcgen/cds.go builds them: a bare EDS cluster
// over ADS per service port and DestinationRule subset. gRPC accepts only ROUND_ROBIN (the proto
// default) or RING_HASH, so none of the sidecar clusters' Envoy-only settings are sent.
import { buildClusterName } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { destinationRuleFor } from "./destination-rules.ts";
import { sortedByName } from "./proxy-resources.ts";

function edsCluster(name: string): JsonObject {
  return { name, type: "EDS", eds_cluster_config: { service_name: name, eds_config: { ads: {} } } };
}

/** One EDS cluster per visible service port, plus one per DestinationRule subset. */
export function buildProxylessClusters(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  for (const service of snapshot.servicesVisibleFrom(proxy.namespace)) {
    const rule = destinationRuleFor(snapshot, proxy, service.hostname);
    const subsets = (rule?.subsets ?? []).map((s) => String(s.name));
    for (const port of service.ports) {
      if (port.protocol === "UDP") continue;
      for (const subset of ["", ...subsets]) {
        const name = buildClusterName({
          direction: "outbound",
          port: port.port,
          subset,
          host: service.hostname,
        });
        if (!out.has(name)) out.set(name, edsCluster(name));
      }
    }
  }
  return sortedByName(out);
}
