// A sidecar's virtual hosts for one outbound port, as Istio's BuildSidecarOutboundVirtualHosts:
// services with a mesh-bound VirtualService get its routes (the first VirtualService per host
// wins, wildcards claim only hosts no more specific one does), the others the default route.
import { hostsOverlap, MESH_GATEWAY } from "../../config/analysis/hosts.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { isHttpProtocol, type Protocol, type Service } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { RouteContext } from "./route-action.ts";
import { domainName, ipv6Compliant, serviceDomains } from "./route-domains.ts";
import { type VirtualServiceView, virtualServiceForHost } from "./route-virtual-services.ts";
import { buildDefaultRoute, buildHttpRoutes } from "./routes-http.ts";

/** What one sidecar egress listener imports: its services and mesh VirtualServices. */
export interface SidecarRouteInput {
  services: readonly Service[];
  virtualServices: readonly VirtualServiceView[];
}

/** HTTP, or sniffed (no protocol declared): Istio's IsHTTPOrSniffed. */
export function isHttpOrSniffed(protocol: Protocol): boolean {
  return isHttpProtocol(protocol) || protocol === "UNSUPPORTED";
}

interface Wrapper {
  port: number;
  services: Service[];
  /** VirtualService hosts not in the registry (on port 80 only, Istio's legacy behaviour). */
  vsHosts: string[];
  routes: JsonObject[];
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** For each service: the VirtualService naming it exactly, else the one with the most specific wildcard. */
function mostSpecificIndex(
  services: readonly Service[],
  virtualServices: readonly VirtualServiceView[],
): Map<string, VirtualServiceView> {
  const index = new Map<string, VirtualServiceView>();
  for (const service of services) {
    const vs = virtualServiceForHost(virtualServices, service.hostname);
    if (vs) index.set(service.hostname, vs);
  }
  return index;
}

/** Istio's separateVSHostsAndServices. */
function separate(
  vs: VirtualServiceView,
  registry: ReadonlyMap<string, Service>,
  index: ReadonlyMap<string, VirtualServiceView>,
): { hosts: string[]; services: Service[] } {
  const hosts: string[] = [];
  const services: Service[] = [];
  for (const host of vs.hosts.filter((h) => !h.startsWith("*"))) {
    const service = registry.get(host);
    if (service) services.push(service);
    else hosts.push(host);
  }
  for (const host of vs.hosts.filter((h) => h.startsWith("*"))) {
    let found = false;
    for (const service of registry.values()) {
      if (!hostsOverlap(service.hostname, host)) continue;
      found = true;
      if (index.get(service.hostname) === vs && !services.includes(service)) services.push(service);
    }
    if (!found) hosts.push(host);
  }
  return { hosts, services };
}

function matchesRegistry(vs: VirtualServiceView, registry: ReadonlyMap<string, Service>): boolean {
  return vs.hosts.some(
    (h) => registry.has(h) || [...registry.keys()].some((s) => hostsOverlap(h, s)),
  );
}

/** The virtual hosts of route configuration `listenPort` for a sidecar, sorted by name. */
export function buildSidecarVirtualHosts(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  input: SidecarRouteInput,
  listenPort: number,
): JsonObject[] {
  const registry = new Map<string, Service>();
  const byHost = new Map<string, Service>();
  for (const service of [...input.services].sort((a, b) => compare(a.hostname, b.hostname))) {
    byHost.set(service.hostname, service);
    const port = service.ports.find((p) => p.port === listenPort);
    if (port) registry.set(service.hostname, { ...service, ports: [port] });
  }
  const ctx: RouteContext = {
    snapshot,
    proxy,
    listenPort,
    gateways: new Set([MESH_GATEWAY]),
    isTls: false,
    lookupService: (host) => byHost.get(host) ?? snapshot.serviceFor(host, proxy.namespace),
  };
  // Istio's legacy behaviour: on port 80 a VirtualService for hosts outside the registry still applies.
  const virtualServices =
    listenPort === 80
      ? input.virtualServices
      : input.virtualServices.filter((vs) => matchesRegistry(vs, registry));
  const index = mostSpecificIndex([...registry.values()], virtualServices);

  const wrappers: Wrapper[] = [];
  const claimed = new Set<string>();
  for (const vs of virtualServices) {
    const routes = buildHttpRoutes(ctx, vs);
    if (routes.length === 0) continue;
    const { hosts, services } = separate(vs, registry, index);
    for (const service of services) claimed.add(service.hostname);
    const onPort = services.filter((s) => s.ports.some((p) => isHttpOrSniffed(p.protocol)));
    if (onPort.length > 0 || listenPort === 80)
      wrappers.push({ port: listenPort, services: onPort, vsHosts: hosts, routes });
  }
  for (const service of registry.values()) {
    if (claimed.has(service.hostname)) continue;
    const port = service.ports[0]!;
    if (!isHttpOrSniffed(port.protocol)) continue;
    const route = buildDefaultRoute(ctx, service, port);
    wrappers.push({ port: listenPort, services: [service], vsHosts: [], routes: [route] });
  }
  return assembleVirtualHosts(wrappers, proxy.namespace, snapshot.meshConfig.domainSuffix);
}

/** Named virtual hosts with de-duplicated domains; a name or domain already taken is skipped. */
function assembleVirtualHosts(
  wrappers: readonly Wrapper[],
  proxyNamespace: string,
  domainSuffix: string,
): JsonObject[] {
  const names = new Set<string>();
  const taken = new Set<string>();
  const knownFqdns = new Set<string>();
  for (const wrapper of wrappers) {
    for (const service of wrapper.services)
      knownFqdns.add(domainName(service.hostname, wrapper.port)).add(service.hostname);
  }
  const out: JsonObject[] = [];
  const build = (hostname: string, wrapper: Wrapper, service: Service | undefined) => {
    const name = domainName(hostname, wrapper.port);
    if (names.has(name)) return;
    names.add(name);
    const { domains, alternates } = service
      ? serviceDomains(service, wrapper.port, proxyNamespace, domainSuffix)
      : { domains: [ipv6Compliant(hostname), name], alternates: [] as string[] };
    const kept = domains.filter((d) => {
      const lower = d.toLowerCase();
      // An expanded short form must not shadow a real FQDN of the same spelling.
      if (taken.has(lower) || (alternates.includes(d) && knownFqdns.has(d))) return false;
      taken.add(lower);
      return true;
    });
    if (kept.length === 0) return;
    out.push({ name, domains: kept, routes: wrapper.routes, include_request_attempt_count: true });
  };
  for (const wrapper of wrappers) {
    for (const host of wrapper.vsHosts) build(host, wrapper, undefined);
    for (const service of wrapper.services) build(service.hostname, wrapper, service);
  }
  return out.sort((a, b) => compare(String(a.name), String(b.name)));
}
