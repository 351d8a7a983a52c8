// What one filter chain runs for the connections matched to it: its TLS termination (a
// DownstreamTlsContext) first when it has one, then its network filters — RBAC, Istio's stats
// filter and metadata exchange, and the HTTP connection manager or a TCP proxy session. A listener update that leaves
// the chain unchanged hands the runtime to the new listener, connections and all.
import type { Socket } from "node:net";
import type { Logger } from "../../base/logger.ts";
import { HttpConnectionManager } from "../hcm/connection-manager.ts";
import type { HcmDeps } from "../hcm/hcm-types.ts";
import type {
  ConnectionInfo,
  FilterChain,
  ListenerConfig,
  TcpProxyConfig,
  TrafficDirection,
} from "../listener/types.ts";
import { type RbacFilterConfig, releaseRbacConfig } from "../rbac/index.ts";
import type { MetadataExchangeConfig } from "../telemetry/metadata-exchange-config.ts";
import {
  decodeStatsFilterConfig,
  type StatsFilterConfig,
} from "../telemetry/stats-filter-config.ts";
import { DownstreamTlsTerminator } from "../tls/downstream-tls.ts";
import { NO_SECRETS, type SecretProvider } from "../tls/secret-provider.ts";
import { sniffHttp2Preface } from "./inspect-connection.ts";
import { compileNetworkRbac, networkRbacAllows } from "./network-rbac.ts";

/**
 * Hands a connection to a TCP proxy; its original destination is the connection's own. `stats`
 * are the chain's `istio.stats` configs (none: no Istio metrics for the connection); `exchange`
 * the chain's `istio.metadata_exchange`, if it has one.
 */
export type StartTcpProxy = (
  socket: Socket,
  config: TcpProxyConfig,
  connection: {
    info: ConnectionInfo;
    trafficDirection: TrafficDirection | undefined;
    stats: readonly StatsFilterConfig[];
    exchange?: MetadataExchangeConfig | undefined;
  },
) => { close(): void };

/** What a chain's runtime needs from its listener manager. */
export interface ChainDeps {
  hcmDeps: HcmDeps;
  startTcpProxy: StartTcpProxy;
  logger: Logger;
  /** TLS material for chains that terminate TLS; default none. */
  secrets?: SecretProvider | undefined;
}

/** The chain's `istio.stats` network filters, decoded (they were checked with the listener). */
function compileStatsFilters(chain: FilterChain): StatsFilterConfig[] {
  const out: StatsFilterConfig[] = [];
  for (const filter of chain.filters) {
    if (filter.kind !== "istio_stats") continue;
    const decoded = decodeStatsFilterConfig(filter.config);
    if (decoded.ok) out.push(decoded.config);
  }
  return out;
}

/** Only an HCM whose codec is AUTO needs the client's first bytes (the HTTP/2 preface). */
export function needsH2cSniff(chain: FilterChain | undefined): boolean {
  const filter = chain?.filters.at(-1);
  return filter?.kind === "http_connection_manager" && filter.config.codecType === "AUTO";
}

/** The chain's first `istio.metadata_exchange`, if any. */
function chainExchange(chain: FilterChain): MetadataExchangeConfig | undefined {
  for (const filter of chain.filters) if (filter.kind === "metadata_exchange") return filter.config;
  return undefined;
}

export class ChainRuntime {
  private readonly deps: ChainDeps;
  private hcm: HttpConnectionManager | undefined;
  /** The chain's network RBAC filters, compiled for the runtime's lifetime. */
  private rbac: RbacFilterConfig[] | undefined;
  /** The chain's stats filters, decoded on first use. */
  private stats: StatsFilterConfig[] | undefined;
  /** The chain's metadata exchange, looked up on first use (null: it has none). */
  private exchange: MetadataExchangeConfig | null | undefined;
  /** The chain's TLS termination, built on first use. */
  private tls: DownstreamTlsTerminator | undefined;
  /** Connections in their TLS handshake or codec sniff: no network filter owns them yet. */
  private readonly pending = new Set<Socket>();
  private readonly tcpSessions = new Set<{ close(): void }>();
  /** The listener's traffic_direction (Istio's metrics report `destination` on INBOUND). */
  private trafficDirection: TrafficDirection | undefined;

