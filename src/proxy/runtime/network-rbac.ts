// A filter chain's `envoy.filters.network.rbac` filters: compiled once per chain runtime and
// judged when a connection is handed to the chain. Envoy judges on the first bytes (or every
// read); crema judges before the TCP proxy connects upstream, which denies the same connections
// without opening an upstream one.
import type { ConnectionInfo, FilterChain } from "../listener/types.ts";
import { decodeNetworkRbac, evaluateRbac, type RbacFilterConfig } from "../rbac/index.ts";
import type { StatsStore } from "../stats/stats-store.ts";

export function compileNetworkRbac(chain: FilterChain): RbacFilterConfig[] {
  const out: RbacFilterConfig[] = [];
  for (const filter of chain.filters) {
    if (filter.kind !== "rbac") continue;
    // Checked when the listener was accepted; the same input decodes the same way.
    const decoded = decodeNetworkRbac(filter.config);
    if (decoded.ok) out.push(decoded.value);
  }
  return out;
}

/** Whether every RBAC filter of the chain lets the connection through (counting as Envoy). */
export function networkRbacAllows(
  filters: readonly RbacFilterConfig[],
  info: ConnectionInfo,
  stats: StatsStore,
): boolean {
  for (const config of filters) {
    const decision = evaluateRbac(config, {
      destinationIp: info.destinationIp,
      destinationPort: info.destinationPort,
      directRemoteIp: info.directSourceIp ?? info.sourceIp,
      remoteIp: info.sourceIp,
      ...(info.serverName ? { requestedServerName: info.serverName } : {}),
      ...(info.tls ? { tls: info.tls } : {}),
    });
    for (const counter of decision.counters) stats.counter(counter).inc();
    if (!decision.allowed) return false;
  }
  return true;
}
