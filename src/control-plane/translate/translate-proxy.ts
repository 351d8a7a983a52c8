// translateProxy: everything one proxy receives (LDS, RDS, CDS, EDS), computed from the snapshot
// seen through the proxy's Sidecar scope. Sidecars get Istio's outbound/virtual/inbound listeners
// (plus the local runtime's bound ones), gateways their server listeners, proxyless gRPC clients
// API listeners; clusters, routes and endpoints come from the cluster and route translators.
import type { Resource } from "../../config/resource.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { protocolOf } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { buildEndpoints } from "./endpoints.ts";
import type { ListenerContext, TranslateMode } from "./listener-common.ts";
import { buildGatewayListeners, gatewayBindPort, mergeServers } from "./listeners-gateway.ts";
import { buildSidecarInboundListeners } from "./listeners-inbound.ts";
import {
  buildLocalHttpProxyListener,
  buildSidecarOutboundListeners,
  buildVirtualOutboundListener,
} from "./listeners-outbound.ts";
import { buildProxylessListeners } from "./listeners-proxyless.ts";
import {
  type LocalTranslation,
  type LocalTranslationCache,
  localKey,
  localView,
} from "./local-proxy.ts";
import { localClusters, sharedClusters } from "./proxy-clusters.ts";
import { type ProxyResources, sortedByName } from "./proxy-resources.ts";
import { reuseUnchanged, reuseUnchangedEntries } from "./reuse-unchanged.ts";
import { buildLocalOutboundRouteConfig, buildSidecarRouteConfigs } from "./route-configs.ts";
import {
  buildGatewayRouteConfigs,
  gatewayServerRouteName,
  type GatewayServer as RoutedServer,
} from "./routes-gateway.ts";
import {
  type SharedTranslation,
  type SharedTranslationCache,
  sharedKey,
  sharedProxyOf,
} from "./shared-proxy.ts";
import { type SidecarScope, scopeFor } from "./sidecar-scope.ts";

/*
 * Local runtime contract (DESIGN §3), for the proxy:
 * - Apps reach their sidecar through HTTP_PROXY at `<podIP>:15001`: the bound `virtualOutbound`
 *   listener. Its HCM accepts absolute-form requests (`allow_absolute_url`) and CONNECT (HTTP/1.1
 *   `upgrade_configs` CONNECT, HTTP/2 `allow_connect`) and routes both by RDS "15001".
 * - What Envoy expresses: in "15001", CONNECT to TCP/TLS/unknown ports matches `connect_matcher`
 *   routes with `upgrade_configs: [{upgrade_type: CONNECT, connect_config: {}}]` — the tunnel is
 *   relayed as TCP to the service's cluster, or to PassthroughCluster / a 502 per the outbound
 *   traffic policy.
 * - What it cannot: terminating a CONNECT to an HTTP port and running the inner HTTP stream through
 *   the same HCM (Envoy would need an internal listener). The crema proxy does this itself: a
 *   CONNECT whose authority matches a non-CONNECT virtual host of "15001" is answered 200, and
 *   every request read from the tunnel goes through the same HCM with `:authority` = the CONNECT
 *   target, as if it had arrived in absolute form.
 * - The `0.0.0.0_<port>` / `<vip>_<port>` listeners keep Istio's `bind_to_port: false` shape; the
 *   proxy may use them as `use_original_dst` would, with the CONNECT target as original destination.
 * - Inbound: `<podIP>_<port>` listeners bind the pod's address and carry the same chains as
 *   virtualInbound; `inbound|<port>||` clusters send to `appAddress` (never the pod IP, which the
 *   sidecar holds). `virtualInbound` binds `<podIP>:15006` so sidecars on one host do not collide.
 */
