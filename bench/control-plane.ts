// Benchmark: the control plane serving 1,000 services × 10 endpoints to 100 simulated proxies
// (lightweight xDS clients in this process): time to the first full push, memory, and
// convergence after one VirtualService change. The baseline, measured in the same run, is
// translating the same config for the same 100 proxies without any network.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { silentLogger } from "../src/base/logger.ts";
import { startControlPlane } from "../src/control-plane/control-plane.ts";
import { decodeProxyNode } from "../src/control-plane/model/proxy.ts";
import { translateProxy } from "../src/control-plane/translate/translate-proxy.ts";
import { XdsClient } from "../src/xds/client/index.ts";
import { TYPE_URL } from "../src/xds/type-urls.ts";

export interface ControlPlaneBenchResult {
  services: number;
  endpointsPerService: number;
  proxies: number;
  baselineTranslateMs: number;
  firstPushMs: number;
  convergenceMs: number;
  rssMb: number;
  heapMb: number;
}

function config(services: number, endpoints: number): string {
  const docs: string[] = [];
  for (let s = 0; s < services; s++) {
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${s}, namespace: default}\nspec:\n  selector: {app: svc-${s}}\n  ports: [{name: http, port: 8080}]\n`,
    );
    for (let e = 0; e < endpoints; e++) {
      const ip = `10.${(s >> 8) & 255}.${s & 255}.${e + 1}`;
      docs.push(
        `apiVersion: v1\nkind: Pod\nmetadata: {name: svc-${s}-${e}, namespace: default, labels: {app: svc-${s}, version: v1}}\nspec:\n  containers: [{name: app, image: x, ports: [{containerPort: 8080}]}]\nstatus: {podIP: ${ip}}\n`,
      );
    }
  }
  return docs.join("---\n");
}

const virtualService = (weight: number) =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc-0, namespace: default}\nspec:\n  hosts: [svc-0]\n  http:\n  - route:\n    - destination: {host: svc-0}\n      weight: ${weight}\n    - destination: {host: svc-1}\n      weight: ${100 - weight}\n`;

const node = (i: number) => ({
  id: `sidecar~10.200.${i >> 8}.${i & 255}~client-${i}.default~default.svc.cluster.local`,
  metadata: { NAMESPACE: "default", LABELS: { app: "client" } },
});

const TYPES = [
  TYPE_URL.cluster,
  TYPE_URL.clusterLoadAssignment,
  TYPE_URL.listener,
  TYPE_URL.routeConfiguration,
];

export async function benchControlPlane(
  services = 1000,
  endpoints = 10,
  proxies = 100,
): Promise<ControlPlaneBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "crema-bench-cp-"));
  writeFileSync(join(dir, "mesh.yaml"), config(services, endpoints));
  writeFileSync(join(dir, "vs.yaml"), virtualService(50));
  const logger = silentLogger();
  const controlPlane = await startControlPlane({
    configPaths: [dir],
    xdsAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    watch: false,
    translate: translateProxy,
    logger,
  });

  // Baseline: the same translations, no network.
  const baselineStart = performance.now();
  for (let i = 0; i < proxies; i++) {
    const decoded = decodeProxyNode(node(i));
    if (decoded.ok) translateProxy(controlPlane.snapshot(), decoded.proxy);
  }
  const baselineTranslateMs = performance.now() - baselineStart;

  const clients: XdsClient[] = [];
  const accepted = new Map<XdsClient, Map<string, string>>();
  const waiters: Array<() => void> = [];
  const allAt = (version: string, types: readonly string[]) =>
    clients.every((c) => types.every((t) => accepted.get(c)?.get(t) === version));
  /** Resolves once every client has accepted `types` at the snapshot's version, and that
   * version is not `previous` (so a change must have been pushed). Only changed types are
   * resent, so a change converges when the types it touches do. */
  const converged = (types: readonly string[], previous?: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        const version = controlPlane.snapshot().version;
        if (version !== previous && allAt(version, types)) resolve();
        else waiters.push(check);
      };
      check();
    });

  const firstPushStart = performance.now();
  for (let i = 0; i < proxies; i++) {
    const client = new XdsClient({
      serverAddress: controlPlane.xdsAddress,
      node: node(i),
      protocol: "sotw",
      logger,
    });
    const versions = new Map<string, string>();
    accepted.set(client, versions);
    const names = new Set<string>();
    for (const type of TYPES) {
      client.watch(type, {
        apply: (update) => {
          if (type === TYPE_URL.cluster) {
            for (const name of update.added.keys()) names.add(name);
            client.setResourceNames(TYPE_URL.clusterLoadAssignment, names);
          }
          if (type === TYPE_URL.listener)
            client.setResourceNames(TYPE_URL.routeConfiguration, new Set(["8080", "15001"]));
          return { errors: [] };
        },
      });
    }
    client.events.on("update", (typeUrl, version) => {
      versions.set(typeUrl, version);
      for (const waiter of waiters.splice(0)) waiter();
    });
    client.start();
    clients.push(client);
  }
  await converged(TYPES);
  const firstPushMs = performance.now() - firstPushStart;
  const memory = process.memoryUsage();

  const before = controlPlane.snapshot().version;
  const changeStart = performance.now();
  const outcome = controlPlane.store.apply(virtualService(80), "bench-change.yaml");
  if (!outcome.accepted) throw new Error(outcome.report);
  // The debounce (100 ms of quiet) is part of what a user waits for, so it is included.
  await converged([TYPE_URL.routeConfiguration], before);
  const convergenceMs = performance.now() - changeStart;

  await Promise.all(clients.map((c) => c.close()));
  await controlPlane.close();
  return {
    services,
    endpointsPerService: endpoints,
    proxies,
    baselineTranslateMs,
    firstPushMs,
    convergenceMs,
    rssMb: memory.rss / 2 ** 20,
    heapMb: memory.heapUsed / 2 ** 20,
  };
}
