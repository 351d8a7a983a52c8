// Envoy's envoy.filters.network.tcp_proxy for one downstream connection: pick the cluster and a
// host, connect (retrying up to max_connect_attempts), then relay bytes both ways until both sides
// have closed, either resets, or the idle / max-duration timer fires. Istio's metadata exchange
// runs on either connection that negotiated its ALPN: on the downstream one when the chain has
// the filter (the server's side), on the upstream one when the cluster has it (the client's).
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../../base/logger.ts";
import { noop } from "../../base/noop.ts";
import { setTimeoutMs } from "../../base/timer.ts";
import { type AccessLogFiles, type AccessLogger, openAccessLoggers } from "../access-log/index.ts";
import { connectionStreamFields } from "../hcm/stream-record.ts";
import type { ResponseFlag } from "../http/response-flags.ts";
import { newStreamInfo, type StreamInfo } from "../http/stream-info.ts";
import type { ConnectionInfo, TcpProxyConfig } from "../listener/types.ts";
import { pickByWeight } from "../routing/weighted-cluster.ts";
import { type ClusterStats, clusterStats, type StatsStore } from "../stats/stats-store.ts";
import type { MetadataExchangeConfig } from "../telemetry/metadata-exchange-config.ts";
import type { Reporter } from "../telemetry/metric-definitions.ts";
import type { ProxyTelemetry } from "../telemetry/proxy-telemetry.ts";
import type { ConnectionMetrics } from "../telemetry/request-metrics.ts";
import type { StatsFilterConfig } from "../telemetry/stats-filter-config.ts";
import type { ExchangeReader } from "../telemetry/tcp-metadata-exchange.ts";
import type { WorkloadMetadata } from "../telemetry/workload-labels.ts";
import { upstreamSslInfo } from "../tls/upstream-ssl-info.ts";
import type { UpstreamTlsConnector } from "../tls/upstream-tls.ts";
import type { Cluster, ClusterManager } from "../upstream/cluster-manager.ts";
import { socketLocalAddress } from "../upstream/dial.ts";
import { dialHost } from "../upstream/dial-host.ts";
import { type Host, hostAddress } from "../upstream/lb/host-set.ts";
import { originalDstHost } from "../upstream/original-dst-host.ts";
import { type Relay, relay } from "./relay.ts";
import { type TcpProxyStats, tcpProxyStats } from "./tcp-proxy-stats.ts";

export interface TcpProxyDeps {
  clusters: ClusterManager;
  stats: StatsStore;
  /** Default source address for upstream connections (cluster.upstreamBindAddress wins). */
  sourceAddress?: string;
  /** Weighted cluster pick, default Math.random. */
  random?: () => number;
  /** TLS origination for clusters with an UpstreamTlsContext. */
  upstreamTls?: UpstreamTlsConnector;
  /** Istio's TCP metrics (istio_tcp_*), for the stats filters the options name; absent: none. */
  telemetry?: ProxyTelemetry;
  /** Where the tcp_proxy's access logs are written; absent: no logs. */
  accessLogFiles?: AccessLogFiles;
  /** Where a logger that cannot write says so. */
  logger?: Logger;
}

const TCP_LOG = { kind: "tcp" } as const;

/** Each tcp_proxy config's loggers, opened once (a config lives as long as its filter chain). */
const loggersByConfig = new WeakMap<TcpProxyConfig, readonly AccessLogger[]>();

function accessLoggersFor(config: TcpProxyConfig, deps: TcpProxyDeps): readonly AccessLogger[] {
  const files = deps.accessLogFiles;
  if (!files || !deps.logger || !config.accessLogs?.length) return [];
  let loggers = loggersByConfig.get(config);
  if (!loggers) {
    loggers = openAccessLoggers(config.accessLogs, files, deps.logger);
    loggersByConfig.set(config, loggers);
  }
  return loggers;
}

export interface TcpProxyResult {
  flags: ResponseFlag[];
  cluster?: string;
  upstreamHost?: string;
  /** Bytes read from the downstream (%BYTES_RECEIVED%). */
  bytesReceived: number;
  /** Bytes written to the downstream (%BYTES_SENT%). */
  bytesSent: number;
  durationMs: number;
}

