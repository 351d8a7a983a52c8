// The part of a sidecar's translation that is its own (inbound listeners and clusters, the local
// runtime's bound HTTP proxy listener): the view of the snapshot its translators get, and the
// key under which their output can be kept across snapshots.
import { CremaError } from "../../base/errors.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { Endpoint } from "../model/workload.ts";
import type { SidecarScope } from "./sidecar-scope.ts";

/** One proxy's own resources, each list in translation order (merged into the shared maps). */
export interface LocalTranslation {
  listeners: ReadonlyArray<[string, JsonObject]>;
  routes: ReadonlyArray<[string, JsonObject]>;
  clusters: ReadonlyArray<[string, JsonObject]>;
  /** The maps last merged from these and a shared translation's (by type): when the shared map
   * is the same object again, so is the merged one. */
  merged: Map<
    string,
    { shared: ReadonlyMap<string, JsonObject>; out: ReadonlyMap<string, JsonObject> }
  >;
}

/** Local translations by localKey; entries outlive snapshot versions (the key says when one
 * applies), the owner prunes them. */
export type LocalTranslationCache = Map<string, LocalTranslation>;

interface AddressedEndpoint {
  hostname: string;
  namespace: string;
  servicePort: number;
  endpoint: Endpoint;
  /** Position in the services × ports × endpoints walk: orders one proxy's endpoints. */
  seq: number;
}

interface SnapshotIndex {
  byAddress: ReadonlyMap<string, readonly AddressedEndpoint[]>;
  /** hostname → namespaces of the registry's services (endpointsOf's direct lookups). */
  services: ReadonlyMap<string, ReadonlySet<string>>;
  /** The namespaces and their labels, as text (the view passes them on). */
  namespaces: string;
}

const indexes = new WeakMap<MeshSnapshot, SnapshotIndex>();

/** Every service port's endpoints by address, in services × ports × endpoints order. */
function indexOf(snapshot: MeshSnapshot): SnapshotIndex {
  let index = indexes.get(snapshot);
  if (!index) {
    const byAddress = new Map<string, AddressedEndpoint[]>();
    const services = new Map<string, Set<string>>();
    let seq = 0;
    for (const service of snapshot.services) {
      const { hostname, namespace } = service;
      services.set(hostname, (services.get(hostname) ?? new Set()).add(namespace));
      for (const port of service.ports) {
        for (const endpoint of snapshot.endpointsOf(hostname, port.port, namespace)) {
          const list = byAddress.get(endpoint.address) ?? [];
          list.push({ hostname, namespace, servicePort: port.port, endpoint, seq: seq++ });
          byAddress.set(endpoint.address, list);
        }
      }
    }
    index = { byAddress, services, namespaces: JSON.stringify([...snapshot.namespaces]) };
    indexes.set(snapshot, index);
  }
  return index;
}

/** The endpoints at the proxy's IPs, in the order endpointsOf walks would meet them. */
function ownEndpoints(index: SnapshotIndex, proxy: ProxyNode): AddressedEndpoint[] {
  const own: AddressedEndpoint[] = [];
  for (const ip of new Set(proxy.ips)) own.push(...(index.byAddress.get(ip) ?? []));
  return own.sort((a, b) => a.seq - b.seq);
}

/*
 * What a sidecar's own translators (buildSidecarInboundListeners, buildLocalHttpProxyListener,
 * buildInboundClusters / buildSidecarIngressClusters and all they call) may read is what
 * localView below gives them, and the key covers each part of it:
 * - the proxy node, and the translate options that reach them (mode, app address): in the key;
 * - config, services, mesh config, fetched key sets: localConfigVersion, which leaves out
 *   VirtualServices and Gateways — not in the view — and Pods, Endpoints and EndpointSlices,
 *   which feed only endpoints and workloads;
 * - endpoints: the view answers endpointsOf with those at the proxy's own IPs only (the
 *   translators look for this workload's service ports, istiod's ServiceTargets); the key lists
 *   them with their service and port, in the order the translators meet them (the first
 *   endpoint of a service port decides its target port);
 * - workloads: not in the view (reading them throws, as does reading the routing config);
 * - namespaces (Pods name some): in the key;
 * - the Sidecar scope: the view's scope keeps only what the Sidecar resource, services and
 *   mesh config give (sidecar, ingress listeners, outbound traffic policy), all covered above.
 * Gateways and proxyless clients build their own listeners from outbound state: they get no
 * key (undefined: translate every time), as does a snapshot without a localConfigVersion.
 */
