// Service endpoints → Envoy LocalityLbEndpoints (EDS ClusterLoadAssignments and the inline
// load_assignment of DNS clusters), as istiod's EndpointBuilder does: grouped by locality (sorted),
// unhealthy endpoints left out unless asked for, subset labels filtering, per-proxy locality
// priorities/weights, and Istio's endpoint metadata (mTLS socket match, compressed workload info).
import { isIP } from "node:net";
import { parseClusterName } from "../../api/istio-names.ts";
import { selectorMatches } from "../../config/analysis/labels.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service, ServicePort } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { Endpoint } from "../model/workload.ts";
import { effectiveTrafficPolicy, subsetLabels, subsetNamed } from "./cluster-traffic-policy.ts";
import { destinationRuleFor, type EffectiveDestinationRule } from "./destination-rules.ts";
import {
  applyLocalityLbSetting,
  augmentLabels,
  type LocalityClient,
  type LocalityGroup,
  localityGroupJson,
  localityLbSettingFor,
} from "./locality-lb.ts";
import { sortedByName } from "./proxy-resources.ts";
import { endpointUsesIstioMtls } from "./upstream-tls.ts";

export interface EndpointOptions {
  /** Istio's PILOT_SEND_UNHEALTHY_ENDPOINTS (default false: unready endpoints are left out). */
  sendUnhealthyEndpoints?: boolean;
}

/** The proxy as locality LB sees it: its locality and its labels plus topology labels. */
export function localityClientOf(proxy: ProxyNode): LocalityClient {
  return {
    locality: proxy.locality,
    labels: augmentLabels(proxy.labels, proxy.locality, proxy.clusterId, proxy.network),
  };
}

/** Istio's CanonicalService: name and revision from labels, with Kubernetes fallbacks. */
export function canonicalService(
  labels: Readonly<Record<string, string>>,
  workloadName: string,
): { name: string; revision: string } {
  const first = (keys: string[]) => keys.map((k) => labels[k]).find((v) => v !== undefined);
  return {
    name:
      first(["service.istio.io/canonical-name", "app.kubernetes.io/name", "app"]) ?? workloadName,
    revision:
      first(["service.istio.io/canonical-revision", "app.kubernetes.io/version", "version"]) ??
      "latest",
  };
}

/** `istio.workload` metadata: `name;namespace;canonical-service;revision;cluster` ("latest" → ""). */
export function workloadMetadata(endpoint: Endpoint, clusterId: string): string {
  const { name, revision } = canonicalService(endpoint.labels, endpoint.workloadName);
  const rev = revision === "latest" ? "" : revision;
  return [endpoint.workloadName, endpoint.namespace, name, rev, clusterId].join(";");
}

export function lbEndpointJson(
  endpoint: Endpoint,
  istioMtls: boolean,
  clusterId: string,
): JsonObject {
  const filterMetadata: JsonObject = {};
  // Only endpoints that will get Istio mTLS carry the socket-match label (Istio omits "disabled").
  if (istioMtls) filterMetadata["envoy.transport_socket_match"] = { tlsMode: "istio" };
  filterMetadata.istio = { workload: workloadMetadata(endpoint, clusterId) };
  return {
    endpoint: {
      address: { socket_address: { address: endpoint.address, port_value: endpoint.port } },
    },
    health_status: endpoint.healthy ? "HEALTHY" : "UNHEALTHY",
    metadata: { filter_metadata: filterMetadata },
    load_balancing_weight: endpoint.weight > 0 ? endpoint.weight : 1,
  };
}

function localityKey(endpoint: Endpoint): string {
  const { region, zone, subzone } = endpoint.locality;
  return [region, zone, subzone].join("/").replace(/\/+$/, "");
}

export interface GroupInput {
  /** For PeerAuthentication's say on endpoint mTLS (meshConfig.workloadCertificates). */
  snapshot?: MeshSnapshot;
  endpoints: readonly Endpoint[];
  dr: EffectiveDestinationRule | undefined;
  subset: string;
  servicePort: number;
  clusterId: string;
  sendUnhealthyEndpoints?: boolean;
}

