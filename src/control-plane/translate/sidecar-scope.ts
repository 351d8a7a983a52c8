// The Sidecar resource's scoping, as Istio's SidecarScope: which Sidecar applies to a proxy, the
// services and VirtualServices each egress listener imports, ingress listeners and the outbound
// traffic policy. Every translator works from the services this scope makes visible.
import { compareStrings } from "../../base/compare.ts";
import { hostsOverlap, MESH_GATEWAY } from "../../config/analysis/hosts.ts";
import { selectorMatches, stringList, stringMap } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import type { OutboundTrafficPolicyMode } from "../model/mesh-config.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { type Protocol, protocolOf, type Service } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { virtualServicesForGateway } from "./route-virtual-services.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface ScopePort {
  number: number;
  protocol: Protocol;
  name: string;
}

/** An egress `hosts` entry: `namespace/host` with "." resolved to the proxy's namespace. */
export interface EgressHost {
  /** A namespace, "*" for any, or "~" for none. */
  namespace: string;
  host: string;
}

export interface EgressListenerScope {
  port?: ScopePort;
  bind?: string;
  captureMode?: string;
  hosts: readonly EgressHost[];
  /** Imported services; with a port, only services that have it, narrowed to that port. */
  services: readonly Service[];
  virtualServices: readonly Resource[];
}

export interface IngressListenerScope {
  port: ScopePort;
  bind?: string;
  captureMode?: string;
  defaultEndpoint?: string;
  /** The listener's own `connectionPool` (ConnectionPoolSettings). */
  connectionPool?: Obj;
}

export interface EgressProxy {
  host: string;
  subset?: string;
  port?: number;
}

export interface SidecarScope {
  /** The Sidecar in effect, if any (gateways never use one). */
  sidecar?: Resource;
  /** Port-specific listeners in written order, then the catch-all one. */
  egressListeners: readonly EgressListenerScope[];
  ingressListeners: readonly IngressListenerScope[];
  /** Union of the egress listeners' services (all ports), sorted like the snapshot. */
  services: readonly Service[];
  virtualServices: readonly Resource[];
  outboundTrafficPolicy: { mode: OutboundTrafficPolicyMode; egressProxy?: EgressProxy };
}

function selectorOf(sidecar: Resource): Record<string, string> | undefined {
  const selector = sidecar.spec.workloadSelector;
  const labels = isObj(selector) ? stringMap(selector.labels) : {};
  return Object.keys(labels).length ? labels : undefined;
}

/** Istio's choice: a selecting Sidecar in the proxy's namespace, its namespace default, the root default. */
export function sidecarFor(snapshot: MeshSnapshot, proxy: ProxyNode): Resource | undefined {
  if (proxy.kind === "router") return undefined;
  const sidecars = snapshot.config.sidecars;
  const inNamespace = sidecars.filter((s) => s.namespace === proxy.namespace);
  const selecting = inNamespace.find((s) => {
    const selector = selectorOf(s);
    return selector !== undefined && selectorMatches(selector, proxy.labels);
  });
  return (
    selecting ??
    inNamespace.find((s) => !selectorOf(s)) ??
    sidecars.find((s) => s.namespace === snapshot.meshConfig.rootNamespace && !selectorOf(s))
  );
}

function parsePort(value: unknown): ScopePort | undefined {
  if (!isObj(value) || typeof value.number !== "number" || value.number === 0) return undefined;
  const name = typeof value.name === "string" ? value.name : "";
  const protocol = typeof value.protocol === "string" ? value.protocol : undefined;
  return { number: value.number, name, protocol: protocolOf({ name: protocol ?? name }) };
}

export function parseEgressHost(entry: string, proxyNamespace: string): EgressHost {
  const slash = entry.indexOf("/");
  const ns = slash < 0 ? "*" : entry.slice(0, slash);
  const host = (slash < 0 ? entry : entry.slice(slash + 1)).toLowerCase();
  return { namespace: ns === "." ? proxyNamespace : ns, host };
}

