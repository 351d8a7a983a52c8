// Inbound CDS of a sidecar, as istiod's buildInboundClustersFromServiceInstances /
// buildInboundCluster: one STATIC `inbound|<targetPort>||` cluster per workload port, pointing at
// the application, with the connection pool of the service's DestinationRule; plus
// InboundPassthroughCluster (ORIGINAL_DST) for ports no service declares.
import { isIPv4, isIPv6 } from "node:net";
import { buildClusterName, INBOUND_PASSTHROUGH_CLUSTER } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service, ServicePort } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { applyTrafficPolicy, setUpstreamProtocol } from "./apply-traffic-policy.ts";
import { type ClusterDraft, finishCluster } from "./cluster-draft.ts";
import { setConfigMetadata, setServicesMetadata } from "./cluster-metadata.ts";
import { portLevelPolicy } from "./cluster-traffic-policy.ts";
import { buildPassthroughCluster } from "./clusters.ts";
import { destinationRuleFor, type Obj } from "./destination-rules.ts";
import { sortedByName } from "./proxy-resources.ts";

/** One service port the proxy's workload serves, and the port the workload listens on. */
export interface InboundTarget {
  service: Service;
  port: ServicePort;
  targetPort: number;
}

export interface InboundOptions {
  /** Where the application listens: 127.0.0.1 in Kubernetes; crema's local runtime passes the pod IP. */
  appAddress?: string;
  /**
   * Source address of connections the sidecar makes to a non-loopback app and through
   * InboundPassthroughCluster, so iptables does not capture them again (Istio: 127.0.0.6, or ::6
   * for IPv6-only proxies). null binds nothing (useful where that address cannot be bound).
   */
  passthroughBindAddress?: string | null;
  /** The Sidecar's inbound connection pool for a port (Istio's InboundConnectionPoolForPort). */
  inboundConnectionPool?: (port: number) => Obj | undefined;
}

/** The service ports whose endpoints are this proxy's IPs (istiod's ServiceTargets). */
export function inboundServiceTargets(snapshot: MeshSnapshot, proxy: ProxyNode): InboundTarget[] {
  const ips = new Set(proxy.ips);
  const out: InboundTarget[] = [];
  for (const service of snapshot.services) {
    for (const port of service.ports) {
      if (port.protocol === "UDP") continue;
      const own = snapshot
        .endpointsOf(service.hostname, port.port, service.namespace)
        .find((e) => ips.has(e.address));
      if (own) out.push({ service, port, targetPort: own.port });
    }
  }
  return out;
}

function defaultBindAddress(proxy: ProxyNode): string {
  return proxy.ips.length > 0 && !proxy.ips.some((ip) => isIPv4(ip)) ? "::6" : "127.0.0.6";
}

function bindConfig(address: string, extra: string[] = []): JsonObject {
  const out: JsonObject = { source_address: { address, port_value: 0 } };
  if (extra.length > 0) {
    out.extra_source_addresses = extra.map((a) => ({ address: { address: a, port_value: 0 } }));
  }
  return out;
}

function isLoopback(address: string): boolean {
  return address === "127.0.0.1" || address === "::1";
}

/** Where an inbound cluster sends: a socket or pipe address, or nowhere (ORIGINAL_DST). */
export type InboundEndpoint =
  | { kind: "socket"; address: string; port: number }
  | { kind: "pipe"; path: string }
  | { kind: "original_dst" };

/** One inbound cluster to build: Istio's buildInboundCluster(clusterPort, bind, instances). */
export interface InboundClusterSpec {
  clusterPort: number;
  endpoint: InboundEndpoint;
  /** The service targets on the port; the first shapes the cluster. */
  targets: readonly InboundTarget[];
  /** False for Istio's placeholder service of a Sidecar ingress port (no telemetry metadata). */
  telemetry: boolean;
  /** Sidecar `ingress[].connectionPool` / `inboundConnectionPool`: replaces the DR's pool. */
  connectionPool?: Obj;
}

/** Istio keeps ORIGINAL_DST inbound clusters' hosts forever (max protobuf Duration seconds). */
const NO_CLEANUP = "315576000000s";

function endpointAddress(endpoint: InboundEndpoint): JsonObject | undefined {
  if (endpoint.kind === "pipe") return { pipe: { path: endpoint.path } };
  if (endpoint.kind === "socket") {
    return { socket_address: { address: endpoint.address, port_value: endpoint.port } };
  }
  return undefined;
}

