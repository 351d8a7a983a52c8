// The part of a proxy that its outbound configuration depends on, and the cache key made of it.
import { isIPv6 } from "node:net";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { ProxyResources } from "./proxy-resources.ts";
import type { SidecarScope } from "./sidecar-scope.ts";

/*
 * What the outbound translators (outbound clusters, EDS, outbound and virtual listeners, routes,
 * gateway and proxyless output) read from a ProxyNode — keep this list in step with them:
 * - kind, namespace, labels: Sidecar scope (workloadSelector), DestinationRule workloadSelector,
 *   VirtualService/TCP sourceLabels and sourceNamespace, gateway selectors, failoverPriority;
 * - clusterId, network, locality: cluster metadata, EDS locality priorities and labels;
 * - metadata IDLE_TIMEOUT (HCM and tcp_proxy), CREMA_LOCAL_RUNTIME (translate mode), and
 *   MESH_ID and WORKLOAD_NAME (the HCMs' Istio tracing tags istio.mesh_id and
 *   istio.canonical_service);
 * - istioExtensions: whether Istio's own filters (istio.stats, istio.metadata_exchange) and the
 *   exchange's ALPN may be sent;
 * - ips, only as two facts: whether every IP is IPv6 (DNS lookup family), and whether the first
 *   IP is an endpoint of a headless service (it gets no per-endpoint outbound listener).
 * id, podName, serviceAccount, the other IPs and other metadata are not read by them: they only
 * shape inbound listeners and clusters and the local runtime's bound listener.
 */
const METADATA_KEYS = ["IDLE_TIMEOUT", "CREMA_LOCAL_RUNTIME", "MESH_ID", "WORKLOAD_NAME"] as const;

/** One shared translation: the outbound resources and the Sidecar scope they were built with. */
export interface SharedTranslation {
  resources: ProxyResources;
  scope: SidecarScope;
  /** The snapshot version it was built from: at another version it is only the base that
   * unchanged resources are carried over from. */
  version: string;
}

/** Shared translations by sharedKey, each for the snapshot version it records; entries of
 * earlier versions are replaced on use (the owner prunes the ones no longer used). */
export type SharedTranslationCache = Map<string, SharedTranslation>;

const headlessAddresses = new WeakMap<MeshSnapshot, ReadonlySet<string>>();

/** Every endpoint address of a headless service (no VIP, resolution NONE), once per snapshot. */
function headlessEndpointAddresses(snapshot: MeshSnapshot): ReadonlySet<string> {
  let out = headlessAddresses.get(snapshot);
  if (!out) {
    const set = new Set<string>();
    for (const service of snapshot.services) {
      if (service.addresses.length > 0 || service.resolution !== "NONE") continue;
      for (const port of service.ports)
        for (const e of snapshot.endpointsOf(service.hostname, port.port, service.namespace))
          set.add(e.address);
    }
    out = set;
    headlessAddresses.set(snapshot, out);
  }
  return out;
}

/** IPs giving the outbound translators the same answers as `ips`, and nothing else. */
function representativeIps(snapshot: MeshSnapshot, ips: readonly string[]): string[] {
  const first = ips[0];
  // An IPv4 first IP: not all-IPv6 (V4_ONLY) — the IP itself matters only if it is an endpoint.
  if (first !== undefined && headlessEndpointAddresses(snapshot).has(first)) {
    return ips.every((ip) => isIPv6(ip)) ? [first] : [first, "0.0.0.0"];
  }
  if (ips.length > 0 && ips.every((ip) => isIPv6(ip))) return ["::"];
  return [];
}

/**
 * The proxy reduced to what the outbound translators read: translating it gives the same outbound
 * resources as translating `proxy`, so every proxy with the same reduction can share them.
 */
export function sharedProxyOf(snapshot: MeshSnapshot, proxy: ProxyNode): ProxyNode {
  const metadata: Record<string, unknown> = {};
  for (const key of METADATA_KEYS) if (key in proxy.metadata) metadata[key] = proxy.metadata[key];
  return {
    id: "",
    kind: proxy.kind,
    ips: representativeIps(snapshot, proxy.ips),
    podName: "",
    namespace: proxy.namespace,
    labels: proxy.labels,
    serviceAccount: "",
    clusterId: proxy.clusterId,
    network: proxy.network,
    locality: proxy.locality,
    metadata,
    ...(proxy.istioExtensions === false ? { istioExtensions: false as const } : {}),
  };
}

/**
 * The cache key: the whole input of the shared translation besides the snapshot (the cache lives
 * for one version): every field of the reduced proxy, and the mode (options may override it).
 */
export function sharedKey(shared: ProxyNode, mode: string): string {
  const metadata = Object.entries(shared.metadata).map(([k, v]) => [k, typeof v, v]);
  return JSON.stringify([
    shared.kind,
    shared.ips,
    shared.namespace,
    Object.entries(shared.labels),
    shared.clusterId,
    shared.network,
    [shared.locality.region, shared.locality.zone, shared.locality.subzone],
    metadata,
    shared.istioExtensions ?? true,
    mode,
  ]);
}