function namespaceMatches(entry: EgressHost, namespace: string): boolean {
  return entry.namespace === "*" || entry.namespace === namespace;
}

/** Whether an egress host entry imports `hostname` owned by `namespace`. */
export function egressHostImports(entry: EgressHost, namespace: string, hostname: string): boolean {
  return namespaceMatches(entry, namespace) && hostsOverlap(entry.host, hostname);
}

function narrowToPort(service: Service, port: ScopePort | undefined): Service | undefined {
  if (!port) return service;
  const match = service.ports.find((p) => p.port === port.number);
  return match ? { ...service, ports: [match] } : undefined;
}

/** Mesh-bound VirtualServices visible from `namespace`, in Istio's order (private, named, public). */
export function meshVirtualServices(snapshot: MeshSnapshot, namespace: string): Resource[] {
  return virtualServicesForGateway(snapshot, namespace, MESH_GATEWAY).map((v) => v.resource);
}

/** Hosts a VirtualService sends traffic to (route, mirror destinations), resolved in its namespace. */
function destinationHosts(snapshot: MeshSnapshot, vs: Resource): string[] {
  const hosts = new Set<string>();
  const add = (d: unknown) => {
    if (isObj(d) && typeof d.host === "string")
      hosts.add(snapshot.resolveHost(d.host, vs.namespace));
  };
  for (const kind of ["http", "tcp", "tls"]) {
    for (const rule of Array.isArray(vs.spec[kind]) ? (vs.spec[kind] as unknown[]) : []) {
      if (!isObj(rule)) continue;
      for (const r of Array.isArray(rule.route) ? rule.route : []) if (isObj(r)) add(r.destination);
      add(rule.mirror);
      for (const m of Array.isArray(rule.mirrors) ? rule.mirrors : [])
        if (isObj(m)) add(m.destination);
    }
  }
  return [...hosts];
}

function buildEgressListener(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  visible: readonly Service[],
  listener: Obj,
): EgressListenerScope {
  const hosts = stringList(listener.hosts).map((h) => parseEgressHost(h, proxy.namespace));
  const port = parsePort(listener.port);
  const imports = (ns: string, host: string) => hosts.some((h) => egressHostImports(h, ns, host));
  const byHost = new Map<string, Service>();
  for (const service of visible) {
    if (!imports(service.namespace, service.hostname)) continue;
    const earlier = byHost.get(service.hostname);
    // One namespace per hostname: the proxy's own namespace wins (Istio's selectServices).
    if (!earlier || service.namespace === proxy.namespace) byHost.set(service.hostname, service);
  }
  const virtualServices = meshVirtualServices(snapshot, proxy.namespace).filter((vs) =>
    stringList(vs.spec.hosts).some((h) =>
      imports(vs.namespace, snapshot.resolveHost(h, vs.namespace)),
    ),
  );
  // Services that imported VirtualServices route to are added too (Istio ≥ 1.20).
  for (const vs of virtualServices) {
    for (const host of destinationHosts(snapshot, vs)) {
      if (byHost.has(host)) continue;
      const candidates = visible.filter((s) => s.hostname === host);
      const pick = candidates.find((s) => s.namespace === proxy.namespace) ?? candidates[0];
      if (pick) byHost.set(host, pick);
    }
  }
  const services = [...byHost.values()]
    .map((s) => narrowToPort(s, port))
    .filter((s): s is Service => s !== undefined);
  return {
    ...(port ? { port } : {}),
    ...(typeof listener.bind === "string" && listener.bind ? { bind: listener.bind } : {}),
    ...(typeof listener.captureMode === "string" ? { captureMode: listener.captureMode } : {}),
    hosts,
    services: sortServices(services),
    virtualServices,
  };
}