export interface TranslateOptions {
  /**
   * "local": crema's local runtime (DESIGN §3) — no iptables, so the sidecar also gets bound
   * listeners: the HTTP proxy `virtualOutbound` on `<podIP>:15001` and `<podIP>_<port>` inbound;
   * gateways bind `meshConfig.ingressGatewayPorts`. Default: proxy metadata CREMA_LOCAL_RUNTIME.
   */
  mode?: TranslateMode;
  /** Where the application listens for inbound traffic (default: metadata CREMA_APP_ADDRESS). */
  appAddress?: string;
  /** Proxyless gRPC: the listener names of the client's LDS subscription, for Istio's exact names. */
  listenerNames?: readonly string[];
  /** Shared translations, reused across proxies (see shared-proxy.ts) and, for unchanged
   * resources, across snapshot versions. */
  sharedCache?: SharedTranslationCache;
  /** Sidecars' own resources, reused while their key holds (see local-proxy.ts). */
  localCache?: LocalTranslationCache;
  /** This proxy's previous translation: own resources whose content did not change keep their
   * objects (the shared ones are carried over once per shared translation). */
  previous?: ProxyResources;
}

export function translateMode(proxy: ProxyNode, options: TranslateOptions = {}): TranslateMode {
  if (options.mode) return options.mode;
  const flag = proxy.metadata.CREMA_LOCAL_RUNTIME;
  return flag === "true" || flag === true ? "local" : "standard";
}

/**
 * The snapshot as `proxy` sees it: `servicesVisibleFrom(proxy.namespace)` returns the Sidecar
 * scope's services, mesh VirtualServices are those the scope imports, and the outbound traffic
 * policy is the Sidecar's override. Translators given this view need no Sidecar logic of their own.
 */
export function scopedSnapshot(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  scope: SidecarScope,
): MeshSnapshot {
  const imported = new Set(scope.virtualServices);
  const meshBound = (gateways: unknown) =>
    !Array.isArray(gateways) || gateways.length === 0 || gateways.includes("mesh");
  // Delegates (no hosts) stay, their roots decide; gateway-only VirtualServices are not scoped.
  const isDelegate = (vs: Resource) => !Array.isArray(vs.spec.hosts) || vs.spec.hosts.length === 0;
  const virtualServices = scope.sidecar
    ? snapshot.config.virtualServices.filter(
        (vs) => imported.has(vs) || !meshBound(vs.spec.gateways) || isDelegate(vs),
      )
    : snapshot.config.virtualServices;
  return {
    version: snapshot.version,
    ...(snapshot.localConfigVersion !== undefined
      ? { localConfigVersion: snapshot.localConfigVersion }
      : {}),
    meshConfig: { ...snapshot.meshConfig, outboundTrafficPolicy: scope.outboundTrafficPolicy.mode },
    config: { ...snapshot.config, virtualServices },
    services: snapshot.services,
    workloads: snapshot.workloads,
    namespaces: snapshot.namespaces,
    ...(snapshot.jwks ? { jwks: snapshot.jwks } : {}),
    servicesVisibleFrom: (namespace) =>
      namespace === proxy.namespace ? scope.services : snapshot.servicesVisibleFrom(namespace),
    serviceFor: (hostname, namespace) => snapshot.serviceFor(hostname, namespace),
    endpointsOf: (hostname, port, namespace) => snapshot.endpointsOf(hostname, port, namespace),
    workloadsMatching: (selector, namespace) => snapshot.workloadsMatching(selector, namespace),
    resolveHost: (host, namespace) => snapshot.resolveHost(host, namespace),
  };
}

/**
 * Listeners that do not depend on the proxy's IPs: all but inbound and local bound ones. Proxyless
 * listeners (and so their routes) are per proxy: which ports it serves comes from its IPs.
 */
function sharedListeners(ctx: ListenerContext): JsonObject[] {
  switch (ctx.proxy.kind) {
    case "router":
      // Locally a gateway binds its own pod IP, so its listeners are per proxy.
      return ctx.mode === "local" ? [] : buildGatewayListeners(ctx);
    case "proxyless":
      return [];
    default:
      return [
        ...buildSidecarOutboundListeners(ctx),
        ...(ctx.mode === "local" ? [] : [buildVirtualOutboundListener(ctx)]),
      ];
  }
}

/**
 * IP-bound listeners: a sidecar's local HTTP proxy and inbound ones, a proxyless client's all, a
 * local gateway's all.
 */