/** Endpoints grouped into LocalityLbEndpoints, localities sorted, weight = sum of endpoints'. */
export function localityGroups(input: GroupInput): LocalityGroup[] {
  const byLocality = new Map<string, LocalityGroup>();
  for (const endpoint of input.endpoints) {
    if (!endpoint.healthy && !input.sendUnhealthyEndpoints) continue;
    const key = localityKey(endpoint);
    let group = byLocality.get(key);
    if (!group) {
      group = { locality: endpoint.locality, lbEndpoints: [], labels: [], weight: 0, priority: 0 };
      byLocality.set(key, group);
    }
    const mtls = endpointUsesIstioMtls(
      input.dr,
      input.subset,
      input.servicePort,
      endpoint,
      input.snapshot,
    );
    const lbEndpoint = lbEndpointJson(endpoint, mtls, input.clusterId);
    group.lbEndpoints.push(lbEndpoint);
    group.labels.push(
      augmentLabels(endpoint.labels, endpoint.locality, input.clusterId, endpoint.network),
    );
    group.weight += lbEndpoint.load_balancing_weight as number;
  }
  return [...byLocality.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, group]) => group);
}

/** The registry's endpoints of a service port (DNS ServiceEntries: their hosts) matching `labels`. */
export function serviceEndpoints(
  snapshot: MeshSnapshot,
  service: Service,
  port: ServicePort,
  labels: Readonly<Record<string, string>> = {},
): Endpoint[] {
  return snapshot
    .endpointsOf(service.hostname, port.port, service.namespace)
    .filter((e) => selectorMatches(labels, e.labels));
}

/** istiod's DNS SRV subset key, the name of SNI-DNAT clusters: `outbound_.<port>_.<subset>_.<host>`. */
const SNI_DNAT_NAME = /^outbound_\.(\d+)_\.([^_]*)_\.(.+)$/;

function emptyAssignment(name: string): JsonObject {
  return { cluster_name: name };
}

/** The ClusterLoadAssignment of one EDS cluster for `proxy`. */
export function buildClusterLoadAssignment(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  clusterName: string,
  options: EndpointOptions = {},
): JsonObject {
  const sniDnat = SNI_DNAT_NAME.exec(clusterName);
  const parsed = sniDnat
    ? { direction: "outbound", port: Number(sniDnat[1]), subset: sniDnat[2]!, host: sniDnat[3]! }
    : parseClusterName(clusterName);
  if (parsed?.direction !== "outbound") return emptyAssignment(clusterName);
  const service = snapshot.serviceFor(parsed.host, proxy.namespace);
  const port = service?.ports.find((p) => p.port === parsed.port);
  if (!service || !port) return emptyAssignment(clusterName);
  const dr = destinationRuleFor(snapshot, proxy, service.hostname);
  const labels = subsetLabels(subsetNamed(dr, parsed.subset));
  // EDS carries IP endpoints only (hostnames of DNS ServiceEntries are not valid here).
  // SNI-DNAT clusters (AUTO_PASSTHROUGH) keep only endpoints with Istio mTLS, as istiod's
  // EndpointsWithMTLSFilter: the gateway cannot check that the relayed TLS is mTLS itself.
  const endpoints = serviceEndpoints(snapshot, service, port, labels).filter(
    (e) => isIP(e.address) !== 0 && (!sniDnat || e.tlsMode === "istio"),
  );
  const groups = localityGroups({
    snapshot,
    endpoints,
    dr,
    subset: parsed.subset,
    servicePort: port.port,
    clusterId: proxy.clusterId,
    sendUnhealthyEndpoints: options.sendUnhealthyEndpoints,
  });
  if (groups.length === 0) return emptyAssignment(clusterName);
  const policy = effectiveTrafficPolicy(dr, port.port, parsed.subset);
  const setting = localityLbSettingFor(snapshot.meshConfig, policy?.loadBalancer);
  const enableFailover = policy?.outlierDetection !== undefined;
  const prioritized = applyLocalityLbSetting(
    groups,
    localityClientOf(proxy),
    setting,
    enableFailover,
  );
  return { cluster_name: clusterName, endpoints: prioritized.map(localityGroupJson) };
}

/** ClusterLoadAssignments for every EDS cluster in `clusters`, keyed by cluster name. */
export function buildEndpoints(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  clusters: ReadonlyMap<string, JsonObject>,
  options: EndpointOptions = {},
): Map<string, JsonObject> {
  const out: Array<[string, JsonObject]> = [];
  for (const [name, cluster] of clusters) {
    if (cluster.type !== "EDS") continue;
    out.push([name, buildClusterLoadAssignment(snapshot, proxy, name, options)]);
  }
  return sortedByName(out);
}
