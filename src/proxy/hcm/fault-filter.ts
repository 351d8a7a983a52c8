// The fault filter (envoy.filters.http.fault) in the HCM's chain: the filter's own HTTPFault
// config, overridden by the most specific per-route config, decoded once per config object.
import {
  decideFault,
  decodeFaultConfig,
  type FaultConfig,
  type FaultDecision,
} from "../http/fault.ts";
import type { HttpFilter } from "../listener/types.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { mostSpecificPerFilterConfig, type RouteMatchResult } from "../routing/select-route.ts";
import type { CompiledRouteConfig, RouteRequest } from "../routing/types.ts";

const decoded = new WeakMap<object, FaultConfig | undefined>();

function faultConfigOf(json: object): FaultConfig | undefined {
  if (decoded.has(json)) return decoded.get(json);
  // Header matchers' regexes live as long as the route table that holds this config.
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  const config = decodeFaultConfig(json, ctx);
  const result = ctx.errors.length === 0 ? config : undefined;
  decoded.set(json, result);
  return result;
}

/** The fault decision for a routed request, or undefined when the filter has nothing to inject. */
export function faultFor(
  filter: HttpFilter,
  routeConfig: CompiledRouteConfig,
  selection: RouteMatchResult,
  request: RouteRequest,
  random: () => number,
): FaultDecision | undefined {
  const perRoute = mostSpecificPerFilterConfig(routeConfig, selection, filter.name);
  const json = perRoute?.config ?? filter.config;
  const config = faultConfigOf(json);
  if (!config || (!config.abort && !config.delay)) return undefined;
  const decision = decideFault(config, request, {
    random,
    ...(selection.clusterName ? { cluster: selection.clusterName } : {}),
  });
  return decision.abort || decision.delayMs ? decision : undefined;
}
