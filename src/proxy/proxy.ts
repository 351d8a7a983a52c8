// Assembles a running proxy: the xDS client (ADS) feeding clusters (CDS/EDS), route tables (RDS)
// and listeners (LDS); the listeners' HTTP connection managers and TCP proxies sharing one set of
// upstream connection pools; readiness once the first full configuration is warm.
import type { Socket } from "node:net";
import { systemClock } from "../base/clock.ts";
import { XdsClient } from "../xds/client/xds-client.ts";
import { TYPE_URL } from "../xds/type-urls.ts";
import { type ServerState, startAdminServer } from "./admin/admin-server.ts";
import { describeClusters } from "./admin/clusters-view.ts";
import type { RunningHttpServer } from "./admin/http-listen.ts";
import { startReadinessServer } from "./admin/readiness-server.ts";
import { ResourceRecorder } from "./admin/resource-recorder.ts";
import { startStatusServer } from "./agent/status-server.ts";
import { ConnectionPools } from "./hcm/upstream-pools.ts";
import type { ProxyOptions, RunningProxy } from "./proxy-options.ts";
import { ListenerManager } from "./runtime/listener-manager.ts";
import { RouteStore } from "./runtime/route-store.ts";
import { StatsStore } from "./stats/stats-store.ts";
import { startTcpProxy } from "./tcp/tcp-proxy.ts";
import { NO_SECRETS } from "./tls/secret-provider.ts";
import { UpstreamTlsConnector } from "./tls/upstream-tls.ts";
import { ClusterManager } from "./upstream/cluster-manager.ts";
import { DnsRefresher } from "./upstream/dns-refresher.ts";

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
}

export function assembleProxy(
  options: ProxyOptions,
): ProxyParts & { ready: Promise<void>; close(): Promise<void> } {
  const clock = options.clock ?? systemClock();
  const logger = options.logger;
  const stats = new StatsStore();
  const client = new XdsClient({
    serverAddress: options.xdsAddress,
    node: options.node,
    protocol: options.xdsProtocol ?? "sotw",
    logger,
    clock,
  });
  // Late-bound: a resolution reaches the cluster manager and may complete the first warm-up.
  const dns = new DnsRefresher({
    clock,
    isCurrent: (config) => clusters.cluster(config.name)?.config === config,
    onResolved: (name, assignment) => {
      clusters.setResolvedEndpoints(name, assignment);
      checkReady();
    },
  });
  const clusters = new ClusterManager({
    clock,
    onEdsNames: (names) => client.setResourceNames(TYPE_URL.clusterLoadAssignment, new Set(names)),
    resolveDns: dns.resolveDns,
  });
  const routes = new RouteStore();
  const pools = new ConnectionPools();
  const random = Math.random;
  const sourceAddress = options.sourceAddress;
  // TLS material (SDS `default` and `ROOTCA`) for listeners that terminate and clusters that
  // originate TLS; a rotation reaches both through the provider's onChange.
  const secrets = options.secrets ?? NO_SECRETS;
  const upstreamTls = new UpstreamTlsConnector(secrets);
  const tcpDeps = {
    clusters,
    stats,
    random,
    upstreamTls,
    ...(sourceAddress ? { sourceAddress } : {}),
  };
  const listeners = new ListenerManager({
    secrets,
    hcm: {
      clusters,
      pools,
      stats,
      random,
      logger,
      upstreamTls,
      ...(sourceAddress ? { sourceAddress } : {}),
      relayTcp: (socket, clusterName, target, idleTimeoutMs, events) => {
        startTcpProxy(
          socket as Socket,
          {
            statPrefix: "connect",
            cluster: { kind: "cluster", name: clusterName },
            idleTimeoutMs: idleTimeoutMs ?? 3_600_000,
            maxConnectAttempts: 1,
          },
          tcpDeps,
          { originalDestination: target, ...events },
        );
      },
    },
    routes,
    startTcpProxy: (socket, config, originalDestination) =>
      startTcpProxy(socket, config, tcpDeps, { originalDestination }),
    onRdsNames: (names) => client.setResourceNames(TYPE_URL.routeConfiguration, names),
    drainTimeMs: options.drainTimeMs ?? DEFAULT_DRAIN_TIME_MS,
    logger,
    onBound: () => checkReady(),
  });
  const recorder = new ResourceRecorder();
  client.watch(TYPE_URL.cluster, recorder.wrap(TYPE_URL.cluster, clusters.cdsHandler()));
  client.watch(
    TYPE_URL.clusterLoadAssignment,
    recorder.wrap(TYPE_URL.clusterLoadAssignment, clusters.edsHandler()),
  );
  client.watch(TYPE_URL.listener, recorder.wrap(TYPE_URL.listener, listeners.handler()));
  client.watch(
    TYPE_URL.routeConfiguration,
    recorder.wrap(TYPE_URL.routeConfiguration, routes.handler()),
  );

  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const seen = new Set<string>();
  const checkReady = (): void => {
    if (
      seen.has(TYPE_URL.cluster) &&
      seen.has(TYPE_URL.listener) &&
      clusters.ready() &&
      listeners.ready()
    ) {
      markReady();
    }
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
    ready,
    close: () => {
      closing ??= (async () => {
        listeners.close();
        await client.close();
        clusters.close();
        dns.close();
        routes.close();
        pools.close();
        upstreamTls.close();
      })();
      return closing;
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
  const admin = await startAdminServer(
    {
      node: options.node,
      startTime: Date.now(),
      concurrency: options.concurrency ?? 2,
      drainTimeMs,
      recorder: proxy.recorder,
      stats: proxy.stats,
      logger,
      state: () => state,
      warmingClusters: () =>
        proxy.clusters
          .snapshot()
          .filter((c) => c.warming)
          .map((c) => c.name),
      warmingListeners: () => proxy.listeners.warmingNames(),
      clusters: () => describeClusters(proxy.clusters),
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
        return true;
      },
      loggers: () => ({ main: String(logger.level) }),
    },
    options.adminAddress ?? { host: "127.0.0.1", port: 15000 },
  ).catch(async (error: unknown) => {
    await proxy.close();
    throw error;
  });
  const isReady = () => (state === "LIVE" ? true : `proxy is ${state}`);
  let readiness: RunningHttpServer | undefined;
  let status: RunningHttpServer | undefined;
  try {
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
        },
        options.statusAddress,
      );
    }
  } catch (error) {
    // Nothing may keep the process alive once the caller learns it cannot start.
    await proxy.close();
    await admin.close();
    await readiness?.close();
    throw error;
  }
  return {
    adminUrl: admin.url,
    readinessUrl: readiness?.url,
    statusUrl: status?.url,
    ready: proxy.ready,
    close: async () => {
      state = "DRAINING";
      await proxy.close();
      await admin.close();
      await readiness?.close();
      await status?.close();
    },
  };
}
