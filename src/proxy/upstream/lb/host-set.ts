// Hosts and host sets as the load balancers see them, grouped like Envoy's PrioritySet.
import { CremaError } from "../../../base/errors.ts";

// What EDS says (priority, locality and its weight, endpoint weight, health_status, metadata)
// plus what the cluster manager adds (outlier ejection, active-request counts).

/** Envoy's core.v3.HealthStatus as carried by an LbEndpoint. */
export type HealthStatus =
  | "UNKNOWN"
  | "HEALTHY"
  | "UNHEALTHY"
  | "DRAINING"
  | "TIMEOUT"
  | "DEGRADED";

export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** Counters shared by every load balancer that picks this host (Envoy's host stats). */
export interface HostStats {
  activeRequests: number;
}

export interface Host {
  readonly address: string;
  readonly port: number;
  /** Endpoint hostname; used for hashing only with use_hostname_for_hashing. */
  readonly hostname: string;
  /** load_balancing_weight of the LbEndpoint, 1 when unset. */
  readonly weight: number;
  readonly health: HealthStatus;
  readonly locality: Locality;
  readonly priority: number;
  /** filter_metadata: `metadata["envoy.lb"].hash_key` overrides the ring/Maglev hash key. */
  readonly metadata: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Set by outlier detection; call `update()` on the load balancer after changing it. */
  ejected: boolean;
  readonly stats: HostStats;
}

export interface HostInit {
  address: string;
  port: number;
  hostname?: string;
  weight?: number;
  health?: HealthStatus;
  locality?: Partial<Locality>;
  priority?: number;
  metadata?: Record<string, Record<string, unknown>>;
  ejected?: boolean;
}

export function createHost(init: HostInit): Host {
  const weight = init.weight ?? 1;
  const priority = init.priority ?? 0;
  if (!Number.isInteger(weight) || weight < 1)
    throw new CremaError(
      "CREMA_BASE_INTERNAL",
      `host weight must be an integer ≥ 1, got ${weight}`,
    );
  if (!Number.isInteger(priority) || priority < 0 || priority > 128)
    throw new CremaError("CREMA_BASE_INTERNAL", `host priority must be 0–128, got ${priority}`);
  return {
    address: init.address,
    port: init.port,
    hostname: init.hostname ?? "",
    weight,
    health: init.health ?? "HEALTHY",
    locality: {
      region: init.locality?.region ?? "",
      zone: init.locality?.zone ?? "",
      subZone: init.locality?.subZone ?? "",
    },
    priority,
    metadata: init.metadata ?? {},
    ejected: init.ejected ?? false,
    stats: { activeRequests: 0 },
  };
}

/** The load_balancing_weight of one LocalityLbEndpoints (a locality at a priority). */
export interface LocalityWeight {
  readonly priority: number;
  readonly locality: Partial<Locality>;
  readonly weight: number;
}

export interface HostSet {
  readonly hosts: readonly Host[];
  /** Only used with locality-weighted LB; a locality without a weight gets no load. */
  readonly localityWeights?: readonly LocalityWeight[];
  /** ClusterLoadAssignment.policy.overprovisioning_factor, in percent (default 140 = 1.4). */
  readonly overprovisioningFactor?: number;
}

export const DEFAULT_OVERPROVISIONING_FACTOR = 140;

/** Envoy's Address::asString: `10.0.0.1:8080`, `[::1]:8080`. */
export function hostAddress(host: Pick<Host, "address" | "port">): string {
  return host.address.includes(":")
    ? `[${host.address}]:${host.port}`
    : `${host.address}:${host.port}`;
}

export function localityKey(locality: Partial<Locality>): string {
  return `${locality.region ?? ""}/${locality.zone ?? ""}/${locality.subZone ?? ""}`;
}

/** UNKNOWN and HEALTHY count as healthy, DEGRADED as degraded, the rest (and ejected) as neither. */
export function hostAvailability(host: Host): "healthy" | "degraded" | "unavailable" {
  if (host.ejected) return "unavailable";
  switch (host.health) {
    case "HEALTHY":
    case "UNKNOWN":
      return "healthy";
    case "DEGRADED":
      return "degraded";
    default:
      return "unavailable";
  }
}

export interface HostGroup {
  readonly hosts: readonly Host[];
  readonly healthy: readonly Host[];
  readonly degraded: readonly Host[];
}

export interface LocalityGroup extends HostGroup {
  readonly locality: Locality;
  /** The locality's load_balancing_weight at this priority; 0 when EDS gave none. */
  readonly weight: number;
}

export interface PriorityGroup extends HostGroup {
  readonly priority: number;
  /** Localities in order of first appearance. */
  readonly localities: readonly LocalityGroup[];
}

interface MutableGroup {
  hosts: Host[];
  healthy: Host[];
  degraded: Host[];
}

function addHost(group: MutableGroup, host: Host): void {
  group.hosts.push(host);
  const availability = hostAvailability(host);
  if (availability === "healthy") group.healthy.push(host);
  else if (availability === "degraded") group.degraded.push(host);
}

/** Groups a host set by priority (dense: 0 to the highest, empty levels included) and locality. */
export function groupHosts(set: HostSet): PriorityGroup[] {
  const weights = new Map<string, number>();
  for (const entry of set.localityWeights ?? [])
    weights.set(`${entry.priority}|${localityKey(entry.locality)}`, entry.weight);
  const levels: (MutableGroup & { localities: Map<string, MutableGroup & LocalityGroup> })[] = [];
  for (const host of set.hosts) {
    while (levels.length <= host.priority)
      levels.push({ hosts: [], healthy: [], degraded: [], localities: new Map() });
    const level = levels[host.priority]!;
    const key = localityKey(host.locality);
    let locality = level.localities.get(key);
    if (!locality) {
      const weight = weights.get(`${host.priority}|${key}`) ?? 0;
      locality = { locality: host.locality, weight, hosts: [], healthy: [], degraded: [] };
      level.localities.set(key, locality);
    }
    addHost(level, host);
    addHost(locality, host);
  }
  return levels.map((level, priority) => ({
    priority,
    hosts: level.hosts,
    healthy: level.healthy,
    degraded: level.degraded,
    localities: [...level.localities.values()],
  }));
}
