// What the HTTP connection manager is given (its dependencies), what it keeps per accepted
// connection, and what its raw-socket entries (WebSocket upgrades, CONNECT) see of it.
import type { Duplex } from "node:stream";
import type { Logger } from "../../base/logger.ts";
import type { ResponseFlag } from "../http/response-flags.ts";
import type { ConnectionInfo, HcmConfig } from "../listener/types.ts";
import type { CompiledRouteConfig } from "../routing/types.ts";
import type { StatsFilterConfig } from "../telemetry/stats-filter-config.ts";
import type { RouterDeps } from "./router-types.ts";

export interface HcmDeps extends RouterDeps {
  /** The current RDS route table of that name (undefined until it arrives). */
  routeConfig(name: string): CompiledRouteConfig | undefined;
  /** Relays a CONNECT tunnel as TCP to a cluster (original destination: the CONNECT target). */
  relayTcp(
    socket: Duplex,
    clusterName: string,
    target: { address: string; port: number },
    /** The CONNECT route's idle_timeout (the tunnel's TCP idle timeout); default 1 h. */
    idleTimeoutMs?: number,
    /** When the upstream connected, or why no upstream could be (the socket is left open). */
    events?: RelayEvents,
    /** The HCM's `istio.stats` configs: the tunnel's TCP metrics are recorded their way. */
    stats?: readonly StatsFilterConfig[],
  ): void;
  logger: Logger;
}

export interface RelayEvents {
  onConnected(): void;
  onConnectFailure(flags: readonly ResponseFlag[]): void;
}

export interface ConnectionState {
  info: ConnectionInfo;
  /** CONNECT target when this connection is a terminated CONNECT tunnel. */
  tunnelAuthority?: string;
  activeRequests: number;
}

/** What an upgrade or CONNECT request, handed over as a raw socket, sees of its HCM. */
export interface HcmEntry {
  config: HcmConfig;
  deps: HcmDeps;
  /** The route table in force: the inline one, or the current RDS one. */
  routeTable(): CompiledRouteConfig | undefined;
  /** The accepted connection the request arrived on. */
  connection: ConnectionState | undefined;
  /** The HCM's `istio.stats` configs (none: the HCM records no Istio metrics). */
  stats: readonly StatsFilterConfig[];
}
