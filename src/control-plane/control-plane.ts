// The control plane (istiod's job), composed: configuration store → snapshot → per-proxy
// translation → ADS server, with Istio's push debounce, and the debug/metrics HTTP server; with a
// `ca`, also the certificate authority and ADS over TLS on the secure port (ca-server.ts).
import * as grpc from "@grpc/grpc-js";
import { type Clock, systemClock } from "../base/clock.ts";
import { CremaError } from "../base/errors.ts";
import type { Logger } from "../base/logger.ts";
import { resourceRef } from "../config/resource.ts";
import { AdsServer } from "../xds/server/index.ts";
import { shortTypeName } from "../xds/type-urls.ts";
import { type CaOptions, type CaServer, startCaServer } from "./ca-server.ts";
import { configApiHandlers } from "./config-api.ts";
import { type ConfigStore, type ConfigStoreOptions, createConfigStore } from "./config-store.ts";
import {
  type DebugHandler,
  type DebugServer,
  splitHostPort,
  startDebugServer,
} from "./debug-server.ts";
import { createDiscoverySource, type Translate } from "./discovery-source.ts";
import { createControlPlaneMetrics } from "./metrics.ts";
import { buildSnapshot } from "./model/build-snapshot.ts";
import { DEFAULT_MESH_CONFIG, type MeshConfig } from "./model/mesh-config.ts";
import type { MeshSnapshot } from "./model/snapshot.ts";
import { createPushDebouncer } from "./push-debouncer.ts";
import { JwksResolver } from "./translate/authn/jwks-resolver.ts";

/** How long shutdown waits for xDS streams, then for their connections, before cutting them. */
const SHUTDOWN_GRACE_MS = 5_000;
/** Istio's secure xDS / CA port. */
export const DEFAULT_SECURE_XDS_ADDRESS = "127.0.0.1:15012";

export interface ControlPlaneOptions {
  configPaths: readonly string[];
  /** The config paths as already read and validated (ConfigStoreOptions.initial). */
  initialConfig?: ConfigStoreOptions["initial"];
  /** Plain-text xDS (Istio: 15010). Port 0 picks a free port. */
  xdsAddress: string;
  /** Debug and metrics (Istio: 15014). */
  httpAddress: string;
  meshConfig?: Partial<MeshConfig>;
  /**
   * Turns on the certificate authority: Istio's CSR API and ADS over TLS on `secureXdsAddress`.
   * The trust domain defaults to meshConfig.trustDomain.
   */
  ca?: CaOptions;
  /** TLS gRPC for the CSR API and xDS (Istio: 15012), with `ca` only. Default 127.0.0.1:15012. */
  secureXdsAddress?: string;
  defaultNamespace?: string;
  watch?: boolean;
  /** Further checks of applied resources (ConfigStoreOptions.admit). */
  admit?: ConfigStoreOptions["admit"];
  translate: Translate;
  logger: Logger;
  clock?: Clock;
}