function sortServices(services: Service[]): Service[] {
  return services.sort((a, b) =>
    a.hostname === b.hostname
      ? compareStrings(a.namespace, b.namespace)
      : a.hostname < b.hostname
        ? -1
        : 1,
  );
}

function parseIngress(value: unknown): IngressListenerScope | undefined {
  if (!isObj(value)) return undefined;
  const port = parsePort(value.port);
  if (!port) return undefined;
  return {
    port,
    ...(typeof value.bind === "string" && value.bind ? { bind: value.bind } : {}),
    ...(typeof value.captureMode === "string" ? { captureMode: value.captureMode } : {}),
    ...(typeof value.defaultEndpoint === "string"
      ? { defaultEndpoint: value.defaultEndpoint }
      : {}),
    ...(isObj(value.connectionPool) ? { connectionPool: value.connectionPool } : {}),
  };
}

function outboundPolicy(
  snapshot: MeshSnapshot,
  sidecar: Resource | undefined,
): SidecarScope["outboundTrafficPolicy"] {
  const policy = sidecar?.spec.outboundTrafficPolicy;
  if (!isObj(policy)) return { mode: snapshot.meshConfig.outboundTrafficPolicy };
  // The Sidecar API's enum defaults to REGISTRY_ONLY when the policy is present without a mode.
  const mode: OutboundTrafficPolicyMode =
    policy.mode === "ALLOW_ANY" ? "ALLOW_ANY" : "REGISTRY_ONLY";
  const proxy = policy.egressProxy;
  if (mode !== "ALLOW_ANY" || !isObj(proxy) || typeof proxy.host !== "string") return { mode };
  const port = isObj(proxy.port) && typeof proxy.port.number === "number" ? proxy.port.number : 0;
  return {
    mode,
    egressProxy: {
      host: snapshot.resolveHost(proxy.host, sidecar!.namespace),
      ...(typeof proxy.subset === "string" ? { subset: proxy.subset } : {}),
      ...(port ? { port } : {}),
    },
  };
}

/** The SidecarScope of `proxy`: everything it may see, as Istio computes it for each push. */
export function scopeFor(snapshot: MeshSnapshot, proxy: ProxyNode): SidecarScope {
  const visible = snapshot.servicesVisibleFrom(proxy.namespace);
  const sidecar = sidecarFor(snapshot, proxy);
  const written = sidecar && Array.isArray(sidecar.spec.egress) ? sidecar.spec.egress : [];
  const egressSpecs: Obj[] = written.filter(isObj);
  // No egress section imports everything, like Istio's default `*/*` listener.
  if (egressSpecs.length === 0) egressSpecs.push({ hosts: ["*/*"] });
  const ordered = [
    ...egressSpecs.filter((e) => parsePort(e.port)),
    ...egressSpecs.filter((e) => !parsePort(e.port)),
  ];
  const egressListeners = ordered.map((e) => buildEgressListener(snapshot, proxy, visible, e));
  const ingress = sidecar && Array.isArray(sidecar.spec.ingress) ? sidecar.spec.ingress : [];
  const union = new Map<string, Service>();
  for (const listener of egressListeners) {
    for (const service of listener.services) {
      const key = `${service.namespace}/${service.hostname}`;
      const earlier = union.get(key);
      const extra = service.ports.filter((p) => !earlier?.ports.some((e) => e.port === p.port));
      union.set(key, earlier ? { ...earlier, ports: [...earlier.ports, ...extra] } : service);
    }
  }
  const virtualServices = new Set(egressListeners.flatMap((l) => l.virtualServices));
  return {
    ...(sidecar ? { sidecar } : {}),
    egressListeners,
    ingressListeners: ingress.map(parseIngress).filter((i) => i !== undefined),
    services: sortServices([...union.values()]),
    virtualServices: snapshot.config.virtualServices.filter((vs) => virtualServices.has(vs)),
    outboundTrafficPolicy: outboundPolicy(snapshot, sidecar),
  };
}
