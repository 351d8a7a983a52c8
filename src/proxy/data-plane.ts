// What carries a proxy's traffic, on the main thread and on each worker thread alike: clusters
// (CDS/EDS), route tables (RDS) and listeners (LDS), whose HTTP connection managers and TCP
// proxies share one set of upstream connection pools. Who feeds it config differs: the main
// thread's xDS client, or the main thread forwarding what it accepted to a worker.
import type { Socket } from "node:net";
import type { Clock } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { JsonObject } from "../xds/proto-json.ts";
import { AccessLogFiles } from "./access-log/index.ts";
import { ConnectionPools } from "./hcm/upstream-pools.ts";
import { ListenerManager, type ListenerManagerOptions } from "./runtime/listener-manager.ts";
import { RouteStore } from "./runtime/route-store.ts";
import { StatsStore } from "./stats/stats-store.ts";
import { startTcpProxy } from "./tcp/tcp-proxy.ts";
import { ProxyTelemetry } from "./telemetry/proxy-telemetry.ts";
import { NO_SECRETS, type SecretProvider } from "./tls/secret-provider.ts";
import { UpstreamTlsConnector } from "./tls/upstream-tls.ts";
import { ProxyTracing } from "./tracing/proxy-tracing.ts";
import { ClusterManager, type ClusterManagerOptions } from "./upstream/cluster-manager.ts";

export interface DataPlaneOptions {
  clock: Clock;
  logger: Logger;
  /** The proxy's xDS node: who this proxy is in Istio's metrics. */
  node: JsonObject;
  /** Source address of every upstream connection (the pod IP in the local runtime). */
  sourceAddress?: string | undefined;
  /** TLS material (SDS `default` and `ROOTCA`) for listeners and clusters; default none. */
  secrets?: SecretProvider | undefined;
  drainTimeMs: number;
  /**
   * How often each thread exports queued spans (Envoy's runtime key
   * tracing.opentelemetry.flush_interval_ms); default CREMA_TRACING_FLUSH_INTERVAL_MS, else 5 s.
   */
  tracingFlushIntervalMs?: number | undefined;
  /** Cluster manager options beyond the clock (EDS names, DNS, shared breakers, outliers). */
  clusters?: Omit<ClusterManagerOptions, "clock">;
  /** Listener manager options beyond what the data plane wires itself. */
  listeners: Pick<
    ListenerManagerOptions,
    "onRdsNames" | "onBound" | "reusePort" | "portForAnyPort" | "onAnyPortBound" | "workerIndex"
  >;
}

export interface DataPlane {
  readonly clusters: ClusterManager;
  readonly routes: RouteStore;
  readonly listeners: ListenerManager;
  readonly stats: StatsStore;
  readonly telemetry: ProxyTelemetry;
  close(): void;
}

/** CREMA_TRACING_FLUSH_INTERVAL_MS: crema's stand-in for Envoy's runtime flush interval key. */
function tracingFlushIntervalFromEnv(): number | undefined {
  const value = Number(process.env.CREMA_TRACING_FLUSH_INTERVAL_MS);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

export function assembleDataPlane(options: DataPlaneOptions): DataPlane {
  const { logger, sourceAddress } = options;
  const stats = new StatsStore();
  const telemetry = new ProxyTelemetry(options.node);
  const accessLogFiles = new AccessLogFiles({ logger });
  const clusters = new ClusterManager({ clock: options.clock, ...options.clusters });
  const routes = new RouteStore();
  const pools = new ConnectionPools();
  const random = Math.random;
  // This thread's span exporters (Envoy's thread-local tracers); created lazily per provider.
  const tracing = new ProxyTracing({
    clusters,
    node: options.node,
    logger,
    flushIntervalMs: options.tracingFlushIntervalMs ?? tracingFlushIntervalFromEnv(),
  });
  // A certificate rotation reaches listeners that terminate TLS and clusters that originate it
  // through the provider's onChange.
  const secrets = options.secrets ?? NO_SECRETS;
  const upstreamTls = new UpstreamTlsConnector(secrets);
  const tcpDeps = {
    clusters,
    stats,
    random,
    upstreamTls,
    telemetry,
    accessLogFiles,
    logger,
    ...(sourceAddress ? { sourceAddress } : {}),
  };
  const listeners = new ListenerManager({
    ...options.listeners,
    secrets,
    hcm: {
      clusters,
      pools,
      stats,
      random,
      logger,
      telemetry,
      accessLogFiles,
      tracing,
      upstreamTls,
      ...(sourceAddress ? { sourceAddress } : {}),
      relayTcp: (socket, clusterName, target, idleTimeoutMs, events, stats) => {
        startTcpProxy(
          socket as Socket,
          {
            statPrefix: "connect",
            cluster: { kind: "cluster", name: clusterName },
            idleTimeoutMs: idleTimeoutMs ?? 3_600_000,
            maxConnectAttempts: 1,
          },
          tcpDeps,
          { originalDestination: target, ...events, ...(stats ? { stats } : {}) },
        );
      },
    },
    routes,
    startTcpProxy: (socket, config, { info, trafficDirection, stats, exchange }) =>
      startTcpProxy(socket, config, tcpDeps, {
        originalDestination: { address: info.destinationIp, port: info.destinationPort },
        connection: info,
        reporter: trafficDirection === "INBOUND" ? "destination" : "source",
        stats,
        ...(exchange ? { exchange } : {}),
      }),
    drainTimeMs: options.drainTimeMs,
    logger,
  });
  return {
    clusters,
    routes,
    listeners,
    stats,
    telemetry,
    close() {
      listeners.close();
      clusters.close();
      routes.close();
      pools.close();
      upstreamTls.close();
      void accessLogFiles.close();
      // Exports what is queued, each export bounded by its timeout; never awaited by close.
      void tracing.close();
    },
  };
}

/** The data plane is warm: every cluster has its endpoints, every listener its routes and socket. */
export function dataPlaneReady(plane: DataPlane): boolean {
  return plane.clusters.ready() && plane.listeners.ready();
}
