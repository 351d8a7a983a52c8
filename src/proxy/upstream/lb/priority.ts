// Priority levels, spill-over and panic, as Envoy's LoadBalancerBase computes them.
import type { HostGroup } from "./host-set.ts";

// Each level's health = min(100, overprovisioning × healthy/total); load spills to lower levels,
// is normalised when the total is below 100, degraded hosts take what healthy ones can't, and a
// level below the panic threshold routes to all its hosts. Computed on update, not per pick.

export interface PriorityLoad {
  /** Percent of traffic to each level's healthy hosts. */
  readonly healthy: readonly number[];
  /** Percent of traffic to each level's degraded hosts. */
  readonly degraded: readonly number[];
  /** Levels in panic pick among all their hosts, healthy or not. */
  readonly panic: readonly boolean[];
}

export interface PriorityLoadOptions {
  /** Percent: 140 means 1.4. */
  readonly overprovisioningFactor: number;
  /** Percent, 0 disables panic mode. */
  readonly healthyPanicThreshold: number;
}

function distribute(
  load: number[],
  availability: readonly number[],
  total: number,
  normalizedTotal: number,
): { first: number; remaining: number } {
  let first = -1;
  for (let i = 0; i < availability.length; i++) {
    if (first < 0 && availability[i]! > 0) first = i;
    load[i] = Math.min(total, Math.floor((availability[i]! * 100) / normalizedTotal));
    total -= load[i]!;
  }
  return { first, remaining: total };
}

function inPanic(level: HostGroup, threshold: number): boolean {
  const count = level.hosts.length;
  const healthy = count === 0 ? 0 : (100 * level.healthy.length) / count;
  const degraded = count === 0 ? 0 : (100 * level.degraded.length) / count;
  return healthy + degraded < threshold;
}

/** Envoy's per-priority load and panic flags for a set of priority levels (P=0 first). */
export function computePriorityLoad(
  levels: readonly HostGroup[],
  options: PriorityLoadOptions,
): PriorityLoad {
  const n = Math.max(1, levels.length);
  const health = new Array<number>(n).fill(0);
  const degradedHealth = new Array<number>(n).fill(0);
  levels.forEach((level, i) => {
    const count = level.hosts.length;
    if (count === 0) return;
    const factor = options.overprovisioningFactor;
    health[i] = Math.min(100, Math.floor((factor * level.healthy.length) / count));
    degradedHealth[i] = Math.min(100, Math.floor((factor * level.degraded.length) / count));
  });
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  const normalizedTotal = Math.min(100, sum(health) + sum(degradedHealth));

  const healthy = new Array<number>(n).fill(0);
  const degraded = new Array<number>(n).fill(0);
  const panic = new Array<boolean>(n).fill(false);
  if (normalizedTotal > 0) {
    const h = distribute(healthy, health, 100, normalizedTotal);
    const d = distribute(degraded, degradedHealth, h.remaining, normalizedTotal);
    // Rounding leftovers go to the first available level, healthy before degraded.
    if (d.remaining !== 0) {
      if (h.first !== -1) healthy[h.first]! += d.remaining;
      else degraded[d.first]! += d.remaining;
    }
  }

  const threshold = Math.min(100, options.healthyPanicThreshold);
  if (normalizedTotal === 0 && threshold === 0) {
    // Panic disabled and nothing available: P=0 gets the load, and has no host to give.
    healthy[0] = 100;
    return { healthy, degraded, panic };
  }
  for (let i = 0; i < n; i++) {
    const level = levels[i];
    panic[i] = normalizedTotal === 100 || !level ? false : inPanic(level, threshold);
  }
  if (panic.every(Boolean)) {
    // Total panic: load follows the number of hosts in each level, whatever their health.
    const total = sum(levels.map((level) => level.hosts.length));
    degraded.fill(0);
    healthy.fill(0);
    if (total === 0) {
      healthy[0] = 100;
      return { healthy, degraded, panic };
    }
    let remaining = 100;
    levels.forEach((level, i) => {
      healthy[i] = Math.floor((100 * level.hosts.length) / total);
      remaining -= healthy[i]!;
    });
    healthy[levels.findIndex((level) => level.hosts.length > 0)]! += remaining;
  }
  return { healthy, degraded, panic };
}

export interface PriorityChoice {
  readonly priority: number;
  /** True when the pick targets the level's degraded hosts. */
  readonly degraded: boolean;
}

/** Envoy's choosePriority: `value % 100 + 1` walks the healthy loads, then the degraded ones. */
export function choosePriority(value: number, load: PriorityLoad): PriorityChoice {
  const target = (value % 100) + 1;
  let aggregate = 0;
  for (let priority = 0; priority < load.healthy.length; priority++) {
    aggregate += load.healthy[priority]!;
    if (target <= aggregate) return { priority, degraded: false };
  }
  for (let priority = 0; priority < load.degraded.length; priority++) {
    aggregate += load.degraded[priority]!;
    if (target <= aggregate) return { priority, degraded: true };
  }
  return { priority: 0, degraded: false };
}

/** choosePriority for every `value % 100`, so a pick is one array read. */
export function priorityTable(load: PriorityLoad): readonly PriorityChoice[] {
  return Array.from({ length: 100 }, (_, value) => choosePriority(value, load));
}
