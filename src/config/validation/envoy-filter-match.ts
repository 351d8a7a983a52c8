// The `match` of an EnvoyFilter config patch, checked as Istio's ValidateEnvoyFilter and the
// EnvoyFilter CRD rules do: the match kind fits applyTo, filter and sub-filter matches are
// named, waypoint matches go with the WAYPOINT context, and deprecated filter names warn.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkPort, checkRegex, isObj, type Obj, present } from "./rules.ts";

const HCM = "envoy.filters.network.http_connection_manager";

/** Deprecated filter names and the names that replace them (pkg/config/xds). */
const DEPRECATED_FILTER_NAMES: Readonly<Record<string, string>> = {
  "envoy.buffer": "envoy.filters.http.buffer",
  "envoy.cors": "envoy.filters.http.cors",
  "envoy.csrf": "envoy.filters.http.csrf",
  "envoy.http_dynamo_filter": "envoy.filters.http.dynamo",
  "envoy.fault": "envoy.filters.http.fault",
  "envoy.grpc_http1_bridge": "envoy.filters.http.grpc_http1_bridge",
  "envoy.grpc_json_transcoder": "envoy.filters.http.grpc_json_transcoder",
  "envoy.grpc_web": "envoy.filters.http.grpc_web",
  "envoy.gzip": "envoy.filters.http.gzip",
  "envoy.health_check": "envoy.filters.http.health_check",
  "envoy.ip_tagging": "envoy.filters.http.ip_tagging",
  "envoy.lua": "envoy.filters.http.lua",
  "envoy.rate_limit": "envoy.filters.http.ratelimit",
  "envoy.router": "envoy.filters.http.router",
  "envoy.squash": "envoy.filters.http.squash",
  "envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
  "envoy.listener.original_dst": "envoy.filters.listener.original_dst",
  "envoy.listener.original_src": "envoy.filters.listener.original_src",
  "envoy.listener.proxy_protocol": "envoy.filters.listener.proxy_protocol",
  "envoy.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
  "envoy.client_ssl_auth": "envoy.filters.network.client_ssl_auth",
  "envoy.ext_authz": "envoy.filters.http.ext_authz or envoy.filters.network.ext_authz",
  "envoy.http_connection_manager": HCM,
  "envoy.mongo_proxy": "envoy.filters.network.mongo_proxy",
  "envoy.ratelimit": "envoy.filters.network.ratelimit",
  "envoy.redis_proxy": "envoy.filters.network.redis_proxy",
  "envoy.tcp_proxy": "envoy.filters.network.tcp_proxy",
};

const LISTENER_CLASS = new Set(["LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER"]);
const ROUTE_CLASS = new Set(["ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE"]);
const OBJECT_MATCHES = ["listener", "routeConfiguration", "cluster"] as const;

function checkDeprecatedName(ctx: ValidationContext, path: FieldPath, name: unknown): void {
  if (typeof name !== "string") return;
  const replacement = DEPRECATED_FILTER_NAMES[name];
  if (!replacement) return;
  ctx.warn(
    path,
    "CREMA_VALIDATION_DEPRECATED",
    `filter name ${JSON.stringify(name)} is deprecated; match on ${replacement} instead`,
  );
}