export interface TcpProxySession {
  /** Resolves once, when the session is over; never rejects. */
  readonly done: Promise<TcpProxyResult>;
  /** Ends the session now, destroying both connections. */
  close(): void;
}

export interface TcpProxyOptions {
  /** Where the downstream meant to go (ORIGINAL_DST clusters connect there). */
  originalDestination?: { address: string; port: number };
  /** The upstream connected; called before any byte is relayed (CONNECT answers 200 here). */
  onConnected?: () => void;
  /**
   * The session failed before an upstream connected (its flags say why: NC, UH, UO, UF …). The
   * downstream is left open for the callback to answer on and close (CONNECT answers 503).
   */
  onConnectFailure?: (flags: readonly ResponseFlag[]) => void;
  /** The accepted connection (addresses, SNI, certificates) for the session's record. */
  connection?: ConnectionInfo;
  /**
   * The `istio.stats` filters in front of this tcp_proxy: each records the connection's metrics
   * its way. None (the default): no Istio metrics, as in Envoy without the filter.
   */
  stats?: readonly StatsFilterConfig[];
  /** Istio's reporter for the connection's metrics (default `source`). */
  reporter?: Reporter;
  /**
   * The chain's `istio.metadata_exchange`: when the downstream TLS negotiated its protocol, the
   * session sends this proxy's frame downstream and takes the peer's off the downstream bytes.
   */
  exchange?: MetadataExchangeConfig;
}

/** One stats filter's record of a connection: its metrics and what it reported so far. */
interface TcpReport {
  readonly metrics: ConnectionMetrics;
  sent: number;
  received: number;
  /** Every tcp_reporting_duration; absent when that is 0 (bytes at close only). */
  timer: NodeJS.Timeout | undefined;
}

/** The cluster for a new connection: the only one, or a weighted pick (Envoy: random % total). */
export function selectTcpCluster(
  cluster: TcpProxyConfig["cluster"],
  random: () => number,
): string | undefined {
  if (cluster.kind === "cluster") return cluster.name;
  return pickByWeight(cluster.clusters, Math.floor(random() * cluster.totalWeight))?.name;
}

/** Proxies `downstream` per `config`; the session owns the socket from here on. */
export function startTcpProxy(
  downstream: Socket,
  config: TcpProxyConfig,
  deps: TcpProxyDeps,
  options: TcpProxyOptions = {},
): TcpProxySession {
  const session = new Session(downstream, config, deps, options);
  void session.run();
  return session;
}

/** A connection attempt's host and what must be given back when its connection ends. */
interface Lease {
  host: Host;
  cluster: Cluster;
  stats: ClusterStats;
  release(): void;
}

class Session implements TcpProxySession {
  readonly done: Promise<TcpProxyResult>;
  private resolveDone: (result: TcpProxyResult) => void = noop;
  private readonly downstream: Socket;
  private readonly config: TcpProxyConfig;
  private readonly deps: TcpProxyDeps;
  private readonly options: TcpProxyOptions;
  private readonly stats: TcpProxyStats;
  private readonly startedAt = Date.now();
  /** What access logs and metrics read of the connection (its flags are the session's). */
  readonly info: StreamInfo;
  private readonly flags: ResponseFlag[];
  /** One per stats filter, once the connection's open was counted. */
  private reports: TcpReport[] | undefined;
  private clusterName: string | undefined;
  private upstreamHost: string | undefined;
  private bytesReceived = 0;
  private bytesSent = 0;
  /** The peer's exchange frame on the downstream connection, while it is read. */
  private readonly downstreamExchange: ExchangeReader | undefined;
  /** The same on the upstream connection. */
  private upstreamExchange: ExchangeReader | undefined;
  /** The workloads the exchanges named. */
  private downstreamPeer: WorkloadMetadata | undefined;
  private upstreamPeer: WorkloadMetadata | undefined;
  /** Downstream bytes read while connecting, written upstream first. */
  private readonly early: Buffer[] = [];
  private upstream: Socket | undefined;
  private lease: Lease | undefined;
  private relay: Relay | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private over = false;