export interface ControlPlane {
  xdsAddress: string;
  httpUrl: string;
  /** The TLS port of the CSR API and xDS; undefined without a CA. */
  secureXdsAddress: string | undefined;
  /** The trust bundle workloads need (PEM); undefined without a CA. */
  caRootPem(): string | undefined;
  /** A bootstrap token for a workload's CSR (the local runtime gives one to each sidecar). */
  issueBootstrapToken(namespace: string, serviceAccount: string): Promise<string>;
  store: ConfigStore;
  snapshot(): MeshSnapshot;
  /**
   * Whether every accepted change has been pushed and every connected proxy has answered (ACK
   * or NACK) all it was sent: what `istioctl proxy-status` shows as every proxy SYNCED.
   */
  converged(): boolean;
  close(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { logger } = options;
  const clock = options.clock ?? systemClock();
  const meshConfig = { ...DEFAULT_MESH_CONFIG, ...options.meshConfig };
  const metrics = createControlPlaneMetrics();
  const store = await createConfigStore({
    paths: options.configPaths,
    ...(options.initialConfig ? { initial: options.initialConfig } : {}),
    logger,
    clock,
    ...(options.defaultNamespace ? { defaultNamespace: options.defaultNamespace } : {}),
    ...(options.watch === undefined ? {} : { watch: options.watch }),
    ...(options.admit ? { admit: options.admit } : {}),
  });
  // RequestAuthentication's jwksUri key sets, fetched here and inlined by translation; a new or
  // changed key set bumps the generation, so the next snapshot has a new version and is pushed.
  let keyGeneration = 0;
  const jwks = new JwksResolver({
    clock,
    onChange: () => {
      keyGeneration++;
      debouncer.change("jwks");
    },
    onError: (message) => logger.warn({ reason: message }, "cannot fetch a JWKS"),
  });
  const snapshotNow = () =>
    buildSnapshot(store.current().resources, meshConfig, { jwks, generation: keyGeneration });
  let snapshot = snapshotNow();
  jwks.start();
  let changedAt = clock.now();
  let ready = false;

  const source = createDiscoverySource({
    snapshot: () => snapshot,
    translate: options.translate,
    logger,
    onInternalError: () => metrics.internalErrors.inc(),
  });
  const ads = new AdsServer(source, {
    logger,
    clock,
    closeTimeoutMs: SHUTDOWN_GRACE_MS,
    onEvent: (event) => {
      if (event.kind === "push")
        metrics.pushes.inc({ type: shortTypeName(event.typeUrl).toLowerCase() });
      else if (event.kind === "nack") {
        metrics.rejects.inc({ type: shortTypeName(event.typeUrl).toLowerCase() });
        logger.warn(
          { proxy: event.nodeId, type: shortTypeName(event.typeUrl), reason: event.message },
          "proxy rejected config (NACK)",
        );
      } else if (event.kind === "ack" && event.version === snapshot.version) {
        metrics.convergence.observe((clock.now() - changedAt) / 1000);
      } else if (event.kind === "encode-error") {
        // The engine has logged it with the proxy and resource; count it as Istio counts a
        // resource it failed to build.
        metrics.internalErrors.inc();
      } else if (event.kind === "connect" || event.kind === "disconnect") {
        metrics.connected.set({ version: "crema" }, source.proxies().length);
      }
    },
  });

  const debouncer = createPushDebouncer(clock, (reasons) => {
    const start = clock.now();
    changedAt = burstStart ?? start;
    burstStart = undefined;
    snapshot = snapshotNow();
    const version = snapshot.version;
    pushing++;
    // Connections are pushed in turn (the ADS server's push queue): the push time runs until
    // the last of them has been computed and written.
    void ads
      .push()
      .finally(() => pushing--)
      .then(() => {
        metrics.pushTime.observe({ type: "all" }, (clock.now() - start) / 1000);
        logger.info({ version, reasons: reasons.length }, "pushed configuration");
      });
  });
  // Convergence is measured from the first change of a burst to each proxy's ACK.
  let burstStart: number | undefined;
  /** Pushes started and not yet written to every connection. */
  let pushing = 0;
  const offChange = store.onChange((_state, changed) => {
    burstStart ??= clock.now();
    debouncer.change(changed.join(","));
  });

  const grpcServer = new grpc.Server();
  ads.bind(grpcServer);
  const { host, port } = splitHostPort(options.xdsAddress);
  /**
   * A start that fails (a port taken, a CA that refuses its files) stops what it started: the
   * JWKS refresh timer and the config watchers would keep the process alive with nothing served.
   */
  const stopStarted = async () => {
    offChange();
    debouncer.stop();
    jwks.stop();
    store.close();
    grpcServer.forceShutdown();
    await ads.close();
    await caServer?.close();
  };
  let boundPort: number;
  let caServer: CaServer | undefined;
  try {
    boundPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync(
        `${host.includes(":") ? `[${host}]` : host}:${port}`,
        grpc.ServerCredentials.createInsecure(),
        (error, bound) => (error ? reject(error) : resolve(bound)),
      ),
    );
    if (options.ca) {
      caServer = await startCaServer({
        ca: { ...options.ca, trustDomain: options.ca.trustDomain ?? meshConfig.trustDomain },
        address: options.secureXdsAddress ?? DEFAULT_SECURE_XDS_ADDRESS,
        ads,
        logger,
        clock,
        shutdownGraceMs: SHUTDOWN_GRACE_MS,
        monitor: metrics.csrMonitor,
      });
      const started = caServer;
      metrics.watchCaBundle(() => started.bundle());
    }
  } catch (error) {
    await stopStarted();
    throw error;
  }