  constructor(deps: ChainDeps) {
    this.deps = deps;
  }

  /** Serves an inspected connection (through the chain's TLS handshake if it has one). */
  accept(
    listener: ListenerConfig,
    chain: FilterChain,
    socket: Socket,
    info: ConnectionInfo,
    h2c: boolean,
  ): void {
    this.trafficDirection = listener.trafficDirection;
    const tls = chain.transportSocket;
    if (!tls) {
      this.serve(chain, socket, info, h2c);
      return;
    }
    const address = listener.address;
    this.tls ??= new DownstreamTlsTerminator(tls, {
      secrets: this.deps.secrets ?? NO_SECRETS,
      logger: this.deps.logger,
      stats: this.deps.hcmDeps.stats,
      ...(address ? { statPrefix: `listener.${address.address}_${address.port}.` } : {}),
      ...(chain.transportSocketConnectTimeoutMs
        ? { handshakeTimeoutMs: chain.transportSocketConnectTimeoutMs }
        : {}),
    });
    this.pending.add(socket);
    this.tls.accept(socket, {
      onSecure: (secure, tlsInfo) => {
        this.pending.delete(socket);
        this.afterHandshake(listener, chain, secure, { ...info, tls: tlsInfo });
      },
      onFailure: () => this.pending.delete(socket),
    });
  }

  /**
   * The decrypted stream goes to the chain as a plaintext one would. Envoy's AUTO codec takes the
   * negotiated ALPN (`h2` → HTTP/2, any other → HTTP/1.1) and, without one, the first bytes.
   */
  private afterHandshake(
    listener: ListenerConfig,
    chain: FilterChain,
    socket: Socket,
    info: ConnectionInfo,
  ): void {
    const alpn = info.tls?.alpn ?? "";
    const serve = (h2: boolean): void => {
      this.pending.delete(socket);
      if (socket.destroyed) return;
      try {
        this.serve(chain, socket, info, h2);
      } catch (err) {
        this.deps.logger.error(
          { listener: listener.name, err: err instanceof Error ? err.message : String(err) },
          "connection setup failed",
        );
        socket.destroy();
      }
    };
    socket.on("error", () => {});
    if (alpn !== "" || !needsH2cSniff(chain)) {
      serve(alpn === "h2");
      return;
    }
    this.pending.add(socket);
    void sniffHttp2Preface(socket, listener.listenerFiltersTimeoutMs).then(serve);
  }

  /** Runs the chain's network filters: RBAC, then its HCM or TCP proxy. */
  private serve(chain: FilterChain, socket: Socket, info: ConnectionInfo, h2c: boolean): void {
    const filter = chain.filters.at(-1);
    if (!filter || (filter.kind !== "http_connection_manager" && filter.kind !== "tcp_proxy")) {
      socket.destroy();
      return;
    }
    this.rbac ??= compileNetworkRbac(chain);
    if (!networkRbacAllows(this.rbac, info, this.deps.hcmDeps.stats)) {
      socket.destroy();
      return;
    }
    if (filter.kind === "http_connection_manager") {
      this.hcm ??= new HttpConnectionManager(filter.config, this.deps.hcmDeps, {
        trafficDirection: this.trafficDirection,
      });
      this.hcm.handle(socket, info, h2c);
      return;
    }
    this.stats ??= compileStatsFilters(chain);
    if (this.exchange === undefined) this.exchange = chainExchange(chain) ?? null;
    const session = this.deps.startTcpProxy(socket, filter.config, {
      info,
      trafficDirection: this.trafficDirection,
      stats: this.stats,
      exchange: this.exchange ?? undefined,
    });
    this.tcpSessions.add(session);
    socket.once("close", () => this.tcpSessions.delete(session));
    socket.resume();
  }

  /** Graceful drain of the chain's HTTP connections. */
  drain(): void {
    this.hcm?.drain();
  }

  close(): void {
    this.tls?.close();
    for (const socket of this.pending) socket.destroy();
    this.pending.clear();
    this.hcm?.close();
    for (const session of this.tcpSessions) session.close();
    for (const rbac of this.rbac ?? []) releaseRbacConfig(rbac);
  }
}