  constructor(
    downstream: Socket,
    config: TcpProxyConfig,
    deps: TcpProxyDeps,
    options: TcpProxyOptions,
  ) {
    this.downstream = downstream;
    this.config = config;
    this.deps = deps;
    this.options = options;
    this.info = newStreamInfo(
      { protocol: undefined, ...connectionStreamFields(options.connection) },
      this.startedAt,
    );
    this.flags = this.info.responseFlags;
    const exchange = options.exchange;
    if (exchange && deps.telemetry && options.connection?.tls?.alpn === exchange.protocol) {
      this.downstreamExchange = deps.telemetry.exchangeReader((peer) => {
        this.downstreamPeer = peer;
        this.onExchanged("destination");
      });
    }
    this.stats = tcpProxyStats(deps.stats, config.statPrefix);
    this.stats.downstreamCxTotal.inc();
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    // A peer reset must never surface as an unhandled 'error'; the relay reacts to it.
    downstream.on("error", noop);
    downstream.allowHalfOpen = true;
    // Envoy keeps the downstream read-disabled until the upstream is up. Whoever handed the socket
    // over may still resume it, so every early chunk is kept and the socket paused again.
    downstream.pause();
    downstream.on("data", this.onEarlyData);
    downstream.once("close", this.onEarlyClose);
    const maxDuration = config.maxDownstreamConnectionDurationMs;
    this.durationTimer = setTimeoutMs(() => {
      this.stats.maxDownstreamConnectionDuration.inc();
      this.end("DT");
    }, maxDuration);
    this.durationTimer?.unref();
    if (downstream.destroyed) this.end();
  }

  close(): void {
    this.end();
  }

  async run(): Promise<void> {
    for (let attempts = 0; !this.over; attempts++) {
      // Like Envoy, every attempt picks its route (a weighted cluster) again.
      const lease = this.acquire(attempts);
      if (!lease) return;
      const upstream = await this.connect(lease);
      if (upstream) {
        this.onConnected(upstream, lease);
        return;
      }
      lease.release();
    }
  }

  /**
   * A cluster, `connections` slot and host for the attempt after `attempts` failed ones; ends the
   * session without one. Envoy's order (initializeUpstreamConnection): route, circuit breaker,
   * connect attempts, then the host.
   */
  private acquire(attempts: number): Lease | undefined {
    const name = selectTcpCluster(this.config.cluster, this.deps.random ?? Math.random);
    const cluster = name === undefined ? undefined : this.deps.clusters.cluster(name);
    if (name === undefined || !cluster) {
      this.stats.downstreamCxNoRoute.inc();
      this.end("NC");
      return undefined;
    }
    this.clusterName = name;
    // Before picking a host: a full cluster must not count as a pick with the load balancer.
    const releaseSlot = cluster.circuitBreakers.tryAcquire("connections");
    if (!releaseSlot) {
      this.end("UO");
      return undefined;
    }
    if (attempts >= Math.max(1, this.config.maxConnectAttempts)) {
      // Every attempt failed (UF is set already): Envoy's onConnectMaxAttempts adds URX.
      releaseSlot();
      this.end("URX");
      return undefined;
    }
    const host = this.pickHost(name, cluster);
    if (!host) {
      releaseSlot();
      this.end("UH");
      return undefined;
    }
    this.upstreamHost = hostAddress(host);
    cluster.lb?.onRequestStart(host);
    let released = false;
    return {
      host,
      cluster,
      stats: clusterStats(this.deps.stats, name),
      release: () => {
        if (released) return;
        released = true;
        releaseSlot();
        cluster.lb?.onRequestEnd(host);
      },
    };
  }

  /** ORIGINAL_DST (e.g. PassthroughCluster) connects where the downstream meant to go. */
  private pickHost(name: string, cluster: Cluster): Host | undefined {
    if (cluster.config.lbPolicy === "CLUSTER_PROVIDED") {
      const target = this.options.originalDestination;
      return target ? originalDstHost(target.address, target.port) : undefined;
    }
    const picked = this.deps.clusters.pick(name);
    return "host" in picked ? picked.host : undefined;
  }

