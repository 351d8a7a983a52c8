// Assembles a running proxy: the xDS client (ADS) feeding the data plane — clusters (CDS/EDS),
// route tables (RDS) and listeners (LDS) — and readiness once the first full configuration is
// warm. With --concurrency above 1, worker threads run their own data planes on the same
// listener addresses and get every update the main thread accepted; ACKs wait for them.

import * as grpc from "@grpc/grpc-js";
import { systemClock } from "../base/clock.ts";
import { UpdatableCertificateProvider } from "../xds/certificate-provider.ts";
import type { ResourceUpdate, TypeHandler, XdsClientOptions } from "../xds/client/types.ts";
import { XdsClient } from "../xds/client/xds-client.ts";
import { TYPE_URL } from "../xds/type-urls.ts";
import {
  type AdminSource,
  prometheusExposition,
  type ServerState,
  startAdminServer,
  startPrometheusServer,
} from "./admin/admin-server.ts";
import { type AdminCluster, describeClusters } from "./admin/clusters-view.ts";
import type { RunningHttpServer } from "./admin/http-listen.ts";
import { startReadinessServer } from "./admin/readiness-server.ts";
import { ResourceRecorder } from "./admin/resource-recorder.ts";
import { startStatusServer } from "./agent/status-server.ts";
import { assembleDataPlane, dataPlaneReady } from "./data-plane.ts";
import type { ProxyOptions, RunningProxy } from "./proxy-options.ts";
import type { ListenerManager } from "./runtime/listener-manager.ts";
import type { RouteStore } from "./runtime/route-store.ts";
import type { StatsStore } from "./stats/stats-store.ts";
import { sumIstioMetrics } from "./telemetry/metrics-snapshot.ts";
import type { ProxyTelemetry } from "./telemetry/proxy-telemetry.ts";
import type { IstioMetrics } from "./telemetry/request-metrics.ts";
import { layeredSecrets, SdsSecrets } from "./tls/sds-secrets.ts";
import {
  NO_SECRETS,
  ROOT_CA_SECRET,
  type SecretProvider,
  WORKLOAD_SECRET,
} from "./tls/secret-provider.ts";
import { sharedBreakerCounts } from "./upstream/circuit-breakers.ts";
import type { ClusterManager } from "./upstream/cluster-manager.ts";
import { DnsRefresher } from "./upstream/dns-refresher.ts";
import { hostAddress } from "./upstream/lb/host-set.ts";
import { OutlierDetector } from "./upstream/outlier-detector.ts";
import { forwardableSecrets } from "./workers/forwarded-secret-provider.ts";
import { ProxyWorkers } from "./workers/proxy-workers.ts";
import { mergedStats, withWorkerActiveRequests } from "./workers/worker-totals.ts";

export type { ProxyOptions, RunningProxy } from "./proxy-options.ts";

const DEFAULT_DRAIN_TIME_MS = 5_000;

/** The parts of a running proxy, for the admin server and tests. */
export interface ProxyParts {
  client: XdsClient;
  clusters: ClusterManager;
  routes: RouteStore;
  listeners: ListenerManager;
  stats: StatsStore;
  recorder: ResourceRecorder;
  /** The worker threads beyond the main one (--concurrency above 1). */
  workers: ProxyWorkers | undefined;
  /** The main thread's Istio metrics (workers keep their own). */
  telemetry: ProxyTelemetry;
}

