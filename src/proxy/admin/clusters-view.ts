// Envoy's `/clusters`: per cluster its circuit-breaker limits, outlier-detector summary and
// hosts (`cluster::host:port::health_flags::healthy` …), or envoy.admin.v3.Clusters as JSON.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { CircuitBreakerThresholds } from "../upstream/cluster-config.ts";
import type { ClusterManager, ClusterSnapshot, HostSnapshot } from "../upstream/cluster-manager.ts";
import { addressJson } from "./listeners-view.ts";

/** A host as `/clusters` shows it: the cluster manager's snapshot plus what else is known. */
export interface AdminHost extends HostSnapshot {
  readonly hostname?: string;
  /** load_balancing_weight (default 1). */
  readonly weight?: number;
  readonly priority?: number;
  readonly locality?: { readonly region: string; readonly zone: string; readonly subZone: string };
  /** Envoy's per-host stats the proxy keeps beyond rq_active (cx_active, cx_total, rq_total …). */
  readonly stats?: Readonly<Record<string, number>>;
}

export interface AdminCluster extends ClusterSnapshot {
  readonly hosts: AdminHost[];
  /** Clusters from CDS are (the default); bootstrap ones are not. */
  readonly addedViaApi?: boolean;
  /** alt_stat_name, else the name. */
  readonly observabilityName?: string;
  readonly circuitBreakers?: {
    readonly DEFAULT: CircuitBreakerThresholds;
    readonly HIGH: CircuitBreakerThresholds;
  };
  /** The cluster runs an outlier detector. */
  readonly outlierDetection?: boolean;
}

/** The cluster manager's snapshot with each cluster's limits, detector and host details. */
export function describeClusters(manager: ClusterManager): AdminCluster[] {
  return manager.snapshot().map((snapshot) => {
    const cluster = manager.cluster(snapshot.name);
    if (!cluster) return snapshot;
    const { config } = cluster;
    const hosts = cluster.hostSet?.hosts ?? [];
    return {
      ...snapshot,
      observabilityName: config.altStatName ?? config.name,
      circuitBreakers: config.circuitBreakers,
      outlierDetection: cluster.outlierDetector !== undefined,
      // The snapshot lists the host set's hosts in order.
      hosts: snapshot.hosts.map((host, i) => {
        const full = hosts[i];
        if (!full) return host;
        return {
          ...host,
          hostname: full.hostname,
          weight: full.weight,
          priority: full.priority,
          locality: full.locality,
        };
      }),
    };
  });
}

/** Envoy's host gauges; every other host stat is a counter. */
const HOST_GAUGES = new Set(["cx_active", "rq_active"]);

