// Locality-weighted load balancing (common_lb_config.locality_weighted_lb_config).
import { EdfScheduler } from "./edf.ts";
import type { Host, LocalityGroup, PriorityGroup } from "./host-set.ts";

// Within a priority a locality is chosen by EDF over weight × min(1, overprovisioning ×
// healthy/total) (Envoy's LocalityWrr), then a host within it. The hashing balancers instead fold
// the raw locality weights into host weights (normalizeWeights in thread_aware_lb_impl.cc).

/** weight × availability, availability = min(1, overprovisioning/100 × eligible/total). */
export function effectiveLocalityWeight(
  locality: LocalityGroup,
  eligible: number,
  overprovisioningFactor: number,
): number {
  const total = locality.hosts.length;
  if (total === 0) return 0;
  const availability = Math.min(1, (overprovisioningFactor / 100) * (eligible / total));
  return locality.weight * availability;
}

export interface LocalityChooser {
  /** Index into the priority's `localities`; undefined when no locality has weight. */
  choose(): number | undefined;
}

/** An EDF schedule over the localities of one priority, for its healthy or degraded hosts. */
export function localityChooser(
  localities: readonly LocalityGroup[],
  eligible: (locality: LocalityGroup) => readonly Host[],
  overprovisioningFactor: number,
  seed: number,
): LocalityChooser {
  const entries: { index: number; weight: number }[] = [];
  const anyEligible = localities.some((locality) => eligible(locality).length > 0);
  localities.forEach((locality, index) => {
    const weight = effectiveLocalityWeight(
      locality,
      eligible(locality).length,
      overprovisioningFactor,
    );
    if (anyEligible && weight > 0) entries.push({ index, weight });
  });
  if (entries.length === 0) return { choose: () => undefined };
  const weightOf = (entry: { weight: number }) => entry.weight;
  const scheduler = EdfScheduler.createWithPicks(entries, weightOf, seed);
  return { choose: () => scheduler.pickAndAdd(weightOf)?.index };
}

export interface NormalizedHostWeights {
  readonly hosts: readonly Host[];
  /** Each host's share of the priority; at most 1 in total (less when a weighted locality has no usable host, as in Envoy). */
  readonly weights: readonly number[];
  readonly min: number;
  readonly max: number;
}

/**
 * Host weights normalised to sum to 1 across the priority (healthy hosts, or all of them in
 * panic); with locality weighting, each locality's hosts share weight/Σweights of the total
 * and zero-weight localities are left out.
 */
export function normalizeHostWeights(
  level: PriorityGroup,
  inPanic: boolean,
  localityWeighted: boolean,
): NormalizedHostWeights {
  const hosts: Host[] = [];
  const weights: number[] = [];
  const add = (group: readonly Host[], share: number) => {
    const sum = group.reduce((total, host) => total + host.weight, 0);
    for (const host of group) {
      hosts.push(host);
      weights.push((host.weight * share) / sum);
    }
  };
  const pick = (group: { hosts: readonly Host[]; healthy: readonly Host[] }) =>
    inPanic ? group.hosts : group.healthy;
  if (!localityWeighted || level.localities.length === 0) {
    add(pick(level), 1);
  } else {
    const sum = level.localities.reduce((total, locality) => total + locality.weight, 0);
    if (sum > 0) {
      for (const locality of level.localities)
        if (locality.weight > 0) add(pick(locality), locality.weight / sum);
    }
  }
  let min = 1;
  let max = 0;
  for (const weight of weights) {
    if (weight < min) min = weight;
    if (weight > max) max = weight;
  }
  return { hosts, weights, min, max };
}