function localListeners(ctx: ListenerContext, options: TranslateOptions): JsonObject[] {
  if (ctx.proxy.kind === "proxyless") return buildProxylessListeners(ctx, options.listenerNames);
  if (ctx.proxy.kind === "router") return ctx.mode === "local" ? buildGatewayListeners(ctx) : [];
  return [
    ...(ctx.mode === "local" ? [buildLocalHttpProxyListener(ctx)] : []),
    ...buildSidecarInboundListeners(ctx),
  ];
}

/** gRPC reads `outbound|P||host`: the sidecar's virtual hosts for port P (Istio grpcgen/rds.go). */
function proxylessRoutes(
  view: MeshSnapshot,
  proxy: ProxyNode,
  listeners: readonly JsonObject[],
): JsonObject[] {
  const byPort = buildSidecarRouteConfigs(view, proxy);
  const out: JsonObject[] = [];
  const seen = new Set<string>();
  for (const listener of listeners) {
    const hcm = (listener.api_listener as JsonObject | undefined)?.api_listener as
      | JsonObject
      | undefined;
    const name = (hcm?.rds as JsonObject | undefined)?.route_config_name;
    const port = (listener.address as JsonObject).socket_address as JsonObject;
    if (typeof name !== "string" || seen.has(name)) continue;
    seen.add(name);
    const virtualHosts = (byPort.get(String(port.port_value))?.virtual_hosts ?? []) as JsonObject[];
    // The catch-all hosts lead to Passthrough/BlackHole clusters gRPC does not have.
    const kept = virtualHosts.filter((vh) => vh.name !== "allow_any" && vh.name !== "block_all");
    out.push({ name, virtual_hosts: kept });
  }
  return out;
}

/** The servers left after Istio's per-port merge, in the shape the gateway route builder takes. */
function routedServers(ctx: ListenerContext): RoutedServer[] {
  return [...mergeServers(ctx).values()].flat().map((s) => ({
    gateway: s.gateway,
    gatewayName: s.gatewayName,
    server: s.server,
    port: s.port,
    protocol: protocolOf({ name: s.protocol }),
    routeName: gatewayServerRouteName(s.gateway, s.server),
    bindPort: gatewayBindPort(ctx, s.port),
  }));
}

function routesFor(ctx: ListenerContext): Array<[string, JsonObject]> {
  const { snapshot, proxy } = ctx;
  switch (proxy.kind) {
    case "router":
      return [...buildGatewayRouteConfigs(snapshot, proxy, routedServers(ctx))];
    case "proxyless":
      return []; // per proxy: see localRoutes
    default: {
      const routes: Array<[string, JsonObject]> = [...buildSidecarRouteConfigs(snapshot, proxy)];
      if (ctx.mode === "local") {
        const local = buildLocalOutboundRouteConfig(snapshot, proxy);
        routes.push([String(local.name), local]);
      }
      return routes;
    }
  }
}

function localRoutes(
  ctx: ListenerContext,
  listeners: readonly JsonObject[],
): Array<[string, JsonObject]> {
  if (ctx.proxy.kind !== "proxyless") return [];
  return proxylessRoutes(ctx.snapshot, ctx.proxy, listeners).map((r) => [String(r.name), r]);
}

function byName(resources: Iterable<JsonObject>): Map<string, JsonObject> {
  const out = new Map<string, JsonObject>();
  for (const resource of resources) {
    const name = String(resource.name);
    if (!out.has(name)) out.set(name, resource);
  }
  return sortedByName(out);
}

/**
 * The resources that depend only on `sharedProxyOf(proxy)`: listeners, routes, clusters and
 * endpoints (inbound clusters are never EDS, so endpoints come from these clusters alone).
 */
function translateShared(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  mode: TranslateMode,
): SharedTranslation {
  const scope = scopeFor(snapshot, proxy);
  const view = scopedSnapshot(snapshot, proxy, scope);
  const ctx: ListenerContext = { snapshot: view, proxy, scope, mode };
  const listeners = sharedListeners(ctx);
  const clusters = sharedClusters(ctx);
  const resources = {
    listeners: byName(listeners),
    routes: sortedByName(routesFor(ctx)),
    clusters: sortedByName(clusters),
    endpoints: buildEndpoints(view, proxy, clusters),
  };
  return { resources, scope, version: snapshot.version };
}