export function assembleProxy(
  options: ProxyOptions,
): ProxyParts & { ready: Promise<void>; close(): Promise<void> } {
  const clock = options.clock ?? systemClock();
  const logger = options.logger;
  const drainTimeMs = options.drainTimeMs ?? DEFAULT_DRAIN_TIME_MS;
  // The agent's certificates, then the secrets the config names (credentialName over SDS, files).
  const named = new SdsSecrets({
    logger,
    onNames: (names) => client.setResourceNames(TYPE_URL.secret, names),
    onSettled: () => checkReady(),
  });
  const secrets = layeredSecrets(options.secrets ?? NO_SECRETS, named);
  const currentSecrets = () => {
    const { certificates, cas } = named.names();
    return forwardableSecrets(
      secrets,
      [WORKLOAD_SECRET, ...certificates],
      [ROOT_CA_SECRET, ...cas],
    );
  };
  const concurrency = options.concurrency ?? 1;
  const workers =
    concurrency > 1
      ? new ProxyWorkers({
          count: concurrency - 1,
          logger,
          setup: {
            node: options.node,
            logLevel: String(logger.level),
            sourceAddress: options.sourceAddress,
            drainTimeMs,
            secrets: currentSecrets(),
          },
          onOutlierResults: (results) => {
            for (const [cluster, address, result] of results) {
              const detector = plane.clusters.cluster(cluster)?.outlierDetector;
              if (detector instanceof OutlierDetector) detector.onResultAt(address, result);
            }
          },
        })
      : undefined;
  const client = new XdsClient({
    serverAddress: options.xdsAddress,
    node: options.node,
    protocol: options.xdsProtocol ?? "sotw",
    logger,
    clock,
    ...(options.xdsTls ? xdsTlsChannel(options.xdsTls, secrets) : {}),
    ...(workers ? { answerGate: () => workers.caughtUp() } : {}),
  });
  // Late-bound: a resolution reaches the cluster manager and may complete the first warm-up.
  const dns = new DnsRefresher({
    clock,
    isCurrent: (config) => plane.clusters.cluster(config.name)?.config === config,
    onResolved: (name, assignment) => {
      plane.clusters.setResolvedEndpoints(name, assignment);
      workers?.forwardDns(name, assignment);
      checkReady();
    },
  });
  const plane = assembleDataPlane({
    clock,
    logger,
    node: options.node,
    sourceAddress: options.sourceAddress,
    secrets,
    drainTimeMs,
    clusters: {
      onEdsNames: (names) =>
        client.setResourceNames(TYPE_URL.clusterLoadAssignment, new Set(names)),
      resolveDns: dns.resolveDns,
      ...(workers
        ? {
            breakerCounts: () => sharedBreakerCounts(),
            onOutlierEvent: (cluster, event) => {
              const ejections =
                plane.clusters.cluster(cluster)?.outlierDetector?.ejectionCount(event.host) ?? 0;
              workers.broadcast({
                kind: "outlier",
                cluster,
                address: hostAddress(event.host),
                decision:
                  event.type === "ejected"
                    ? {
                        ejected: true,
                        reason: event.reason,
                        ejectionTimeMs: event.ejectionTimeMs,
                        ejections,
                      }
                    : { ejected: false, ejections },
              });
            },
          }
        : {}),
    },
    listeners: {
      onRdsNames: (names) => client.setResourceNames(TYPE_URL.routeConfiguration, names),
      onBound: () => checkReady(),
      ...(workers
        ? {
            reusePort: true,
            onAnyPortBound: (name, json, port) =>
              workers.broadcast({ kind: "any-port", name, json, port }),
          }
        : {}),
    },
  });
  if (workers)
    secrets.onChange(() => workers.broadcast({ kind: "secrets", secrets: currentSecrets() }));
  const { clusters, routes, listeners, stats } = plane;
  const recorder = new ResourceRecorder();
  // What the main thread accepts, every worker applies next (in the same order).
  const forwarded = (typeUrl: string, handler: TypeHandler): TypeHandler => {
    if (!workers) return handler;
    return {
      apply: (update: ResourceUpdate) => {
        const result = handler.apply(update);
        if (result.errors.length > 0) return result;
        const breakerCounts =
          typeUrl === TYPE_URL.cluster
            ? new Map(
                [...update.added.keys()].flatMap((name) => {
                  const counts = clusters.cluster(name)?.circuitBreakers.counts;
                  return counts ? [[name, counts] as const] : [];
                }),
              )
            : undefined;
        workers.forwardUpdate(typeUrl, update, breakerCounts);
        return result;
      },
    };
  };
  // Listeners and clusters name the SDS secrets their TLS contexts need.
  const namingSecrets = (typeUrl: string, handler: TypeHandler): TypeHandler => ({
    apply: (update) => {
      const result = handler.apply(update);
      if (result.errors.length === 0) named.track(typeUrl, update);
      return result;
    },
  });
  const watch = (typeUrl: string, handler: TypeHandler) =>
    client.watch(typeUrl, recorder.wrap(typeUrl, forwarded(typeUrl, handler)));
  watch(TYPE_URL.cluster, namingSecrets(TYPE_URL.cluster, clusters.cdsHandler()));
  watch(TYPE_URL.clusterLoadAssignment, clusters.edsHandler());
  watch(TYPE_URL.listener, namingSecrets(TYPE_URL.listener, listeners.handler()));
  watch(TYPE_URL.routeConfiguration, routes.handler());
  // Workers get secrets through the "secrets" message, not as an xDS update.
  client.watch(TYPE_URL.secret, recorder.wrap(TYPE_URL.secret, named.handler()));

  let markReady: () => void = () => {};
  const mainReady = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const seen = new Set<string>();
  const checkReady = (): void => {
    if (
      seen.has(TYPE_URL.cluster) &&
      seen.has(TYPE_URL.listener) &&
      dataPlaneReady(plane) &&
      named.settled()
    )
      markReady();
  };
  client.events.on("update", (typeUrl) => {
    seen.add(typeUrl);
    checkReady();
  });
  client.events.on("nack", (typeUrl, version, errors) => {
    logger.warn({ type: typeUrl, version, errors }, "rejected xDS update");
  });
  client.start();
  let closing: Promise<void> | undefined;
  return {
    client,
    clusters,
    routes,
    listeners,
    stats,
    recorder,
    workers,
    telemetry: plane.telemetry,
    ready: workers ? mainReady.then(() => workers.ready) : mainReady,
    close: () => {
      closing ??= (async () => {
        listeners.close();
        await client.close();
        await workers?.close();
        dns.close();
        named.close();
        plane.close();
      })();
      return closing;
    },
  };
}

