// Outbound CDS for one proxy, as istiod's buildOutboundClusters (cluster.go, cluster_builder.go):
// `outbound|port||host` per visible service port, one `outbound|port|subset|host` per
// DestinationRule subset, plus BlackHoleCluster and (sidecars only) PassthroughCluster. The
// discovery type follows the service's resolution; DNS clusters carry their endpoints inline and
// are left out when they have none, as istiod does.
import { isIPv6 } from "node:net";
import { BLACKHOLE_CLUSTER, buildClusterName, PASSTHROUGH_CLUSTER } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service, ServicePort } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { applyTrafficPolicy, setUpstreamProtocol } from "./apply-traffic-policy.ts";
import {
  type ClusterDraft,
  finishCluster,
  HTTP_PROTOCOL_OPTIONS_KEY,
  httpProtocolOptionsJson,
} from "./cluster-draft.ts";
import {
  istioMetadata,
  setAlpnOverrideMetadata,
  setConfigMetadata,
  setServicesMetadata,
} from "./cluster-metadata.ts";
import {
  effectiveTrafficPolicy,
  objAt,
  portLevelPolicy,
  subsetLabels,
  type TrafficPolicy,
} from "./cluster-traffic-policy.ts";
import { defaultCircuitBreakerThresholds, meshConnectTimeout } from "./connection-pool.ts";
import { destinationRuleFor, type EffectiveDestinationRule } from "./destination-rules.ts";
import { localityGroups, serviceEndpoints } from "./endpoints.ts";
import { metadataExchangeFilters } from "./metadata-exchange.ts";
import { sortedByName } from "./proxy-resources.ts";
import { istioMtlsSni } from "./upstream-tls.ts";

export type DiscoveryType = "EDS" | "STATIC" | "STRICT_DNS" | "LOGICAL_DNS" | "ORIGINAL_DST";

export interface ClusterOptions {
  /** Istio's PILOT_SEND_UNHEALTHY_ENDPOINTS (default false). */
  sendUnhealthyEndpoints?: boolean;
  /**
   * The services in the proxy's scope (e.g. narrowed by a Sidecar's egress hosts); default:
   * every service visible from its namespace, one per host (outboundServices).
   */
  services?: readonly Service[];
}

/** Istio's default mesh dnsRefreshRate. */
export const DNS_REFRESH_RATE = "60s";

/** istiod convertResolution: registry endpoints via EDS, DNS resolved by Envoy, NONE passes through. */
export function discoveryTypeOf(service: Service, proxy: ProxyNode): DiscoveryType {
  switch (service.resolution) {
    case "DNS":
      return "STRICT_DNS";
    case "DNS_ROUND_ROBIN":
      return "LOGICAL_DNS";
    case "NONE":
      // Gateways cannot use original-destination clusters.
      return proxy.kind === "router" ? "EDS" : "ORIGINAL_DST";
    default:
      return "EDS";
  }
}

/** V4_ONLY unless every proxy IP is IPv6 (dual stack is off by default in Istio). */
export function dnsLookupFamily(proxy: ProxyNode): "V4_ONLY" | "V6_ONLY" {
  return proxy.ips.length > 0 && proxy.ips.every((ip) => isIPv6(ip)) ? "V6_ONLY" : "V4_ONLY";
}