  /** One dial; records its outcome with the cluster's stats and outlier detector. */
  private async connect(lease: Lease): Promise<Socket | undefined> {
    const { host, cluster, stats } = lease;
    stats.upstreamCxTotal.inc();
    try {
      const upstream = await dialHost(cluster, host, {
        sourceAddress: this.deps.sourceAddress,
        stats,
        success: "final",
        tls: this.deps.upstreamTls,
      });
      upstream.on("error", noop);
      return upstream;
    } catch {
      // Kept even when a retry then connects, as Envoy's stream info does.
      if (!this.flags.includes("UF")) this.flags.push("UF");
      return undefined;
    }
  }

  private onConnected(upstream: Socket, lease: Lease): void {
    if (this.over) {
      upstream.destroy();
      lease.release();
      return;
    }
    this.upstream = upstream;
    this.lease = lease;
    const ssl = upstreamSslInfo(upstream);
    this.info.upstreamPeerUriSan = ssl?.peerUriSan;
    this.info.upstreamLocalUriSan = ssl?.localUriSan;
    this.info.upstreamLocalAddress = socketLocalAddress(upstream);
    lease.stats.upstreamCxActive.inc();
    this.downstream.removeListener("data", this.onEarlyData);
    this.downstream.removeListener("close", this.onEarlyClose);
    this.options.onConnected?.();
    const { stats } = lease;
    const backlog = this.startExchanges(upstream, lease);
    if (this.over) return;
    // Istio counts the open once the peer is known: with an exchange under way, when it settles.
    const awaited =
      (this.options.reporter ?? "source") === "destination"
        ? this.downstreamExchange
        : this.upstreamExchange;
    if (!awaited || awaited.done) this.openMetrics(lease);
    for (const chunk of backlog) stats.upstreamCxTxBytesTotal.inc(chunk.length);
    const activity = (): void => {
      this.idleTimer?.refresh();
    };
    this.relay = relay(
      this.downstream,
      upstream,
      {
        onDownstreamData: (bytes) => {
          this.bytesReceived += bytes;
          this.stats.downstreamCxRxBytesTotal.inc(bytes);
          stats.upstreamCxTxBytesTotal.inc(bytes);
          activity();
        },
        onUpstreamData: (bytes) => {
          this.bytesSent += bytes;
          this.stats.downstreamCxTxBytesTotal.inc(bytes);
          stats.upstreamCxRxBytesTotal.inc(bytes);
          activity();
        },
      },
      backlog,
      { downstream: this.downstreamExchange, upstream: this.upstreamExchange },
    );
    this.idleTimer = setTimeoutMs(() => {
      this.stats.idleTimeout.inc();
      this.end();
    }, this.config.idleTimeoutMs);
    this.idleTimer?.unref();
    void this.relay.done.then(() => this.end());
  }

  /**
   * Sends this proxy's exchange frame on each connection that negotiated the exchange (the
   * downstream one when the chain has the filter, the upstream one when the cluster has it), ahead
   * of any relayed byte, and starts reading the peer's. Returns the early downstream bytes to
   * relay, past the peer's frame when they hold it.
   */
  private startExchanges(upstream: Socket, lease: Lease): Buffer[] {
    const telemetry = this.deps.telemetry;
    const early = this.early.splice(0);
    if (!telemetry) return early;
    const exchange = lease.cluster.config.metadataExchange;
    if (exchange && (upstream as TLSSocket).alpnProtocol === exchange.protocol) {
      this.upstreamExchange = telemetry.exchangeReader((peer) => {
        this.upstreamPeer = peer;
        this.onExchanged("source");
      });
      upstream.write(telemetry.exchangeFrame);
    }
    const reader = this.downstreamExchange;
    if (!reader) return early;
    this.downstream.write(telemetry.exchangeFrame);
    // As past Envoy's filter, the TCP proxy sees (and counts) only what the peer's frame leaves.
    const backlog: Buffer[] = [];
    for (const chunk of early) {
      const bytes = reader.read(chunk);
      if (reader.oversized) {
        this.end();
        return [];
      }
      if (bytes.length === 0) continue;
      backlog.push(bytes);
      this.bytesReceived += bytes.length;
      this.stats.downstreamCxRxBytesTotal.inc(bytes.length);
    }
    return backlog;
  }

  /** An exchange settled: its side's reporter counts the open now that the peer is known. */
  private onExchanged(reporter: Reporter): void {
    if ((this.options.reporter ?? "source") === reporter && this.lease && !this.over)
      this.openMetrics(this.lease);
  }

