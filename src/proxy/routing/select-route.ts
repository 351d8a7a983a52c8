// The per-request walk over a compiled route table — virtual host, first matching route, cluster
// pick, rewrites, redirect Location — plus what the HTTP connection manager and the router need
// afterwards: header mutations in Envoy's order, per-filter configs, mirror sampling.
import { firstHeader, firstRequestHeader } from "./header-matcher.ts";
import { applyHeaderMutation, type HeaderFormatContext } from "./header-mutation.ts";
import { forwardedPath, redirectLocation, rewrittenHost } from "./path-rewrite.ts";
import { fractionHit, matchRoute, matchScratch } from "./route-match.ts";
import type {
  CompiledClusterWeight,
  CompiledRoute,
  CompiledRouteConfig,
  CompiledVirtualHost,
  MirrorPolicy,
  MutableHeaders,
  PerFilterConfig,
  RandomSource,
  RouteAction,
  RouteRequest,
} from "./types.ts";
import { findVirtualHost } from "./virtual-host-select.ts";
import { pickWeightedCluster } from "./weighted-cluster.ts";

export interface RouteMatchResult {
  noRoute?: undefined;
  virtualHost: CompiledVirtualHost;
  route: CompiledRoute;
  action: RouteAction;
  /** The upstream cluster; absent when a cluster_header is missing (the router answers 503/404). */
  clusterName?: string;
  weightedCluster?: CompiledClusterWeight;
  /** The upstream `:path` when the route rewrites it (the router sets x-envoy-original-path). */
  pathAfterRewrite?: string;
  /** The upstream authority when a host rewrite applies (auto_host_rewrite is the router's). */
  hostRewrite?: string;
  /** A redirect's Location. */
  redirectUrl?: string;
}

/** No virtual host (virtualHost absent) or no route in it: Envoy's 404 with response flag NR. */
export interface NoRouteResult {
  noRoute: true;
  virtualHost?: CompiledVirtualHost;
}

export type RouteSelection = RouteMatchResult | NoRouteResult;

const NO_VIRTUAL_HOST: NoRouteResult = Object.freeze({ noRoute: true });

function resolve(
  vhost: CompiledVirtualHost,
  route: CompiledRoute,
  req: RouteRequest,
  random: RandomSource,
): RouteMatchResult {
  const action = route.action;
  const result: RouteMatchResult = {
    virtualHost: vhost,
    route,
    action,
    clusterName: undefined,
    weightedCluster: undefined,
    pathAfterRewrite: undefined,
    hostRewrite: undefined,
    redirectUrl: undefined,
  };
  if (action.kind === "redirect") {
    result.redirectUrl = redirectLocation(route.match, action, req);
  } else if (action.kind === "route") {
    const c = action.cluster;
    let clusterName: string | undefined;
    let weighted: CompiledClusterWeight | undefined;
    if (c.kind === "cluster") clusterName = c.name;
    else if (c.kind === "cluster_header") clusterName = firstRequestHeader(req, c.header);
    else if (c.kind === "weighted_clusters") {
      weighted = pickWeightedCluster(c.weighted, req.headers, random);
      result.weightedCluster = weighted;
      clusterName = weighted.name ?? firstRequestHeader(req, weighted.clusterHeader ?? "");
    }
    if (clusterName) result.clusterName = clusterName;
    result.pathAfterRewrite = forwardedPath(route.match, action, req.path);
    result.hostRewrite = rewrittenHost(action, weighted, req);
  }
  return result;
}

/**
 * Selects the virtual host, route and cluster for a request. `random` is drawn only for
 * runtime_fraction matches and weighted cluster picks, so a deterministic source gives
 * deterministic results.
 */
export function selectRoute(
  config: CompiledRouteConfig,
  req: RouteRequest,
  random: RandomSource = Math.random,
): RouteSelection {
  const vhost = findVirtualHost(config.hostIndex, req.authority, config.ignorePortInHostMatching);
  if (vhost === undefined) return NO_VIRTUAL_HOST;
  if (vhost.requireTls !== "NONE") {
    const proto = firstHeader(req.headers, "x-forwarded-proto") ?? req.scheme;
    const internal = firstHeader(req.headers, "x-envoy-internal") === "true";
    if (proto !== "https" && (vhost.requireTls === "ALL" || !internal)) {
      return resolve(vhost, vhost.sslRedirectRoute, req, random);
    }
  }
  const scratch = matchScratch(req, config.ignorePathParametersInPathMatching);
  const routes = vhost.routes;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    if (matchRoute(route.match, scratch, random)) return resolve(vhost, route, req, random);
  }
  return { noRoute: true, virtualHost: vhost };
}