function hostStats(host: AdminHost): [string, number][] {
  const stats = new Map<string, number>([["cx_active", 0], ...Object.entries(host.stats ?? {})]);
  stats.set("rq_active", host.activeRequests);
  return [...stats].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Envoy's health flags, in Envoy's order; "healthy" when none is set. */
export function healthFlags(host: HostSnapshot): string {
  let flags = "";
  if (host.ejected) flags += "/failed_outlier_check";
  if (host.health === "UNHEALTHY" || host.health === "DRAINING" || host.health === "TIMEOUT")
    flags += "/failed_eds_health";
  if (host.health === "DEGRADED") flags += "/degraded_eds_health";
  if (host.health === "DRAINING") flags += "/eds_status_draining";
  return flags || "healthy";
}

export function renderClustersText(clusters: readonly AdminCluster[]): string {
  const lines: string[] = [];
  for (const c of clusters) {
    const n = c.name;
    lines.push(`${n}::observability_name::${c.observabilityName ?? n}`);
    if (c.outlierDetection) {
      // crema's detector ejects on consecutive errors only: no success-rate data (-1, as Envoy).
      lines.push(
        `${n}::outlier::success_rate_average::-1`,
        `${n}::outlier::success_rate_ejection_threshold::-1`,
        `${n}::outlier::local_origin_success_rate_average::-1`,
        `${n}::outlier::local_origin_success_rate_ejection_threshold::-1`,
      );
    }
    if (c.circuitBreakers) {
      for (const [priority, t] of [
        ["default", c.circuitBreakers.DEFAULT],
        ["high", c.circuitBreakers.HIGH],
      ] as const) {
        lines.push(
          `${n}::${priority}_priority::max_connections::${t.maxConnections}`,
          `${n}::${priority}_priority::max_pending_requests::${t.maxPendingRequests}`,
          `${n}::${priority}_priority::max_requests::${t.maxRequests}`,
          `${n}::${priority}_priority::max_retries::${t.maxRetries}`,
        );
      }
    }
    lines.push(`${n}::added_via_api::${c.addedViaApi ?? true}`);
    if (c.edsServiceName) lines.push(`${n}::eds_service_name::${c.edsServiceName}`);
    for (const h of c.hosts) {
      const p = `${n}::${h.address}::`;
      for (const [stat, value] of hostStats(h)) lines.push(`${p}${stat}::${value}`);
      lines.push(
        `${p}hostname::${h.hostname ?? ""}`,
        `${p}health_flags::${healthFlags(h)}`,
        `${p}weight::${h.weight ?? 1}`,
        `${p}region::${h.locality?.region ?? ""}`,
        `${p}zone::${h.locality?.zone ?? ""}`,
        `${p}sub_zone::${h.locality?.subZone ?? ""}`,
        `${p}canary::false`,
        `${p}priority::${h.priority ?? 0}`,
        `${p}success_rate::-1`,
        `${p}local_origin_success_rate::-1`,
      );
    }
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

function thresholdsJson(t: CircuitBreakerThresholds, priority?: "HIGH"): JsonObject {
  return {
    ...(priority ? { priority } : {}),
    max_connections: t.maxConnections,
    max_pending_requests: t.maxPendingRequests,
    max_requests: t.maxRequests,
    max_retries: t.maxRetries,
  };
}

function edsHealthStatus(health: string): string {
  if (health === "UNHEALTHY" || health === "TIMEOUT") return "UNHEALTHY";
  if (health === "DRAINING" || health === "DEGRADED") return health;
  return "HEALTHY";
}

/** Proto3 JSON as Envoy writes it: default values (0, COUNTER, false, "") left out. */
function hostJson(h: AdminHost): JsonObject {
  const stats = hostStats(h);
  const counters = stats.filter(([name]) => !HOST_GAUGES.has(name));
  const gauges = stats.filter(([name]) => HOST_GAUGES.has(name));
  const metric = (name: string, value: number, type?: "GAUGE"): JsonObject => ({
    name,
    ...(value !== 0 ? { value: String(value) } : {}),
    ...(type ? { type } : {}),
  });
  const locality = h.locality && {
    ...(h.locality.region ? { region: h.locality.region } : {}),
    ...(h.locality.zone ? { zone: h.locality.zone } : {}),
    ...(h.locality.subZone ? { sub_zone: h.locality.subZone } : {}),
  };
  return {
    address: addressJson(h.address),
    stats: [
      ...counters.map(([name, value]) => metric(name, value)),
      ...gauges.map(([name, value]) => metric(name, value, "GAUGE")),
    ],
    health_status: {
      eds_health_status: edsHealthStatus(h.health),
      ...(h.ejected ? { failed_outlier_check: true } : {}),
    },
    weight: h.weight ?? 1,
    ...(h.hostname ? { hostname: h.hostname } : {}),
    ...(h.priority ? { priority: h.priority } : {}),
    ...(locality && Object.keys(locality).length > 0 ? { locality } : {}),
  };
}

export function renderClustersJson(clusters: readonly AdminCluster[]): JsonObject {
  return {
    cluster_statuses: clusters.map((c) => ({
      name: c.name,
      ...((c.addedViaApi ?? true) ? { added_via_api: true } : {}),
      ...(c.hosts.length > 0 ? { host_statuses: c.hosts.map(hostJson) } : {}),
      ...(c.circuitBreakers
        ? {
            circuit_breakers: {
              thresholds: [
                thresholdsJson(c.circuitBreakers.DEFAULT),
                thresholdsJson(c.circuitBreakers.HIGH, "HIGH"),
              ],
            },
          }
        : {}),
      observability_name: c.observabilityName ?? c.name,
      ...(c.edsServiceName ? { eds_service_name: c.edsServiceName } : {}),
    })),
  };
}
