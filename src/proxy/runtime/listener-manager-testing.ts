// Test harness for ListenerManager over real sockets: a manager whose tcp_proxy "sessions" greet
// the client with their stat_prefix (server-first), hand-written listeners applied as one LDS
// update, and the port a listener bound.
import type { Socket } from "node:net";
import { systemClock } from "../../base/clock.ts";
import { silentLogger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ConnectionPools } from "../hcm/upstream-pools.ts";
import type { TcpProxyConfig } from "../listener/types.ts";
import { StatsStore } from "../stats/stats-store.ts";
import type { SecretProvider } from "../tls/secret-provider.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { ListenerManager } from "./listener-manager.ts";
import { RouteStore } from "./route-store.ts";

export const TCP_PROXY_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
export const HCM_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
export const ROUTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
export const HTTP_RBAC_TYPE = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC";
export const NETWORK_RBAC_TYPE =
  "type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC";

/** A manager whose TCP proxy answers `hello from <stat_prefix>` and closes; `close()` it after. */
export function greetingManager(
  options: { stats?: StatsStore; secrets?: SecretProvider } = {},
): ListenerManager {
  return new ListenerManager({
    ...(options.secrets ? { secrets: options.secrets } : {}),
    hcm: {
      clusters: new ClusterManager({ clock: systemClock(), onEdsNames: () => {} }),
      pools: new ConnectionPools(),
      stats: options.stats ?? new StatsStore(),
      random: Math.random,
      logger: silentLogger(),
      relayTcp: () => {},
    },
    routes: new RouteStore(),
    startTcpProxy: (socket: Socket, config: TcpProxyConfig) => {
      socket.end(`hello from ${config.statPrefix}\n`);
      return { close: () => socket.destroy() };
    },
    onRdsNames: () => {},
    drainTimeMs: 0,
    logger: silentLogger(),
  });
}

/** Applies `listeners` as one state-of-the-world LDS update; returns the NACK reasons. */
export function applyListeners(m: ListenerManager, listeners: JsonObject[]): readonly string[] {
  return m.handler().apply({
    added: new Map(listeners.map((l) => [l.name as string, l])),
    removed: [],
    full: true,
    version: "1",
    versions: new Map(listeners.map((l) => [l.name as string, "1"])),
  }).errors;
}

/** The port listener `name` bound, once it has. */
export async function boundPort(m: ListenerManager, name: string): Promise<number> {
  for (;;) {
    const address = m.statuses().find((s) => s.name === name)?.boundAddress;
    if (address) return Number(address.slice(address.lastIndexOf(":") + 1));
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * An HTTP listener on 127.0.0.1 (port 0) with one HCM (`hcm` is its typed_config: stat_prefix,
 * route_config, http_filters), routing to `clusters`; `close()` closes the listener and its
 * upstream pools (the clusters stay the caller's).
 */
export async function startHttpListener(
  clusters: ClusterManager,
  hcm: JsonObject,
  stats = new StatsStore(),
): Promise<{ port: number; close(): void }> {
  const pools = new ConnectionPools();
  const manager = new ListenerManager({
    hcm: {
      clusters,
      pools,
      stats,
      random: Math.random,
      logger: silentLogger(),
      relayTcp: () => {},
    },
    routes: new RouteStore(),
    startTcpProxy: (socket: Socket) => {
      socket.destroy();
      return { close() {} };
    },
    onRdsNames: () => {},
    drainTimeMs: 0,
    logger: silentLogger(),
  });
  const close = () => {
    manager.close();
    pools.close();
  };
  const errors = applyListeners(manager, [
    {
      name: "l",
      address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: "envoy.filters.network.http_connection_manager",
              typed_config: { "@type": HCM_TYPE, ...hcm },
            },
          ],
        },
      ],
    },
  ]);
  if (errors.length > 0) {
    close();
    throw new Error(`the listener was rejected:\n${errors.join("\n")}`);
  }
  return { port: await boundPort(manager, "l"), close };
}
