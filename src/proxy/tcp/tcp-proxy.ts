// TEMPORARY STUB (replaced by the TCP proxy implementation).
import type { Socket } from "node:net";
import type { TcpProxyConfig } from "../listener/types.ts";
import type { StatsStore } from "../stats/stats-store.ts";
import type { ClusterManager } from "../upstream/cluster-manager.ts";

export interface TcpProxyDeps {
  clusters: ClusterManager;
  stats?: StatsStore;
  sourceAddress?: string;
  random?: () => number;
}

export function startTcpProxy(
  downstream: Socket,
  _config: TcpProxyConfig,
  _deps: TcpProxyDeps,
  _options?: { originalDestination?: { address: string; port: number } },
): { close(): void } {
  downstream.destroy();
  return { close() {} };
}
