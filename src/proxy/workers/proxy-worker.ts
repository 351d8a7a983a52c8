// A proxy worker thread (Envoy's worker): its own data plane on its own sockets of the same
// listener addresses (SO_REUSEPORT), fed the config the main thread accepted, in the order it was
// accepted. Circuit-breaker counts are shared with the main thread; outlier results go to the
// main thread's detectors and ejections come back.
import module from "node:module";
import { isIP } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { systemClock } from "../../base/clock.ts";
import { createLogger } from "../../base/logger.ts";
import type { TypeHandler } from "../../xds/client/types.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { assembleDataPlane, dataPlaneReady } from "../data-plane.ts";
import { snapshotIstioMetrics } from "../telemetry/metrics-snapshot.ts";
import type { LoadAssignment } from "../upstream/decode-endpoints.ts";
import type { OutlierResult } from "../upstream/outlier-detector.ts";
import { ForwardedSecretProvider } from "./forwarded-secret-provider.ts";
import { RemoteOutlierMonitor } from "./remote-outlier-monitor.ts";
import type { FromWorker, StatEntry, ToWorker, WorkerSetup } from "./worker-messages.ts";

module.enableCompileCache?.();

if (!parentPort) throw new Error("proxy-worker.ts runs as a worker thread of a proxy");
const port = parentPort;
const setup = workerData as WorkerSetup;
const post = (message: FromWorker): void => port.postMessage(message);

const logger = createLogger({
  name: "proxy",
  level: setup.logLevel,
  destination: { write: (line: string) => process.stderr.write(line) },
}).child({ worker: setup.index });
const secrets = new ForwardedSecretProvider(setup.secrets);
/** Breaker counts the main thread shares, by cluster name. */
const breakerCounts = new Map<string, Int32Array>();
/** The main thread's latest DNS answers, by cluster name. */
const resolved = new Map<string, LoadAssignment>();
const outliers = new Map<string, RemoteOutlierMonitor>();
/** Bound ports of the main thread's port-0 listeners, and binds waiting for one. */
const anyPorts = new Map<string, number>();
const anyPortWaiters = new Map<string, ((port: number) => void)[]>();

// Results reach the main thread once per turn of the event loop, in the order they happened.
let outlierResults: (readonly [string, string, OutlierResult])[] = [];
const flushOutlierResults = (): void => {
  const results = outlierResults;
  outlierResults = [];
  post({ kind: "outlier-results", results });
};

const plane = assembleDataPlane({
  clock: systemClock(),
  logger,
  node: setup.node,
  sourceAddress: setup.sourceAddress,
  secrets,
  drainTimeMs: setup.drainTimeMs,
  clusters: {
    breakerCounts: (name) => breakerCounts.get(name),
    // The main thread looks names up and forwards the answers; literal addresses need none.
    resolveDns: (config, inline) =>
      inline.endpoints.every((e) => isIP(e.address) !== 0) ? inline : resolved.get(config.name),
    outlierMonitor: (cluster) => {
      const monitor = new RemoteOutlierMonitor((address, result) => {
        if (outlierResults.length === 0) setImmediate(flushOutlierResults);
        outlierResults.push([cluster, address, result]);
      });
      outliers.set(cluster, monitor);
      return monitor;
    },
  },
  listeners: {
    onRdsNames: () => {},
    onBound: () => checkReady(),
    reusePort: true,
    workerIndex: setup.index,
    portForAnyPort: (name, json) => {
      const known = anyPorts.get(`${name}\n${json}`);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve) => {
        const key = `${name}\n${json}`;
        anyPortWaiters.set(key, [...(anyPortWaiters.get(key) ?? []), resolve]);
      });
    },
  },
});

const handlers = new Map<string, TypeHandler>([
  [TYPE_URL.cluster, plane.clusters.cdsHandler()],
  [TYPE_URL.clusterLoadAssignment, plane.clusters.edsHandler()],
  [TYPE_URL.listener, plane.listeners.handler()],
  [TYPE_URL.routeConfiguration, plane.routes.handler()],
]);
const seen = new Set<string>();
let ready = false;
const checkReady = (): void => {
  if (ready || !seen.has(TYPE_URL.cluster) || !seen.has(TYPE_URL.listener)) return;
  if (!dataPlaneReady(plane)) return;
  ready = true;
  post({ kind: "ready" });
};

function onMessage(message: ToWorker): void {
  switch (message.kind) {
    case "update": {
      for (const [name, counts] of message.breakerCounts ?? []) breakerCounts.set(name, counts);
      const handler = handlers.get(message.typeUrl);
      const { errors } = handler?.apply(message.update) ?? { errors: [] };
      // The main thread accepted this very update; a worker that cannot is a bug to report.
      if (errors.length > 0)
        logger.error({ type: message.typeUrl, errors }, "worker rejected an update");
      if (message.typeUrl === TYPE_URL.cluster) {
        const names = new Set(plane.clusters.clusterNames());
        for (const map of [breakerCounts, resolved, outliers])
          for (const name of map.keys()) if (!names.has(name)) map.delete(name);
      }
      seen.add(message.typeUrl);
      post({ kind: "applied", seq: message.seq });
      checkReady();
      return;
    }
    case "dns":
      resolved.set(message.cluster, message.assignment);
      plane.clusters.setResolvedEndpoints(message.cluster, message.assignment);
      post({ kind: "applied", seq: message.seq });
      checkReady();
      return;
    case "outlier":
      outliers.get(message.cluster)?.apply(message.address, message.decision);
      return;
    case "any-port": {
      const key = `${message.name}\n${message.json}`;
      anyPorts.set(key, message.port);
      for (const resolve of anyPortWaiters.get(key) ?? []) resolve(message.port);
      anyPortWaiters.delete(key);
      return;
    }
    case "secrets":
      secrets.replace(message.secrets);
      return;
    case "log-level":
      logger.level = message.level;
      return;
    case "drain":
      plane.listeners.drain();
      return;
    case "collect":
      post({ kind: "collected", id: message.id, totals: totals() });
      return;
    case "close":
      plane.close();
      port.off("message", onMessage);
      post({ kind: "closed" });
      return;
  }
}

function statEntries(entries: IterableIterator<[string, { value: number }]>): StatEntry[] {
  const out: StatEntry[] = [];
  for (const [name, stat] of entries) out.push([name, stat.value, plane.stats.tags(name)]);
  return out;
}

function totals() {
  const activeRequests: [string, string, number][] = [];
  for (const snapshot of plane.clusters.snapshot())
    for (const host of snapshot.hosts)
      if (host.activeRequests > 0)
        activeRequests.push([snapshot.name, host.address, host.activeRequests]);
  return {
    counters: statEntries(plane.stats.counterEntries()),
    gauges: statEntries(plane.stats.gaugeEntries()),
    activeRequests,
    istio: snapshotIstioMetrics(plane.telemetry.metrics),
  };
}

port.on("message", onMessage);