export function edsClusterConfig(name: string): JsonObject {
  return {
    service_name: name,
    eds_config: { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" },
  };
}

export interface BuildContext {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
  options: ClusterOptions;
}

interface ClusterSpec {
  name: string;
  type: DiscoveryType;
  service: Service;
  port: ServicePort;
  subset: string;
  /** Subset labels for inline endpoints. */
  labels: Readonly<Record<string, string>>;
  policy: TrafficPolicy | undefined;
  dr: EffectiveDestinationRule | undefined;
  sniDnat: boolean;
}

/** Istio's ClusterMode: usual outbound clusters, or the gateway's SNI-DNAT ones (AUTO_PASSTHROUGH). */
export type ClusterMode = "outbound" | "sni-dnat";

function buildCluster(ctx: BuildContext, spec: ClusterSpec): ClusterDraft | undefined {
  const { proxy } = ctx;
  const cluster: JsonObject = { name: spec.name, type: spec.type, common_lb_config: {} };
  cluster.alt_stat_name = `${spec.name};`;
  const draft: ClusterDraft = { cluster };
  if (spec.type === "STRICT_DNS" || spec.type === "LOGICAL_DNS") {
    cluster.dns_lookup_family = dnsLookupFamily(proxy);
    cluster.dns_refresh_rate = DNS_REFRESH_RATE;
    cluster.respect_dns_ttl = true;
  }
  if (spec.type === "STRICT_DNS" || spec.type === "LOGICAL_DNS" || spec.type === "STATIC") {
    const groups = localityGroups({
      snapshot: ctx.snapshot,
      endpoints: serviceEndpoints(ctx.snapshot, spec.service, spec.port, spec.labels),
      dr: spec.dr,
      subset: spec.subset,
      servicePort: spec.port.port,
      clusterId: proxy.clusterId,
      sendUnhealthyEndpoints: ctx.options.sendUnhealthyEndpoints,
    });
    if (groups.length === 0) return undefined;
    // Envoy accepts exactly one endpoint in a LOGICAL_DNS cluster.
    draft.inlineEndpoints =
      spec.type === "LOGICAL_DNS"
        ? [
            {
              ...groups[0]!,
              lbEndpoints: groups[0]!.lbEndpoints.slice(0, 1),
              labels: groups[0]!.labels.slice(0, 1),
            },
          ]
        : groups;
  }
  setUpstreamProtocol(draft, spec.port, proxy);
  setServicesMetadata(cluster, [spec.service]);
  applyTrafficPolicy(draft, spec.policy, {
    snapshot: ctx.snapshot,
    proxy,
    service: spec.service,
    port: spec.port,
    subset: spec.subset,
    direction: "outbound",
    sendUnhealthyEndpoints: ctx.options.sendUnhealthyEndpoints,
    sniDnat: spec.sniDnat,
    dr: spec.dr,
  });
  if (cluster.type === "EDS") cluster.eds_cluster_config = edsClusterConfig(spec.name);
  // istiod's applyMetadataExchange: the client's side of the TCP exchange, on every service cluster.
  const exchange = metadataExchangeFilters(proxy);
  if (exchange.length > 0) cluster.filters = exchange;
  return draft;
}

/** The default cluster of a service port and its subset clusters. */
export function buildServicePortClusters(
  ctx: BuildContext,
  service: Service,
  port: ServicePort,
  dr: EffectiveDestinationRule | undefined,
  mode: ClusterMode = "outbound",
): JsonObject[] {
  const host = service.hostname;
  const sniDnat = mode === "sni-dnat";
  // SNI-DNAT clusters are named by the SNI they serve: outbound_.<port>_.<subset>_.<host>.
  const nameOf = (subset: string) =>
    sniDnat
      ? istioMtlsSni(port.port, subset, host)
      : buildClusterName({ direction: "outbound", port: port.port, subset, host });
  const type = discoveryTypeOf(service, ctx.proxy);
  const out: JsonObject[] = [];
  const name = nameOf("");
  const policy = portLevelPolicy(dr?.trafficPolicy, port.port).policy;
  const main = buildCluster(ctx, {
    name,
    type,
    service,
    port,
    subset: "",
    labels: {},
    policy,
    dr,
    sniDnat,
  });
  if (main) {
    if (service.location === "MESH_EXTERNAL") istioMetadata(main.cluster).external = true;
    if (dr?.sources[0]) {
      setConfigMetadata(main.cluster, dr.sources[0]);
      if (!sniDnat) setAlpnOverrideMetadata(main.cluster, policy?.tls?.mode);
    }
    out.push(finishCluster(main));
  }
  for (const subset of dr?.subsets ?? []) {
    const subsetName = String(subset.name);
    // A subset's own PASSTHROUGH makes its cluster ORIGINAL_DST from the start.
    const own = objAt(objAt(subset, "trafficPolicy"), "loadBalancer");
    const passthrough = own?.simple === "PASSTHROUGH";
    const subsetPolicy = effectiveTrafficPolicy(dr, port.port, subsetName);
    const draft = buildCluster(ctx, {
      name: nameOf(subsetName),
      type: passthrough ? "ORIGINAL_DST" : type,
      service,
      port,
      subset: subsetName,
      labels: subsetLabels(subset),
      policy: subsetPolicy,
      dr,
      sniDnat,
    });
    if (!draft) continue;
    if (dr?.sources[0]) setConfigMetadata(draft.cluster, dr.sources[0]);
    istioMetadata(draft.cluster).subset = subsetName;
    if (!sniDnat) setAlpnOverrideMetadata(draft.cluster, subsetPolicy?.tls?.mode);
    out.push(finishCluster(draft));
  }
  return out;
}

/** The services a proxy sees, one per host (preferring its own namespace's, as istiod does). */
export function outboundServices(snapshot: MeshSnapshot, proxy: ProxyNode): Service[] {
  const visible = snapshot.servicesVisibleFrom(proxy.namespace);
  const visibleSet = new Set(visible);
  const byHost = new Map<string, Service>();
  for (const service of visible) {
    if (byHost.has(service.hostname)) continue;
    const preferred = snapshot.serviceFor(service.hostname, proxy.namespace);
    byHost.set(service.hostname, preferred && visibleSet.has(preferred) ? preferred : service);
  }
  return [...byHost.values()];
}

/** Catches traffic to unresolved routes: a STATIC cluster without endpoints. */
export function buildBlackHoleCluster(snapshot: MeshSnapshot): JsonObject {
  return {
    name: BLACKHOLE_CLUSTER,
    type: "STATIC",
    connect_timeout: meshConnectTimeout(snapshot.meshConfig),
    lb_policy: "ROUND_ROBIN",
    alt_stat_name: `${BLACKHOLE_CLUSTER};`,
  };
}

/** Sends traffic to its original destination (ALLOW_ANY), with a 5 minute HTTP idle timeout. */
export function buildPassthroughCluster(
  snapshot: MeshSnapshot,
  name: string = PASSTHROUGH_CLUSTER,
): JsonObject {
  return {
    name,
    type: "ORIGINAL_DST",
    connect_timeout: meshConnectTimeout(snapshot.meshConfig),
    lb_policy: "CLUSTER_PROVIDED",
    circuit_breakers: { thresholds: [defaultCircuitBreakerThresholds()] },
    typed_extension_protocol_options: {
      [HTTP_PROTOCOL_OPTIONS_KEY]: httpProtocolOptionsJson({
        common: { idle_timeout: "300s" },
        upstream: { kind: "downstream" },
      }),
    },
    alt_stat_name: `${name};`,
  };
}

/** Every outbound cluster of `proxy`, sorted by name (the first of duplicate names wins). */
export function buildOutboundClusters(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  options: ClusterOptions = {},
): Map<string, JsonObject> {
  const ctx: BuildContext = { snapshot, proxy, options };
  const out = new Map<string, JsonObject>();
  const add = (cluster: JsonObject) => {
    const name = String(cluster.name);
    if (!out.has(name)) out.set(name, cluster);
  };
  for (const service of options.services ?? outboundServices(snapshot, proxy)) {
    const dr = destinationRuleFor(snapshot, proxy, service.hostname);
    for (const port of service.ports) {
      if (port.protocol === "UDP") continue;
      for (const cluster of buildServicePortClusters(ctx, service, port, dr)) add(cluster);
    }
  }
  add(buildBlackHoleCluster(snapshot));
  if (proxy.kind !== "router") add(buildPassthroughCluster(snapshot));
  return sortedByName(out);
}
