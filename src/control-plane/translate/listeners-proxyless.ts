// Listeners for proxyless gRPC clients, as Istio's grpcgen/lds.go builds them: API listeners named
// `host:port` (one per name the client may ask for) holding an HCM with only what gRPC supports —
// fault and router filters and RDS over ADS for `outbound|port||host` — and, for xDS servers,
// `xds.istio.io/grpc/lds/inbound/<ip>:<port>` listeners with a non-forwarding route.
import { buildClusterName } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { Service } from "../model/service.ts";
import { FAULT_FILTER, HCM_TYPE, ROUTER_FILTER } from "./http-connection-manager.ts";
import { type ListenerContext, socketAddress, typed, WILDCARD_IPV4 } from "./listener-common.ts";
import { inboundPorts } from "./listeners-inbound.ts";

/** Prefix of the listener names gRPC xDS servers request (Istio's grpcxds.ServerListenerNamePrefix). */
export const GRPC_SERVER_LISTENER_PREFIX = "xds.istio.io/grpc/lds/inbound/";

/** gRPC reads the route configuration named after the cluster (Istio: grpcgen clusterKey). */
export function proxylessRouteName(hostname: string, port: number): string {
  return buildClusterName({ direction: "outbound", port, subset: "", host: hostname });
}

function splitHostPort(name: string): { host: string; port?: string } {
  const bracket = /^\[(.+)\]:(\d+)$/.exec(name);
  if (bracket) return { host: bracket[1]!, port: bracket[2]! };
  const at = name.lastIndexOf(":");
  if (at > 0 && name.indexOf(":") === at && /^\d+$/.test(name.slice(at + 1)))
    return { host: name.slice(0, at), port: name.slice(at + 1) };
  return { host: name };
}

function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

interface NameFilter {
  requested: Set<string>;
  /** Undefined: every port. */
  ports?: Set<string>;
}

/** Istio's tryFindFQDN: short names relative to the proxy's namespace. */
function tryFindFqdn(name: string, ctx: ListenerContext): string | undefined {
  const ns = ctx.proxy.namespace;
  const dnsDomain = `${ns}.svc.${ctx.snapshot.meshConfig.domainSuffix}`;
  if (!name.includes(".")) return `${name}.${dnsDomain}`;
  for (const suffix of [ns, `${ns}.svc`]) {
    if (name.endsWith(`.${suffix}`)) return `${name.slice(0, -suffix.length - 1)}.${dnsDomain}`;
  }
  return undefined;
}

/** Istio's newListenerNameFilter: requested names by FQDN, with the ports asked for. */
function nameFilter(ctx: ListenerContext, names: readonly string[]): Map<string, NameFilter> {
  const filter = new Map<string, NameFilter>();
  for (const name of names) {
    if (name.startsWith(GRPC_SERVER_LISTENER_PREFIX)) continue;
    const { host, port } = splitHostPort(name);
    const fqdn = tryFindFqdn(host, ctx);
    for (const key of fqdn ? [host, fqdn] : [host]) {
      const existing = filter.get(key);
      const entry: NameFilter = existing ?? { requested: new Set() };
      entry.requested.add(host);
      if (port !== undefined && (!existing || entry.ports)) {
        entry.ports ??= new Set();
        entry.ports.add(port);
      } else if (port === undefined) {
        delete entry.ports;
      }
      filter.set(key, entry);
    }
  }
  return filter;
}

/** Names a client in the proxy's namespace may write in `xds:///name:port` when none were requested. */
function defaultNames(ctx: ListenerContext, service: Service): NameFilter {
  const requested = new Set([service.hostname]);
  const short = `${service.name}.${service.namespace}.svc.${ctx.snapshot.meshConfig.domainSuffix}`;
  if (
    service.kind === "Service" &&
    service.namespace === ctx.proxy.namespace &&
    service.hostname === short
  ) {
    for (const n of [
      service.name,
      `${service.name}.${service.namespace}`,
      `${service.name}.${service.namespace}.svc`,
    ])
      requested.add(n);
  }
  return { requested };
}

function apiListener(name: string, service: Service, port: number): JsonObject {
  return {
    name,
    address: socketAddress(service.addresses[0] ?? WILDCARD_IPV4, port),
    api_listener: {
      api_listener: typed(HCM_TYPE, {
        http_filters: [FAULT_FILTER, ROUTER_FILTER],
        rds: {
          config_source: { ads: {} },
          route_config_name: proxylessRouteName(service.hostname, port),
        },
      }),
    },
  };
}

function serverListener(name: string): JsonObject | undefined {
  const { host, port } = splitHostPort(name.slice(GRPC_SERVER_LISTENER_PREFIX.length));
  if (port === undefined) return undefined;
  const hcm = typed(HCM_TYPE, {
    route_config: {
      name: "inbound",
      virtual_hosts: [
        { domains: ["*"], routes: [{ match: { prefix: "/" }, non_forwarding_action: {} }] },
      ],
    },
    // SEAM (security): gRPC RBAC filters (DENY, then ALLOW) go before the router.
    http_filters: [ROUTER_FILTER],
  });
  return {
    name,
    address: socketAddress(host, Number(port)),
    // SEAM (security): an mTLS chain with a DownstreamTlsContext when the port is STRICT.
    filter_chains: [
      { name: "inbound-plaintext", filters: [{ name: "inbound-hcmplaintext", typed_config: hcm }] },
    ],
  };
}

/**
 * API listeners for every visible service port. With `requestedNames` (the names in the client's LDS
 * subscription) the listeners are exactly Istio's for those names; without, the FQDN plus the short
 * forms a client in the proxy's namespace may write (`name`, `name.ns`, `name.ns.svc`) are produced.
 */
export function buildProxylessListeners(
  ctx: ListenerContext,
  requestedNames?: readonly string[],
): JsonObject[] {
  const filter = requestedNames ? nameFilter(ctx, requestedNames) : undefined;
  const out: JsonObject[] = [];
  for (const service of ctx.scope.services) {
    const match = filter ? filter.get(service.hostname) : defaultNames(ctx, service);
    if (!match) continue;
    for (const requested of [...match.requested].sort()) {
      for (const port of service.ports) {
        if (match.ports && !match.ports.has(String(port.port))) continue;
        out.push(apiListener(joinHostPort(requested, port.port), service, port.port));
      }
    }
  }
  const servingPorts = new Set(inboundPorts(ctx).map((p) => String(p.targetPort)));
  for (const name of requestedNames ?? []) {
    if (!name.startsWith(GRPC_SERVER_LISTENER_PREFIX)) continue;
    const port = splitHostPort(name.slice(GRPC_SERVER_LISTENER_PREFIX.length)).port;
    const listener =
      port !== undefined && servingPorts.has(port) ? serverListener(name) : undefined;
    if (listener) out.push(listener);
  }
  return out;
}