export function localKey(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  options: { mode: string; appAddress: string | undefined },
): string | undefined {
  if (proxy.kind !== "sidecar" || snapshot.localConfigVersion === undefined) return undefined;
  const index = indexOf(snapshot);
  return JSON.stringify([
    snapshot.localConfigVersion,
    index.namespaces,
    options.mode,
    options.appAddress ?? null,
    proxy,
    ownEndpoints(index, proxy).map((e) => [e.hostname, e.namespace, e.servicePort, e.endpoint]),
  ]);
}

/**
 * The snapshot and scope a sidecar's own translators get: `scoped` (the snapshot seen through
 * the proxy's Sidecar scope) without routing config, other workloads' endpoints, workloads, and
 * the scope's egress part — what localKey does not cover. Reading one of those throws.
 */
export function localView(
  snapshot: MeshSnapshot,
  scoped: MeshSnapshot,
  proxy: ProxyNode,
  scope: SidecarScope,
): { snapshot: MeshSnapshot; scope: SidecarScope } {
  const index = indexOf(snapshot);
  const own = new Map<string, Map<string, Map<number, Endpoint[]>>>();
  for (const e of ownEndpoints(index, proxy)) {
    const byNamespace = own.get(e.hostname) ?? new Map<string, Map<number, Endpoint[]>>();
    const byPort = byNamespace.get(e.namespace) ?? new Map<number, Endpoint[]>();
    byPort.set(e.servicePort, [...(byPort.get(e.servicePort) ?? []), e.endpoint]);
    byNamespace.set(e.namespace, byPort);
    own.set(e.hostname, byNamespace);
  }
  const ips = new Set(proxy.ips);
  // What the key does not cover is not there: reading it fails loudly instead of serving a
  // translation that the key would keep after it went stale.
  const config = withoutFields({ ...scoped.config }, ["virtualServices", "gateways"], "config.");
  const view = withoutFields(
    {
      ...scoped,
      config,
      servicesVisibleFrom: (namespace: string) => snapshot.servicesVisibleFrom(namespace),
      endpointsOf: (hostname: string, port: number, namespace?: string) => {
        // A registry service's own hostname and namespace (what the index walked): answered
        // from the index; anything else is resolved by the snapshot and narrowed the same way.
        if (namespace !== undefined && index.services.get(hostname)?.has(namespace))
          return own.get(hostname)?.get(namespace)?.get(port) ?? [];
        return snapshot.endpointsOf(hostname, port, namespace).filter((e) => ips.has(e.address));
      },
    },
    ["workloads", "workloadsMatching"],
    "",
  );
  const localScope = withoutFields(
    {
      ...(scope.sidecar ? { sidecar: scope.sidecar } : {}),
      ingressListeners: scope.ingressListeners,
      outboundTrafficPolicy: scope.outboundTrafficPolicy,
    },
    ["egressListeners", "services", "virtualServices"],
    "scope.",
  );
  return { snapshot: view as MeshSnapshot, scope: localScope as SidecarScope };
}

/** `object` with `fields` that throw when read (CREMA_BASE_INTERNAL: a translator bug). */
function withoutFields<T extends object>(object: T, fields: readonly string[], prefix: string): T {
  for (const field of fields) {
    Object.defineProperty(object, field, {
      enumerable: false,
      get: () => {
        throw new CremaError(
          "CREMA_BASE_INTERNAL",
          `a sidecar's own translation read ${prefix}${field}, which localKey does not cover (translate/local-proxy.ts): add it to the key and to localView`,
        );
      },
    });
  }
  return object;
}