  const handlers: DebugHandler[] = [
    ...configApiHandlers(store),
    {
      path: "/debug/syncz",
      description:
        "Each connected proxy: per xDS type, the version and nonce sent and ACKed, the last NACK with its reason, and resources that fail to encode.",
      handle: () => ads.connections(),
    },
    {
      path: "/debug/configz",
      description: "The configuration currently served: every accepted resource.",
      handle: () =>
        store
          .current()
          .resources.map((r) => ({ ...resourceRef(r), apiVersion: r.apiVersion, spec: r.spec })),
    },
    {
      path: "/debug/config_dump",
      description:
        "What a connected proxy gets (?proxyID=<node id, or pod.namespace>): listeners, routes, clusters, endpoints.",
      handle: (query) => {
        const wanted = query.get("proxyID") ?? "";
        const entry = source
          .proxies()
          .find(
            ({ proxy }) => proxy.id === wanted || `${proxy.podName}.${proxy.namespace}` === wanted,
          );
        if (!entry) return undefined;
        const resources = source.resourcesFor(entry.proxy, entry.listenerNames);
        return {
          proxy: entry.proxy.id,
          version: snapshot.version,
          listeners: [...resources.listeners.values()],
          routes: [...resources.routes.values()],
          clusters: [...resources.clusters.values()],
          endpoints: [...resources.endpoints.values()],
        };
      },
    },
    {
      path: "/debug/registryz",
      description: "The service registry: every service with its ports and endpoints.",
      handle: () =>
        snapshot.services.map((service) => ({
          ...service,
          endpoints: service.ports.flatMap((p) =>
            snapshot.endpointsOf(service.hostname, p.port, service.namespace),
          ),
        })),
    },
  ];
  let debug: DebugServer;
  try {
    debug = await startDebugServer({
      address: options.httpAddress,
      handlers,
      metrics: metrics.registry,
      ready: () => ready,
      logger,
    });
  } catch (error) {
    await stopStarted();
    throw error;
  }
  ready = true;
  const xdsAddress = `${host.includes(":") ? `[${host}]` : host}:${boundPort}`;
  logger.info(
    {
      xds: xdsAddress,
      http: debug.url,
      ...(caServer ? { secureXds: caServer.address } : {}),
      version: snapshot.version,
    },
    "control plane ready",
  );

  return {
    xdsAddress,
    httpUrl: debug.url,
    secureXdsAddress: caServer?.address,
    caRootPem: () => caServer?.rootPem(),
    issueBootstrapToken(namespace, serviceAccount) {
      if (!caServer) {
        return Promise.reject(
          new CremaError(
            "CREMA_BASE_INTERNAL",
            "the control plane was started without a certificate authority (the `ca` option)",
          ),
        );
      }
      return caServer.issueBootstrapToken(namespace, serviceAccount);
    },
    store,
    snapshot: () => snapshot,
    converged: () =>
      !debouncer.pending() &&
      pushing === 0 &&
      ads.connections().every((c) => c.types.every((t) => !t.awaitingAnswer)),
    async close() {
      ready = false;
      offChange();
      debouncer.stop();
      jwks.stop();
      store.close();
      await ads.close();
      await caServer?.close();
      // A client that keeps its HTTP/2 connection open after its streams ended must not hold the
      // shutdown: graceful first, forced after the same grace the ADS streams had.
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          grpcServer.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        grpcServer.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      await debug.close();
    },
  };
}
