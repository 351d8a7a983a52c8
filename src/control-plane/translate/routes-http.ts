// A VirtualService's http rules → Envoy routes for one listener port, as Istio's
// BuildHTTPRoutesForVirtualService/TranslateRoute: one route per applicable match entry (same
// action), stopping after a catch-all; plus the default route of a service without one.
import { buildClusterName, parseClusterName } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { Service, ServicePort } from "../model/service.ts";
import { destinationRuleFor } from "./destination-rules.ts";
import { hashPolicyFor } from "./load-balancer.ts";
import {
  applyTimeout,
  type RouteContext,
  translateDirectResponse,
  translateRedirect,
  translateRouteAction,
} from "./route-action.ts";
import { CORS_FILTER, FAULT_FILTER, translateCorsPolicy, translateFault } from "./route-fault.ts";
import { appendHeaderOperations, translateHeaderOperations } from "./route-headers.ts";
import { isCatchAllRoute, matchApplies, translateRouteMatch } from "./route-match.ts";
import { meshDefaultRetries, translateRetryPolicy } from "./route-retry.ts";
import { isObj, type Obj, objs, str } from "./route-values.ts";
import type { VirtualServiceView } from "./route-virtual-services.ts";

export const DEFAULT_ROUTE_NAME = "default";

/** `metadata.filter_metadata.istio.config`: the VirtualService a route came from. */
export function configMetadata(namespace: string, name: string): JsonObject {
  const config = `/apis/networking.istio.io/v1/namespaces/${namespace}/virtual-service/${name}`;
  return { filter_metadata: { istio: { config } } };
}

/** Istio's GetRouteOperation: `host:port/path` for a single cluster, else `vsName:port/path`. */
export function routeOperation(route: JsonObject, vsName: string, port: number): string {
  const match = isObj(route.match) ? route.match : {};
  let path = "/*";
  if (typeof match.prefix === "string") path = `${match.prefix}*`;
  else if (typeof match.path === "string") path = match.path;
  else if (isObj(match.safe_regex)) path = str(match.safe_regex.regex);
  const action = isObj(route.route) ? route.route : {};
  const cluster = typeof action.cluster === "string" ? parseClusterName(action.cluster) : undefined;
  return cluster ? `${cluster.host}:${cluster.port}${path}` : `${vsName}:${port}${path}`;
}

/** One Envoy route for `rule` and one of its match entries; undefined when it does not apply. */
export function translateRoute(
  ctx: RouteContext,
  vs: VirtualServiceView,
  rule: Obj,
  match: Obj | undefined,
): JsonObject | undefined {
  if (!matchApplies(match, ctx.listenPort, ctx.proxy, ctx.gateways)) return undefined;
  const matchName = match ? str(match.name) : "";
  const name = matchName ? `${str(rule.name)}.${matchName}` : str(rule.name);
  const out: JsonObject = {
    ...(name ? { name } : {}),
    match: translateRouteMatch(match),
    metadata: configMetadata(vs.namespace, vs.name),
  };
  if (match && str(match.statPrefix)) out.stat_prefix = str(match.statPrefix);
  const operations = translateHeaderOperations(rule.headers);
  appendHeaderOperations(out, operations);
  if (isObj(rule.redirect)) {
    const port = ctx.requestPort ?? ctx.listenPort;
    const redirect = translateRedirect(rule.redirect, port, ctx.isTls);
    if (!redirect) return undefined;
    out.redirect = redirect;
  } else if (isObj(rule.directResponse)) {
    out.direct_response = translateDirectResponse(rule.directResponse);
  } else {
    const action = translateRouteAction(ctx, rule, out, operations.authority);
    if (!action) return undefined;
    out.route = action;
  }
  out.decorator = { operation: routeOperation(out, vs.name, ctx.listenPort) };
  const filters: JsonObject = {};
  const fault = translateFault(rule.fault);
  if (fault) filters[FAULT_FILTER] = fault;
  const cors = translateCorsPolicy(rule.corsPolicy);
  if (cors) filters[CORS_FILTER] = cors;
  if (Object.keys(filters).length) out.typed_per_filter_config = filters;
  return out;
}

/** The routes of `vs` on this listener, in rule order; [] when no rule applies. */
export function buildHttpRoutes(ctx: RouteContext, vs: VirtualServiceView): JsonObject[] {
  const out: JsonObject[] = [];
  for (const rule of vs.http) {
    const matches = objs(rule.match);
    if (matches.length === 0) {
      const route = translateRoute(ctx, vs, rule, undefined);
      if (route) out.push(route);
      break;
    }
    let catchAll = false;
    for (const match of matches) {
      const route = translateRoute(ctx, vs, rule, match);
      if (!route) continue;
      out.push(route);
      // Later entries could never match: Envoy stops at the first matching route.
      if (isCatchAllRoute(route)) {
        catchAll = true;
        break;
      }
    }
    if (catchAll) break;
  }
  return out;
}

/** Istio's BuildDefaultHTTPOutboundRoute: prefix "/" to the service port's cluster, default retries. */
export function buildDefaultRoute(
  ctx: Pick<RouteContext, "snapshot" | "proxy">,
  service: Service,
  port: ServicePort,
): JsonObject {
  const cluster = buildClusterName({
    direction: "outbound",
    port: port.port,
    subset: "",
    host: service.hostname,
  });
  const action: JsonObject = { cluster };
  // (Istio passes no proxy here and so writes max_grpc_timeout even for gRPC clients, which
  // ignore it; max_stream_duration 0 says the same — no deadline — in the field they read.)
  applyTimeout(action, undefined, ctx.proxy);
  const client = { namespace: ctx.proxy.namespace, labels: ctx.proxy.labels };
  const rule = destinationRuleFor(ctx.snapshot, client, service.hostname);
  const hash = hashPolicyFor(rule, port.port);
  if (hash.length) action.hash_policy = hash;
  const retryPolicy = translateRetryPolicy(meshDefaultRetries(ctx.snapshot.meshConfig), false);
  if (retryPolicy) action.retry_policy = retryPolicy;
  return {
    name: DEFAULT_ROUTE_NAME,
    match: { prefix: "/" },
    route: action,
    decorator: { operation: `${service.hostname}:${port.port}/*` },
  };
}