/**
 * TLS to the control plane with the workload certificate, kept current as the agent renews it
 * (grpc-js holds the connection until the first certificate is there).
 */
function xdsTlsChannel(
  tls: NonNullable<ProxyOptions["xdsTls"]>,
  secrets: SecretProvider,
): Pick<XdsClientOptions, "credentials" | "channelOptions"> {
  const provider = new UpdatableCertificateProvider();
  const feed = () => {
    const certificate = secrets.certificate(WORKLOAD_SECRET);
    const rootsPem = secrets.trustedCa(ROOT_CA_SECRET) ?? tls.rootsPem;
    if (certificate && rootsPem) provider.update({ ...certificate, rootsPem });
  };
  feed();
  secrets.onChange(feed);
  return {
    credentials: grpc.experimental.createCertificateProviderChannelCredentials(provider, provider),
    channelOptions: {
      "grpc.ssl_target_name_override": tls.serverName,
      "grpc.default_authority": tls.serverName,
    },
  };
}

/** What the admin server shows of every thread: fresh after each refresh(). */
function adminView(proxy: ProxyParts) {
  let stats: StatsStore = proxy.stats;
  let istio: IstioMetrics = proxy.telemetry.metrics;
  let workerClusters: ((clusters: AdminCluster[]) => AdminCluster[]) | undefined;
  return {
    get stats() {
      return stats;
    },
    istioMetrics: () => istio,
    clusters: () => {
      const clusters = describeClusters(proxy.clusters);
      return workerClusters ? workerClusters(clusters) : clusters;
    },
    refresh: async () => {
      const workers = proxy.workers;
      if (!workers) return;
      await workers.caughtUp();
      const totals = await workers.collect();
      stats = mergedStats(proxy.stats, totals);
      istio = sumIstioMetrics(
        proxy.telemetry.metrics,
        totals.map((t) => t.istio),
      );
      workerClusters = (clusters) => withWorkerActiveRequests(clusters, totals);
    },
  };
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const proxy = assembleProxy(options);
  const logger = options.logger;
  const drainTimeMs = options.drainTimeMs ?? DEFAULT_DRAIN_TIME_MS;
  let state: ServerState = "INITIALIZING";
  // LIVE once the first full configuration is applied and, with a CA, the workload certificate
  // has arrived (mTLS handshakes would fail before it).
  void Promise.all([proxy.ready, options.secretsReady]).then(() => {
    if (state === "INITIALIZING") state = "LIVE";
  });
  const view = adminView(proxy);
  const source: AdminSource = {
    node: options.node,
    startTime: Date.now(),
    concurrency: options.concurrency ?? 1,
    drainTimeMs,
    recorder: proxy.recorder,
    get stats() {
      return view.stats;
    },
    refresh: view.refresh,
    istioMetrics: view.istioMetrics,
    logger,
    state: () => state,
    warmingClusters: () =>
      proxy.clusters
        .snapshot()
        .filter((c) => c.warming)
        .map((c) => c.name),
    warmingListeners: () => proxy.listeners.warmingNames(),
    clusters: view.clusters,
    listeners: () =>
      proxy.listeners
        .statuses()
        .flatMap((l) =>
          l.warming
            ? []
            : [{ name: l.name, ...(l.boundAddress ? { address: l.boundAddress } : {}) }],
        ),
    drainListeners: () => {
      state = "DRAINING";
      proxy.listeners.drain();
      proxy.workers?.broadcast({ kind: "drain" });
    },
    // Envoy exits; the CLI's SIGTERM handling drains and closes everything first.
    quit: () => {
      if (options.onQuit) options.onQuit();
      else process.kill(process.pid, "SIGTERM");
    },
    setLogLevel: (level) => {
      logger.level =
        level === "warning"
          ? "warn"
          : level === "critical"
            ? "fatal"
            : level === "off"
              ? "silent"
              : level;
      proxy.workers?.broadcast({ kind: "log-level", level: logger.level });
      return true;
    },
    loggers: () => ({ main: String(logger.level) }),
  };
  const admin = await startAdminServer(
    source,
    options.adminAddress ?? { host: "127.0.0.1", port: 15000 },
  ).catch(async (error: unknown) => {
    await proxy.close();
    throw error;
  });
  const isReady = () => (state === "LIVE" ? true : `proxy is ${state}`);
  let readiness: RunningHttpServer | undefined;
  let status: RunningHttpServer | undefined;
  let prometheus: RunningHttpServer | undefined;
  try {
    if (options.prometheusAddress) {
      prometheus = await startPrometheusServer(source, options.prometheusAddress);
    }
    if (options.readinessAddress) {
      readiness = await startReadinessServer(isReady, options.readinessAddress);
    }
    if (options.statusAddress) {
      status = await startStatusServer(
        {
          probers: options.appProbers ?? new Map(),
          appAddress: options.appAddress ?? "127.0.0.1",
          isReady,
          logger,
          proxyMetrics: () => prometheusExposition(source),
          appMetrics: options.appMetrics,
        },
        options.statusAddress,
      );
    }
  } catch (error) {
    // Nothing may keep the process alive once the caller learns it cannot start.
    await proxy.close();
    await admin.close();
    await prometheus?.close();
    await readiness?.close();
    throw error;
  }
  return {
    adminUrl: admin.url,
    readinessUrl: readiness?.url,
    statusUrl: status?.url,
    prometheusUrl: prometheus?.url,
    ready: proxy.ready,
    close: async () => {
      state = "DRAINING";
      await proxy.close();
      await admin.close();
      await prometheus?.close();
      await readiness?.close();
      await status?.close();
    },
  };
}