/** The listener filter-chain filter match; returns false when the patch must be skipped. */
function checkFilterMatch(
  ctx: ValidationContext,
  path: FieldPath,
  filter: Obj,
  applyTo: string,
): boolean {
  if (applyTo === "LISTENER" || applyTo === "FILTER_CHAIN") {
    ctx.warn(
      path,
      "CREMA_VALIDATION_INVALID",
      `a filter match has no effect with applyTo ${applyTo}; remove filterChain.filter or apply to NETWORK_FILTER or HTTP_FILTER`,
    );
  }
  if (typeof filter.name !== "string" || filter.name === "") {
    ctx.error(
      [...path, "name"],
      "CREMA_VALIDATION_REQUIRED",
      `the filter match has no name; set filter.name (e.g. ${HCM})`,
    );
    return false;
  }
  const sub = filter.subFilter;
  if (isObj(sub)) {
    if (applyTo !== "HTTP_FILTER") {
      ctx.error(
        [...path, "subFilter"],
        "CREMA_VALIDATION_INVALID",
        `a subFilter match only works with applyTo HTTP_FILTER, not ${applyTo}; remove subFilter or change applyTo`,
      );
      return false;
    }
    if (filter.name !== HCM && filter.name !== "envoy.http_connection_manager") {
      ctx.error(
        [...path, "name"],
        "CREMA_VALIDATION_INVALID",
        `a subFilter match needs the filter match to be ${HCM}, not ${JSON.stringify(filter.name)}`,
      );
      return false;
    }
    if (typeof sub.name !== "string" || sub.name === "") {
      ctx.error(
        [...path, "subFilter", "name"],
        "CREMA_VALIDATION_REQUIRED",
        "the subFilter match has no name; set subFilter.name (e.g. envoy.filters.http.router)",
      );
      return false;
    }
  }
  checkDeprecatedName(ctx, [...path, "name"], filter.name);
  if (isObj(sub)) checkDeprecatedName(ctx, [...path, "subFilter", "name"], sub.name);
  return true;
}

/** Match kinds that cannot select objects of `applyTo` (Go: listener/route/cluster classes). */
function wrongMatchKind(applyTo: string): readonly string[] {
  if (LISTENER_CLASS.has(applyTo)) return ["routeConfiguration", "cluster"];
  if (ROUTE_CLASS.has(applyTo)) return ["listener", "cluster"];
  if (applyTo === "CLUSTER") return ["listener", "routeConfiguration"];
  return [];
}

/** Checks one patch's match; returns false when Istio would skip the rest of the patch. */
export function checkPatchMatch(
  ctx: ValidationContext,
  path: FieldPath,
  match: Obj,
  applyTo: string,
): boolean {
  const proxy = match.proxy;
  if (isObj(proxy) && typeof proxy.proxyVersion === "string" && proxy.proxyVersion !== "") {
    if (!checkRegex(ctx, [...path, "proxy", "proxyVersion"], proxy.proxyVersion)) return false;
  }
  const context = match.context;
  if (present(match.waypoint) && context !== "WAYPOINT") {
    ctx.error(
      [...path, "waypoint"],
      "CREMA_VALIDATION_INVALID",
      "a waypoint match only works with context WAYPOINT; set context: WAYPOINT or use a listener match",
    );
  }
  if (context === "WAYPOINT") {
    const other = OBJECT_MATCHES.find((m) => present(match[m]));
    if (other) {
      ctx.error(
        [...path, other],
        "CREMA_VALIDATION_INVALID",
        `context WAYPOINT only supports a waypoint match, not ${other}; use match.waypoint instead`,
      );
    }
  }
  if (isObj(match.waypoint) && present(match.waypoint.portNumber)) {
    checkPort(ctx, [...path, "waypoint", "portNumber"], match.waypoint.portNumber);
  }
  const wrong = wrongMatchKind(applyTo).find((m) => present(match[m]));
  if (wrong) {
    const expected = LISTENER_CLASS.has(applyTo)
      ? "listener"
      : ROUTE_CLASS.has(applyTo)
        ? "routeConfiguration"
        : "cluster";
    ctx.error(
      [...path, wrong],
      "CREMA_VALIDATION_INVALID",
      `applyTo ${applyTo} patches ${expected} objects, so it cannot use a ${wrong} match; use match.${expected} instead`,
    );
    if (LISTENER_CLASS.has(applyTo)) return false;
  }
  const listener = match.listener;
  if (LISTENER_CLASS.has(applyTo) && isObj(listener) && isObj(listener.filterChain)) {
    const filter = listener.filterChain.filter;
    if (isObj(filter)) {
      return checkFilterMatch(ctx, [...path, "listener", "filterChain", "filter"], filter, applyTo);
    }
  }
  return true;
}