  /**
   * Istio counts a TCP connection open once its peer is known: the workload the exchange named
   * (at the source, else the endpoint the upstream connection went to, by its `istio.workload`
   * metadata), or none when the exchange settled without one. Bytes follow every 5 s and at close.
   */
  private openMetrics(lease: Lease | undefined): void {
    const telemetry = this.deps.telemetry;
    const filters = this.options.stats ?? [];
    if (!telemetry || filters.length === 0 || this.reports) return;
    const reporter = this.options.reporter ?? "source";
    const peer =
      reporter === "destination"
        ? this.downstreamPeer
        : (this.upstreamPeer ?? (lease ? telemetry.endpointPeer(lease.host.metadata) : undefined));
    const cluster =
      lease?.cluster.config ?? this.deps.clusters.cluster(this.clusterName ?? "")?.config;
    this.reports = filters.map((config) => {
      const filter = telemetry.statsFilter(config);
      const metrics = telemetry.forConnection(this.info, reporter, peer, cluster, filter);
      metrics.opened();
      const report: TcpReport = { metrics, sent: 0, received: 0, timer: undefined };
      const interval = config.tcpReportingDurationMs;
      if (interval > 0) {
        report.timer = setInterval(() => this.reportBytes(report), interval);
        report.timer.unref();
      }
      return report;
    });
  }

  private reportBytes(report: TcpReport): void {
    report.metrics.addBytes(this.bytesSent - report.sent, this.bytesReceived - report.received);
    report.sent = this.bytesSent;
    report.received = this.bytesReceived;
  }

  /**
   * The session's record is final: the access logs get it, and Istio's metrics count the close
   * (and the open if unseen).
   */
  private closeMetrics(): void {
    const info = this.info;
    info.durationMs = Date.now() - this.startedAt;
    info.bytesReceived = info.wireBytesReceived = this.bytesReceived;
    info.bytesSent = info.wireBytesSent = this.bytesSent;
    info.upstreamCluster = this.clusterName;
    info.upstreamHost = this.upstreamHost;
    for (const logger of accessLoggersFor(this.config, this.deps)) logger.log(info, TCP_LOG);
    if (!this.deps.telemetry) return;
    this.openMetrics(this.lease);
    for (const report of this.reports ?? []) {
      if (report.timer) clearInterval(report.timer);
      this.reportBytes(report);
      report.metrics.closed();
    }
  }

  private readonly onEarlyData = (chunk: Buffer): void => {
    this.early.push(chunk);
    // With an exchange they are counted once its frame is off them (startExchanges).
    if (!this.downstreamExchange) {
      this.bytesReceived += chunk.length;
      this.stats.downstreamCxRxBytesTotal.inc(chunk.length);
    }
    this.downstream.pause();
  };

  private readonly onEarlyClose = (): void => {
    this.end();
  };

  /** Ends the session once: destroys both connections, gives back the lease, resolves `done`. */
  private end(flag?: ResponseFlag): void {
    if (this.over) return;
    this.over = true;
    if (flag && !this.flags.includes(flag)) this.flags.push(flag);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.durationTimer) clearTimeout(this.durationTimer);
    this.relay?.destroy();
    const failedBeforeConnect = flag !== undefined && !this.upstream && !this.downstream.destroyed;
    if (failedBeforeConnect && this.options.onConnectFailure) {
      this.downstream.removeListener("data", this.onEarlyData);
      this.downstream.removeListener("close", this.onEarlyClose);
      this.options.onConnectFailure(this.flags);
    } else this.downstream.destroy();
    this.upstream?.destroy();
    if (this.lease) {
      this.lease.stats.upstreamCxActive.dec();
      this.lease.stats.upstreamCxDestroy.inc();
      this.lease.release();
    }
    this.closeMetrics();
    this.resolveDone({
      flags: this.flags,
      ...(this.clusterName !== undefined ? { cluster: this.clusterName } : {}),
      ...(this.upstreamHost !== undefined ? { upstreamHost: this.upstreamHost } : {}),
      bytesReceived: this.bytesReceived,
      bytesSent: this.bytesSent,
      durationMs: Date.now() - this.startedAt,
    });
  }
}