/** The shared translation for `key` at this snapshot, keeping an earlier version's unchanged
 * objects (compared once here rather than once per proxy). */
function sharedTranslation(
  snapshot: MeshSnapshot,
  reduced: ProxyNode,
  mode: TranslateMode,
  key: string,
  cache: SharedTranslationCache | undefined,
): SharedTranslation {
  const cached = cache?.get(key);
  if (cached?.version === snapshot.version) return cached;
  const fresh = translateShared(snapshot, reduced, mode);
  const shared = cached
    ? { ...fresh, resources: reuseUnchanged(cached.resources, fresh.resources) }
    : fresh;
  cache?.set(key, shared);
  return shared;
}

function translateLocal(ctx: ListenerContext, options: TranslateOptions): LocalTranslation {
  const listeners = localListeners(ctx, options);
  const previous = options.previous;
  return {
    listeners: reuseUnchangedEntries(
      previous?.listeners,
      listeners.map((l) => [String(l.name), l]),
    ),
    routes: reuseUnchangedEntries(previous?.routes, localRoutes(ctx, listeners)),
    clusters: reuseUnchangedEntries(previous?.clusters, localClusters(ctx, options.appAddress)),
    merged: new Map(),
  };
}

/** Adds `extra` entries whose names `shared` does not have (the shared, outbound ones win). */
function merged(
  shared: ReadonlyMap<string, JsonObject>,
  extra: ReadonlyArray<[string, JsonObject]>,
): ReadonlyMap<string, JsonObject> {
  const out = new Map(shared);
  let added = false;
  for (const [name, resource] of extra) {
    if (out.has(name)) continue;
    out.set(name, resource);
    added = true;
  }
  return added ? sortedByName(out) : shared;
}

/** merged(), remembered per type in `local`: the same shared map gives the same merged map. */
function mergedOnce(
  local: LocalTranslation,
  type: string,
  shared: ReadonlyMap<string, JsonObject>,
  extra: ReadonlyArray<[string, JsonObject]>,
): ReadonlyMap<string, JsonObject> {
  const last = local.merged.get(type);
  if (last?.shared === shared) return last.out;
  const out = merged(shared, extra);
  local.merged.set(type, { shared, out });
  return out;
}

/**
 * Every resource `proxy` receives, each map sorted by name. With `options.sharedCache`, the
 * IP-independent part is shared by every proxy with the same `sharedKey` (same snapshot); with
 * `options.localCache`, a sidecar's own part is kept while its `localKey` is the same.
 */
export function translateProxy(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  options: TranslateOptions = {},
): ProxyResources {
  const mode = translateMode(proxy, options);
  const reduced = sharedProxyOf(snapshot, proxy);
  const key = sharedKey(reduced, mode);
  const shared = sharedTranslation(snapshot, reduced, mode, key, options.sharedCache);
  // The scope reads only kind, namespace and labels, all part of the key.
  const { scope, resources } = shared;
  const ownKey = options.localCache
    ? localKey(snapshot, proxy, { mode, appAddress: options.appAddress })
    : undefined;
  let local = ownKey === undefined ? undefined : options.localCache?.get(ownKey);
  if (!local) {
    const scoped = scopedSnapshot(snapshot, proxy, scope);
    // A sidecar's own translators see only what localKey covers, cached or not, so the two
    // can never disagree.
    const view =
      proxy.kind === "sidecar"
        ? localView(snapshot, scoped, proxy, scope)
        : { snapshot: scoped, scope };
    local = translateLocal({ ...view, proxy, mode }, options);
    if (ownKey !== undefined) options.localCache?.set(ownKey, local);
  }
  return {
    listeners: mergedOnce(local, "listeners", resources.listeners, local.listeners),
    routes: mergedOnce(local, "routes", resources.routes, local.routes),
    clusters: mergedOnce(local, "clusters", resources.clusters, local.clusters),
    endpoints: resources.endpoints,
  };
}
