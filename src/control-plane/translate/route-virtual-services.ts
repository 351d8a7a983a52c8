// VirtualServices as route translation reads them, normalised as Istio's PushContext does:
// hosts and destination hosts resolved in the VirtualService's namespace, gateway references as
// `namespace/name`, delegates merged into their roots; and which ones bind to a gateway.
import { hostCovers, MESH_GATEWAY } from "../../config/analysis/hosts.ts";
import type { Resource } from "../../config/resource.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { mergeDelegateRules } from "./route-delegates.ts";
import { isObj, type Obj, objs, str, strings } from "./route-values.ts";

export interface VirtualServiceView {
  /** The VirtualService (the root, for rules merged from delegates). */
  resource: Resource;
  namespace: string;
  name: string;
  /** Hosts resolved to FQDNs in the VirtualService's namespace, lowercase. */
  hosts: readonly string[];
  /** "mesh" or `namespace/name`; ["mesh"] when none is written. */
  gateways: readonly string[];
  /** As written ("." kept); ["*"] when none. */
  exportTo: readonly string[];
  http: readonly Obj[];
  tcp: readonly Obj[];
  tls: readonly Obj[];
}

/** Istio's resolveGatewayName: `ns/name`, legacy `name.ns[.svc…]`, or a name in `namespace`. */
export function resolveGatewayName(ref: string, namespace: string): string {
  if (ref === MESH_GATEWAY) return ref;
  const slash = ref.indexOf("/");
  if (slash >= 0) {
    const ns = ref.slice(0, slash);
    return `${ns === "." ? namespace : ns}/${ref.slice(slash + 1)}`;
  }
  const dot = ref.indexOf(".");
  if (dot >= 0) {
    const [name, ns] = ref.split(".");
    return `${ns}/${name}`;
  }
  return `${namespace}/${ref}`;
}

function resolveRules(snapshot: MeshSnapshot, rules: unknown, namespace: string): Obj[] {
  const resolveDestination = (d: unknown) => {
    if (isObj(d) && typeof d.host === "string") d.host = snapshot.resolveHost(d.host, namespace);
  };
  const out = objs(structuredClone(rules));
  for (const rule of out) {
    for (const match of objs(rule.match)) {
      if (Array.isArray(match.gateways))
        match.gateways = strings(match.gateways).map((g) => resolveGatewayName(g, namespace));
    }
    for (const route of objs(rule.route)) resolveDestination(route.destination);
    resolveDestination(rule.mirror);
    for (const mirror of objs(rule.mirrors)) resolveDestination(mirror.destination);
  }
  return out;
}

function exportToOf(resource: Resource): string[] {
  const written = strings(resource.spec.exportTo);
  return written.length ? written : ["*"];
}

function visibleTo(exportTo: readonly string[], owner: string, namespace: string): boolean {
  return exportTo.some((e) => e === "*" || (e === "." ? owner === namespace : e === namespace));
}

function normalize(snapshot: MeshSnapshot): VirtualServiceView[] {
  const delegates = new Map<string, { resource: Resource; http: Obj[] }>();
  for (const resource of snapshot.config.virtualServices) {
    if (strings(resource.spec.hosts).length > 0) continue;
    const http = resolveRules(snapshot, resource.spec.http, resource.namespace);
    delegates.set(`${resource.namespace}/${resource.name}`, { resource, http });
  }
  const out: VirtualServiceView[] = [];
  for (const resource of snapshot.config.virtualServices) {
    const { namespace, spec } = resource;
    const hosts = strings(spec.hosts).map((h) => snapshot.resolveHost(h, namespace).toLowerCase());
    if (hosts.length === 0) continue;
    const http: Obj[] = [];
    for (const rule of resolveRules(snapshot, spec.http, namespace)) {
      if (!isObj(rule.delegate)) {
        http.push(rule);
        continue;
      }
      const key = `${str(rule.delegate.namespace) || namespace}/${str(rule.delegate.name)}`;
      const delegate = delegates.get(key);
      // A missing delegate, or one not exported to the root's namespace, drops only this rule.
      if (
        !delegate ||
        !visibleTo(exportToOf(delegate.resource), delegate.resource.namespace, namespace)
      )
        continue;
      http.push(...mergeDelegateRules(rule, delegate.http));
    }
    const gateways = strings(spec.gateways).map((g) => resolveGatewayName(g, namespace));
    out.push({
      resource,
      namespace,
      name: resource.name,
      hosts,
      gateways: gateways.length ? gateways : [MESH_GATEWAY],
      exportTo: exportToOf(resource),
      http,
      tcp: resolveRules(snapshot, spec.tcp, namespace),
      tls: resolveRules(snapshot, spec.tls, namespace),
    });
  }
  return out;
}

const views = new WeakMap<MeshSnapshot, VirtualServiceView[]>();

/** Every VirtualService with hosts, normalised, in creation order (delegates merged, not listed). */
export function virtualServiceViews(snapshot: MeshSnapshot): readonly VirtualServiceView[] {
  let cached = views.get(snapshot);
  if (!cached) {
    cached = normalize(snapshot);
    views.set(snapshot, cached);
  }
  return cached;
}

/** The view of one VirtualService resource (undefined for delegates). */
export function viewOf(snapshot: MeshSnapshot, resource: Resource): VirtualServiceView | undefined {
  return virtualServiceViews(snapshot).find((v) => v.resource === resource);
}

/**
 * VirtualServices bound to `gateway` ("mesh" or `ns/name`) and visible from `namespace`, in
 * Istio's order: private to the namespace, exported to it by name, then public — each oldest first.
 */
export function virtualServicesForGateway(
  snapshot: MeshSnapshot,
  namespace: string,
  gateway: string,
): VirtualServiceView[] {
  const bound = virtualServiceViews(snapshot).filter((v) => v.gateways.includes(gateway));
  const rank = (v: VirtualServiceView): number => {
    if (v.exportTo.includes("*")) return 2;
    if (v.exportTo.includes(".") && v.namespace === namespace) return 0;
    return v.exportTo.includes(namespace) ? 1 : -1;
  };
  return [0, 1, 2].flatMap((r) => bound.filter((v) => rank(v) === r));
}

/**
 * The VirtualService that governs `hostname` among `candidates` (ordered, first wins): one
 * naming it exactly, else the one with the most specific wildcard covering it.
 */
export function virtualServiceForHost(
  candidates: readonly VirtualServiceView[],
  hostname: string,
): VirtualServiceView | undefined {
  const exact = candidates.find((vs) => vs.hosts.includes(hostname));
  if (exact) return exact;
  let best: { vs: VirtualServiceView; length: number } | undefined;
  for (const vs of candidates) {
    for (const host of vs.hosts) {
      if (!host.startsWith("*") || !hostCovers(host, hostname)) continue;
      if (!best || host.length > best.length) best = { vs, length: host.length };
    }
  }
  return best?.vs;
}
