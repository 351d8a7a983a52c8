// The proxy's clusters from CDS and EDS: all-or-nothing updates, warming, host sets, LB and outlier wiring.
import type { Clock } from "../../base/clock.ts";
import type { ApplyResult, ResourceUpdate, TypeHandler } from "../../xds/client/types.ts";
import { CircuitBreakers } from "./circuit-breakers.ts";
import type { ClusterConfig, DiscoveryType, OutlierDetectionConfig } from "./cluster-config.ts";
import { decodeCluster } from "./decode-cluster.ts";
import { buildHostSet, decodeLoadAssignment, type LoadAssignment } from "./decode-endpoints.ts";
import {
  DEFAULT_OVERPROVISIONING_FACTOR,
  type Host,
  type HostSet,
  hostAddress,
} from "./lb/host-set.ts";
import { createLoadBalancer, type LoadBalancer, type PickContext } from "./lb/load-balancer.ts";
import type { RandomSource } from "./lb/random-source.ts";
import { OutlierDetector, type OutlierEvent, type OutlierMonitor } from "./outlier-detector.ts";

/**
 * DNS seam for STRICT_DNS/LOGICAL_DNS clusters: the inline assignment → the endpoints to use, or
 * undefined while the first resolution runs (the cluster warms). The default keeps hostnames as
 * addresses (unresolved); a resolver finishing later calls ClusterManager.setResolvedEndpoints.
 */
export type ResolveDns = (
  cluster: ClusterConfig,
  assignment: LoadAssignment,
) => LoadAssignment | undefined;

export interface ClusterManagerOptions {
  /** Drives the outlier detectors' interval timers. */
  clock: Clock;
  /** Called with the sorted EDS service names of the current EDS clusters whenever they change:
   * the proxy passes them to `client.setResourceNames(TYPE_URL.clusterLoadAssignment, names)`. */
  onEdsNames?: (names: readonly string[]) => void;
  resolveDns?: ResolveDns;
  /** Outlier detectors' enforcement/jitter randomness (OS-seeded when unset). */
  random?: RandomSource;
  /** A new cluster's circuit-breaker counts (default: its own); worker threads share them. */
  breakerCounts?: (clusterName: string) => Int32Array | undefined;
  /** The outlier detection of a cluster that configures it (default: an OutlierDetector here);
   * a worker thread's clusters defer to the main thread's detectors. */
  outlierMonitor?: (clusterName: string, config: OutlierDetectionConfig) => OutlierMonitor;
  /** Every ejection and readmission, after the cluster's load balancer saw it. */
  onOutlierEvent?: (clusterName: string, event: OutlierEvent) => void;
}

/** One cluster as the proxy uses it. */
export interface Cluster {
  readonly config: ClusterConfig;
  /** Undefined for ORIGINAL_DST (CLUSTER_PROVIDED): the proxy picks the original destination. */
  readonly lb: LoadBalancer | undefined;
  readonly circuitBreakers: CircuitBreakers;
  /** Only when the cluster configures outlier_detection. */
  readonly outlierDetector: OutlierMonitor | undefined;
  /** Undefined while the cluster is warming (EDS cluster before its first assignment). */
  readonly hostSet: HostSet | undefined;
}

export type PickResult =
  | { host: Host }
  | { noCluster: true }
  | { noHealthyUpstream: true }
  | { warming: true };

export interface HostSnapshot {
  address: string;
  health: string;
  ejected: boolean;
  activeRequests: number;
  outlierEjections: number;
}

export interface ClusterSnapshot {
  name: string;
  type: DiscoveryType;
  edsServiceName?: string;
  warming: boolean;
  hosts: HostSnapshot[];
}

interface Entry {
  config: ClusterConfig;
  lb: LoadBalancer | undefined;
  circuitBreakers: CircuitBreakers;
  outlierDetector: OutlierMonitor | undefined;
  unsubscribe: (() => void) | undefined;
  hostSet: HostSet | undefined;
  /** The assignment `hostSet` was built from, to keep it when an update doesn't change it. */
  assignment: LoadAssignment | undefined;
}