/**
 * Request header mutations of the selection, in Envoy's order: the weighted cluster's first, then
 * route → virtual host → route configuration (reversed by most_specific_header_mutations_wins).
 * Mutates `headers` in place.
 */
export function applyRequestHeaderMutations(
  selection: RouteMatchResult,
  headers: MutableHeaders,
  ctx?: HeaderFormatContext,
): MutableHeaders {
  if (selection.weightedCluster)
    applyHeaderMutation(headers, selection.weightedCluster.requestHeaders, ctx);
  for (const m of selection.route.requestMutationChain) applyHeaderMutation(headers, m, ctx);
  return headers;
}

/** Response header mutations of the selection, in the same order as the request's. */
export function applyResponseHeaderMutations(
  selection: RouteMatchResult,
  headers: MutableHeaders,
  ctx?: HeaderFormatContext,
): MutableHeaders {
  if (selection.weightedCluster)
    applyHeaderMutation(headers, selection.weightedCluster.responseHeaders, ctx);
  for (const m of selection.route.responseMutationChain) applyHeaderMutation(headers, m, ctx);
  return headers;
}

/**
 * The headers of a direct response or redirect, on top of its own (`location`): Envoy's router
 * finalizes them like an upstream response's (response_headers_to_add and _to_remove of route,
 * virtual host and route configuration).
 */
export function directResponseHeaders(
  selection: RouteMatchResult,
  own: MutableHeaders,
  ctx?: HeaderFormatContext,
): Record<string, string | string[]> {
  const headers: MutableHeaders = { ...own };
  applyResponseHeaderMutations(selection, headers, { ...ctx, responseHeaders: headers });
  return wireHeaders(headers);
}

/**
 * A header map without undefined values (a mutation's removal leaves one behind): what node's
 * writers and local replies accept.
 */
export function wireHeaders(headers: MutableHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/**
 * A filter's per-route configs, least specific first: route configuration, virtual host, route,
 * weighted cluster (Envoy's perFilterConfigs; a filter merging them applies them in this order).
 */
export function perFilterConfigs(
  config: CompiledRouteConfig,
  selection: RouteSelection,
  filterName: string,
): PerFilterConfig[] {
  const out: PerFilterConfig[] = [];
  const levels = [
    config.typedPerFilterConfig,
    selection.virtualHost?.typedPerFilterConfig,
    selection.noRoute ? undefined : selection.route.typedPerFilterConfig,
    selection.noRoute ? undefined : selection.weightedCluster?.typedPerFilterConfig,
  ];
  for (const level of levels) {
    const entry = level?.[filterName];
    if (entry && !entry.disabled) out.push(entry);
  }
  return out;
}

/** The most specific per-route config of a filter (Envoy's mostSpecificPerFilterConfig). */
export function mostSpecificPerFilterConfig(
  config: CompiledRouteConfig,
  selection: RouteSelection,
  filterName: string,
): PerFilterConfig | undefined {
  return perFilterConfigs(config, selection, filterName).at(-1);
}

/** Whether the most specific level that mentions the filter disables it (FilterConfig.disabled). */
export function filterDisabled(
  config: CompiledRouteConfig,
  selection: RouteSelection,
  filterName: string,
): boolean | undefined {
  const levels = [
    selection.noRoute ? undefined : selection.weightedCluster?.typedPerFilterConfig,
    selection.noRoute ? undefined : selection.route.typedPerFilterConfig,
    selection.virtualHost?.typedPerFilterConfig,
    config.typedPerFilterConfig,
  ];
  for (const level of levels) {
    const entry = level?.[filterName];
    if (entry) return entry.disabled;
  }
  return undefined;
}

/** Whether a mirror policy samples this request (runtime_fraction; absent = 100 %). */
export function mirrorSampled(policy: MirrorPolicy, random: RandomSource = Math.random): boolean {
  return fractionHit(policy.fraction, random);
}
