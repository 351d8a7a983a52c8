// The HCM's `envoy.filters.http.rbac` filters: compiled once per connection manager (released
// with it, so a listener update's copy never outlives its connections) and judged per request
// with what the connection and the request know. A denial is the 403 local reply.
import type { HttpFilter } from "../listener/types.ts";
import {
  decodeHttpRbac,
  evaluateRbac,
  RBAC_HTTP_TYPE,
  type RbacDecision,
  type RbacFilterConfig,
  releaseRbacConfig,
} from "../rbac/index.ts";
import type { RouteRequest } from "../routing/types.ts";
import type { StatsStore } from "../stats/stats-store.ts";
import type { ConnectionState } from "./hcm-types.ts";

export const isRbacFilter = (filter: HttpFilter): boolean =>
  filter.typeUrl.endsWith(`/${RBAC_HTTP_TYPE}`) || filter.typeUrl === RBAC_HTTP_TYPE;

/** Envoy hands HTTP filters the HCM's prefix as `http.<stat_prefix>.`. */
const filterStatPrefix = (hcmStatPrefix: string) => `http.${hcmStatPrefix}.`;

/** The compiled RBAC filters of a chain, by filter. */
export function compileRbacFilters(
  filters: readonly HttpFilter[],
  hcmStatPrefix: string,
): Map<HttpFilter, RbacFilterConfig> {
  const out = new Map<HttpFilter, RbacFilterConfig>();
  for (const filter of filters) {
    if (!isRbacFilter(filter)) continue;
    const decoded = decodeHttpRbac(filter.config, { statPrefix: filterStatPrefix(hcmStatPrefix) });
    // Decoding succeeded when the listener was accepted; the same input decodes the same way.
    if (decoded.ok) out.set(filter, decoded.value);
  }
  return out;
}

export function releaseRbacFilters(compiled: Map<HttpFilter, RbacFilterConfig>): void {
  for (const config of compiled.values()) releaseRbacConfig(config);
  compiled.clear();
}

export interface RbacInput {
  route: RouteRequest;
  connection: ConnectionState | undefined;
  dynamicMetadata: Record<string, Record<string, unknown>>;
}

/** Judges one request, counting and recording the decision's side effects. */
export function checkRbac(
  config: RbacFilterConfig,
  input: RbacInput,
  stats: StatsStore,
): RbacDecision {
  const info = input.connection?.info;
  const decision = evaluateRbac(config, {
    http: input.route,
    destinationIp: info?.destinationIp ?? "",
    destinationPort: info?.destinationPort ?? 0,
    directRemoteIp: info?.directSourceIp ?? info?.sourceIp ?? "",
    remoteIp: input.route.sourceIp ?? info?.sourceIp ?? "",
    ...(info?.serverName ? { requestedServerName: info.serverName } : {}),
    ...(info?.tls ? { tls: info.tls } : {}),
    dynamicMetadata: input.dynamicMetadata,
  });
  for (const counter of decision.counters) stats.counter(counter).inc();
  for (const [namespace, values] of Object.entries(decision.dynamicMetadata)) {
    input.dynamicMetadata[namespace] = { ...input.dynamicMetadata[namespace], ...values };
  }
  return decision;
}