function emptyAssignment(clusterName: string): LoadAssignment {
  return {
    clusterName,
    endpoints: [],
    localityWeights: [],
    overprovisioningFactor: DEFAULT_OVERPROVISIONING_FACTOR,
  };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export class ClusterManager {
  private readonly options: ClusterManagerOptions;
  private readonly clusters = new Map<string, Entry>();
  /** Accepted ClusterLoadAssignments by EDS resource name (kept across cluster updates). */
  private readonly assignments = new Map<string, LoadAssignment>();
  private lastEdsNames = "";

  constructor(options: ClusterManagerOptions) {
    this.options = options;
  }

  cdsHandler(): TypeHandler {
    return { apply: (update) => this.applyClusters(update) };
  }

  edsHandler(): TypeHandler {
    return { apply: (update) => this.applyAssignments(update) };
  }

  cluster(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  clusterNames(): string[] {
    return [...this.clusters.keys()].sort();
  }

  /** Sorted EDS service names of the current EDS clusters. */
  edsNames(): string[] {
    const names = new Set<string>();
    for (const { config } of this.clusters.values())
      if (config.discovery === "EDS" && config.edsServiceName) names.add(config.edsServiceName);
    return [...names].sort();
  }

  pick(clusterName: string, context?: PickContext): PickResult {
    const entry = this.clusters.get(clusterName);
    if (!entry) return { noCluster: true };
    if (!entry.hostSet) return { warming: true };
    const host = entry.lb?.pick(context);
    return host ? { host } : { noHealthyUpstream: true };
  }

  /** Every known cluster is warm (no EDS cluster still waits for its first assignment). */
  ready(): boolean {
    for (const entry of this.clusters.values()) if (!entry.hostSet) return false;
    return true;
  }

  /** Endpoints a DNS resolver produced for a STRICT_DNS/LOGICAL_DNS cluster. */
  setResolvedEndpoints(clusterName: string, assignment: LoadAssignment): void {
    const entry = this.clusters.get(clusterName);
    if (
      entry &&
      (entry.config.discovery === "STRICT_DNS" || entry.config.discovery === "LOGICAL_DNS")
    )
      this.setAssignment(entry, assignment, false);
  }

  /** The admin `/clusters` view, sorted by cluster name. */
  snapshot(): ClusterSnapshot[] {
    return this.clusterNames().map((name) => {
      const entry = this.clusters.get(name)!;
      const { config, outlierDetector } = entry;
      return {
        name,
        type: config.discovery,
        ...(config.edsServiceName !== undefined ? { edsServiceName: config.edsServiceName } : {}),
        warming: !entry.hostSet,
        hosts: (entry.hostSet?.hosts ?? []).map((host) => ({
          address: hostAddress(host),
          health: host.health,
          ejected: host.ejected,
          activeRequests: host.stats.activeRequests,
          outlierEjections: outlierDetector?.ejectionCount(host) ?? 0,
        })),
      };
    });
  }

  /** Stops every outlier detector's timer (proxy shutdown). */
  close(): void {
    for (const entry of this.clusters.values()) this.stopDetector(entry);
  }

  private applyClusters(update: ResourceUpdate): ApplyResult {
    const errors: string[] = [];
    const accepted: Array<{ config: ClusterConfig; lb: LoadBalancer | undefined }> = [];
    for (const [name, json] of update.added) {
      const decoded = decodeCluster(json);
      if (!decoded.ok) {
        errors.push(...decoded.errors.map((e) => `${name}: ${e}`));
        continue;
      }
      const config = decoded.value;
      const old = this.clusters.get(name)?.config;
      const keepLb = old && old.lbPolicy === config.lbPolicy && same(old.lbConfig, config.lbConfig);
      let lb: LoadBalancer | undefined;
      if (!keepLb && config.lbPolicy !== "CLUSTER_PROVIDED") {
        try {
          lb = createLoadBalancer(config.lbPolicy, config.lbConfig);
        } catch (err) {
          errors.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      accepted.push({ config, lb });
    }
    if (errors.length > 0) return { errors };
    const removed = new Set(update.removed);
    if (update.full)
      for (const name of this.clusters.keys()) if (!update.added.has(name)) removed.add(name);
    for (const name of removed) this.removeCluster(name);
    for (const { config, lb } of accepted) this.upsertCluster(config, lb);
    this.notifyEdsNames();
    return { errors: [] };
  }

  private applyAssignments(update: ResourceUpdate): ApplyResult {
    const errors: string[] = [];
    const accepted = new Map<string, LoadAssignment>();
    for (const [name, json] of update.added) {
      const decoded = decodeLoadAssignment(json);
      if (decoded.ok) accepted.set(name, decoded.value);
      else errors.push(...decoded.errors.map((e) => `${name}: ${e}`));
    }
    if (errors.length > 0) return { errors };
    const removed = new Set(update.removed);
    if (update.full)
      for (const name of this.assignments.keys()) if (!update.added.has(name)) removed.add(name);
    for (const name of removed) this.assignments.delete(name);
    for (const [name, assignment] of accepted) this.assignments.set(name, assignment);
    const touched = new Set([...removed, ...accepted.keys()]);
    for (const entry of this.clusters.values()) {
      const service = entry.config.edsServiceName;
      if (entry.config.discovery !== "EDS" || service === undefined || !touched.has(service))
        continue;
      // A removed assignment leaves the cluster warm with no endpoints (the server said so).
      this.setAssignment(entry, this.assignments.get(service) ?? emptyAssignment(service), false);
    }
    return { errors: [] };
  }

  private upsertCluster(config: ClusterConfig, newLb: LoadBalancer | undefined): void {
    const old = this.clusters.get(config.name);
    const entry: Entry = old ?? {
      config,
      lb: undefined,
      circuitBreakers: new CircuitBreakers(
        config.circuitBreakers,
        this.options.breakerCounts?.(config.name),
      ),
      outlierDetector: undefined,
      unsubscribe: undefined,
      hostSet: undefined,
      assignment: undefined,
    };
    const outlierChanged = !old || !same(old.config.outlierDetection, config.outlierDetection);
    if (old) entry.circuitBreakers.setThresholds(config.circuitBreakers);
    entry.config = config;
    const lbChanged = !old || newLb !== undefined || config.lbPolicy === "CLUSTER_PROVIDED";
    if (lbChanged) entry.lb = newLb;
    if (outlierChanged) {
      this.stopDetector(entry);
      if (config.outlierDetection) {
        const detector =
          this.options.outlierMonitor?.(config.name, config.outlierDetection) ??
          new OutlierDetector(config.outlierDetection, {
            clock: this.options.clock,
            ...(this.options.random ? { random: this.options.random } : {}),
          });
        entry.outlierDetector = detector;
        // Ejection and readmission flip host.ejected; the LB must rebuild its schedule.
        entry.unsubscribe = detector.subscribe((event) => {
          if (entry.hostSet) entry.lb?.update(entry.hostSet);
          this.options.onOutlierEvent?.(config.name, event);
        });
      }
    }
    this.clusters.set(config.name, entry);
    this.setAssignment(entry, this.assignmentFor(config), lbChanged || outlierChanged);
  }

  /** The endpoints a cluster takes now; undefined = wait for EDS (warming). */
  private assignmentFor(config: ClusterConfig): LoadAssignment | undefined {
    switch (config.discovery) {
      case "EDS":
        return this.assignments.get(config.edsServiceName ?? config.name);
      case "STRICT_DNS":
      case "LOGICAL_DNS": {
        const inline = config.loadAssignment ?? emptyAssignment(config.name);
        return this.options.resolveDns ? this.options.resolveDns(config, inline) : inline;
      }
      case "STATIC":
        return config.loadAssignment ?? emptyAssignment(config.name);
      default:
        return emptyAssignment(config.name); // ORIGINAL_DST: hosts come from each connection.
    }
  }

  private setAssignment(
    entry: Entry,
    assignment: LoadAssignment | undefined,
    refresh: boolean,
  ): void {
    if (assignment === undefined) {
      entry.hostSet = undefined;
      entry.assignment = undefined;
      return;
    }
    const unchanged =
      entry.hostSet !== undefined &&
      (entry.assignment === assignment || same(entry.assignment, assignment));
    if (unchanged && !refresh) return;
    if (!unchanged) entry.hostSet = buildHostSet(assignment, entry.hostSet);
    entry.assignment = assignment;
    const hostSet = entry.hostSet!;
    if (entry.outlierDetector) entry.outlierDetector.setHosts(hostSet.hosts);
    else for (const host of hostSet.hosts) host.ejected = false;
    entry.lb?.update(hostSet);
  }

  private removeCluster(name: string): void {
    const entry = this.clusters.get(name);
    if (!entry) return;
    this.stopDetector(entry);
    this.clusters.delete(name);
  }

  private stopDetector(entry: Entry): void {
    entry.unsubscribe?.();
    entry.outlierDetector?.stop();
    entry.unsubscribe = undefined;
    entry.outlierDetector = undefined;
  }

  private notifyEdsNames(): void {
    const names = this.edsNames();
    const key = JSON.stringify(names);
    if (key === this.lastEdsNames) return;
    this.lastEdsNames = key;
    this.options.onEdsNames?.(names);
  }
}
