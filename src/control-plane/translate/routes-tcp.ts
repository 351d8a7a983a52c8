// VirtualService `tcp` and `tls` rules for one listener port, reduced to what listeners need:
// the match (destination subnets, port, source labels, SNI hosts) and weighted clusters — after
// Istio's translation-time filtering by source labels, source namespace, gateways and port.
import { MESH_GATEWAY } from "../../config/analysis/hosts.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { destinationCluster } from "./route-action.ts";
import { isObj, num, type Obj, objs, str, stringRecord, strings } from "./route-values.ts";
import type { VirtualServiceView } from "./route-virtual-services.ts";

export interface L4RouteMatch {
  /** CIDRs of the destination; [] for any. */
  destinationSubnets: string[];
  /** The port the match names (already equal to the listener's when present). */
  port?: number;
  sourceLabels: Record<string, string>;
  /** TLS rules only: SNI names; [] for any. */
  sniHosts: string[];
}

export interface L4Route {
  match: L4RouteMatch;
  /** One entry: a plain cluster; several: weighted clusters (zero weights left out). */
  clusters: { name: string; weight: number }[];
  /** The VirtualService the rule came from (for metadata and stats). */
  virtualService: { namespace: string; name: string };
}

export interface L4RouteContext {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
  /** "mesh" on sidecars (the default), `namespace/name` of the Gateway on routers. */
  gateways?: ReadonlySet<string>;
}

/** Istio's matchTCP / matchTLS checks that do not depend on the connection. */
function matchApplies(match: Obj, port: number, ctx: L4RouteContext): boolean {
  const gateways = ctx.gateways ?? new Set([MESH_GATEWAY]);
  const written = strings(match.gateways);
  if (written.length > 0 && !written.some((g) => gateways.has(g))) return false;
  for (const [key, value] of Object.entries(stringRecord(match.sourceLabels)))
    if (ctx.proxy.labels[key] !== value) return false;
  const matchPort = num(match.port);
  if (matchPort !== 0 && matchPort !== port) return false;
  const ns = str(match.sourceNamespace);
  return ns === "" || ns === ctx.proxy.namespace;
}

function clustersOf(rule: Obj, port: number, ctx: L4RouteContext): L4Route["clusters"] {
  const destinations = objs(rule.route).filter((r) => isObj(r.destination));
  const cluster = (d: Obj) => {
    const destination = d.destination as Obj;
    const service = ctx.snapshot.serviceFor(str(destination.host), ctx.proxy.namespace);
    return destinationCluster(destination, service, port);
  };
  if (destinations.length === 1) {
    const only = destinations[0]!;
    return [{ name: cluster(only), weight: num(only.weight) || 100 }];
  }
  return destinations
    .filter((d) => num(d.weight) > 0)
    .map((d) => ({ name: cluster(d), weight: Math.trunc(num(d.weight)) }));
}

function buildL4Routes(
  vs: VirtualServiceView,
  rules: readonly Obj[],
  port: number,
  ctx: L4RouteContext,
): L4Route[] {
  const out: L4Route[] = [];
  const virtualService = { namespace: vs.namespace, name: vs.name };
  for (const rule of rules) {
    const clusters = clustersOf(rule, port, ctx);
    if (clusters.length === 0) continue;
    const matches = objs(rule.match);
    if (matches.length === 0) {
      const match = { destinationSubnets: [], sourceLabels: {}, sniHosts: [] };
      out.push({ match, clusters, virtualService });
      // A rule without match conditions catches everything after it.
      break;
    }
    for (const match of matches) {
      if (!matchApplies(match, port, ctx)) continue;
      const matchPort = num(match.port);
      out.push({
        match: {
          destinationSubnets: strings(match.destinationSubnets),
          ...(matchPort ? { port: matchPort } : {}),
          sourceLabels: stringRecord(match.sourceLabels),
          sniHosts: strings(match.sniHosts).map((h) => h.toLowerCase()),
        },
        clusters,
        virtualService,
      });
    }
  }
  return out;
}

/** The `tcp` rules of `vs` that apply to this proxy on `port`, in order. */
export function buildTcpRoutes(
  vs: VirtualServiceView,
  port: number,
  ctx: L4RouteContext,
): L4Route[] {
  return buildL4Routes(vs, vs.tcp, port, ctx);
}

/** The `tls` rules of `vs` that apply to this proxy on `port`, in order. */
export function buildTlsRoutes(
  vs: VirtualServiceView,
  port: number,
  ctx: L4RouteContext,
): L4Route[] {
  return buildL4Routes(vs, vs.tls, port, ctx);
}