export function buildInboundCluster(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  spec: InboundClusterSpec,
  options: InboundOptions,
): JsonObject {
  const primary = spec.targets[0]!;
  const name = buildClusterName({
    direction: "inbound",
    port: spec.clusterPort,
    subset: "",
    host: "",
  });
  const address = endpointAddress(spec.endpoint);
  const cluster: JsonObject = address
    ? {
        name,
        type: "STATIC",
        common_lb_config: {},
        alt_stat_name: `${name};`,
        load_assignment: {
          cluster_name: name,
          endpoints: [{ lb_endpoints: [{ endpoint: { address } }] }],
        },
      }
    : {
        name,
        type: "ORIGINAL_DST",
        common_lb_config: {},
        alt_stat_name: `${name};`,
        cleanup_interval: NO_CLEANUP,
      };
  const draft: ClusterDraft = { cluster };
  setUpstreamProtocol(draft, primary.port, proxy);
  if (spec.telemetry) {
    setServicesMetadata(
      cluster,
      spec.targets.filter((t) => t.port.port === primary.port.port).map((t) => t.service),
    );
  }
  // Circuit breakers set for clients should hold on the server side too: the DR's connectionPool.
  const dr = destinationRuleFor(
    snapshot,
    { namespace: proxy.namespace, labels: {} },
    primary.service.hostname,
  );
  let policy = portLevelPolicy(dr?.trafficPolicy, primary.port.port).policy;
  if (dr?.trafficPolicy && dr.sources[0]) setConfigMetadata(cluster, dr.sources[0]);
  if (spec.connectionPool) policy = { ...policy, connectionPool: spec.connectionPool };
  applyTrafficPolicy(draft, policy, {
    snapshot,
    proxy,
    service: primary.service,
    port: primary.port,
    subset: "",
    direction: "inbound",
  });
  const bind =
    options.passthroughBindAddress === undefined
      ? defaultBindAddress(proxy)
      : options.passthroughBindAddress;
  const loopback = spec.endpoint.kind === "socket" && isLoopback(spec.endpoint.address);
  if (!loopback && bind) cluster.upstream_bind_config = bindConfig(bind);
  return finishCluster(draft);
}

/** InboundPassthroughCluster: original destination, bound to the passthrough source address. */
export function buildInboundPassthroughCluster(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  options: InboundOptions = {},
): JsonObject {
  const cluster = buildPassthroughCluster(snapshot, INBOUND_PASSTHROUGH_CLUSTER);
  const bind = options.passthroughBindAddress;
  if (bind === null) return cluster;
  const dualStack = proxy.ips.some((ip) => isIPv4(ip)) && proxy.ips.some((ip) => isIPv6(ip));
  cluster.upstream_bind_config =
    bind !== undefined
      ? bindConfig(bind)
      : bindConfig(defaultBindAddress(proxy), dualStack ? ["::6"] : []);
  return cluster;
}

/**
 * Inbound clusters of a sidecar (none for gateways), sorted by name. `targets` defaults to
 * inboundServiceTargets; when several services share a target port the first one's port and
 * DestinationRule shape the cluster, and all of them appear in its telemetry metadata.
 */
export function buildInboundClusters(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  targets: readonly InboundTarget[] = inboundServiceTargets(snapshot, proxy),
  options: InboundOptions = {},
): Map<string, JsonObject> {
  if (proxy.kind === "router") return new Map();
  const byPort = new Map<number, InboundTarget[]>();
  for (const target of targets) {
    byPort.set(target.targetPort, [...(byPort.get(target.targetPort) ?? []), target]);
  }
  const out: Array<[string, JsonObject]> = [];
  const appAddress = options.appAddress ?? "127.0.0.1";
  for (const [targetPort, list] of byPort) {
    const endpoint: InboundEndpoint = { kind: "socket", address: appAddress, port: targetPort };
    const spec = { clusterPort: targetPort, endpoint, targets: list, telemetry: true };
    const pool = options.inboundConnectionPool?.(targetPort);
    const cluster = buildInboundCluster(
      snapshot,
      proxy,
      { ...spec, ...(pool ? { connectionPool: pool } : {}) },
      options,
    );
    out.push([String(cluster.name), cluster]);
  }
  const passthrough = buildInboundPassthroughCluster(snapshot, proxy, options);
  out.push([INBOUND_PASSTHROUGH_CLUSTER, passthrough]);
  return sortedByName(out);
}
