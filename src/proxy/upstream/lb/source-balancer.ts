// The shared frame of round robin, least request and random: Envoy's ZoneAwareLoadBalancerBase.
import type { ResolvedLbConfig } from "./config.ts";
import {
  DEFAULT_OVERPROVISIONING_FACTOR,
  groupHosts,
  type Host,
  type HostGroup,
  type HostSet,
} from "./host-set.ts";
import type { LbPolicy, LoadBalancer } from "./load-balancer.ts";
import { type LocalityChooser, localityChooser } from "./locality.ts";
import { type PickContext, selectionAttempts } from "./pick-context.ts";
import { computePriorityLoad, type PriorityChoice, priorityTable } from "./priority.ts";
import { randomBelow } from "./random-source.ts";

/** Picks from one fixed list of hosts; `random` is the number that chose this source. */
export interface HostPicker {
  pick(random: number): Host | undefined;
}

interface LevelState {
  readonly all: HostPicker;
  readonly healthy: HostPicker;
  readonly degraded: HostPicker;
  readonly localityHealthy: readonly HostPicker[];
  readonly localityDegraded: readonly HostPicker[];
  readonly healthyLocalities: LocalityChooser;
  readonly degradedLocalities: LocalityChooser;
  readonly panic: boolean;
}

/** True when every host has the same weight (Envoy then skips EDF for a plain rotation). */
export function weightsAreEqual(hosts: readonly Host[]): boolean {
  for (let i = 1; i < hosts.length; i++) if (hosts[i]!.weight !== hosts[0]!.weight) return false;
  return true;
}

const NO_LOCALITY: LocalityChooser = { choose: () => undefined };

/**
 * Per pick, a random number picks the priority and whether its healthy or degraded hosts serve;
 * a level in panic serves from all its hosts; with locality weighting a locality is chosen
 * first. Each such host source has its own picker, rebuilt on update().
 */
export abstract class SourceLoadBalancer implements LoadBalancer {
  abstract readonly policy: LbPolicy;
  /** Envoy's seed_: one random number per balancer for start offsets, so proxies differ. */
  protected readonly seed: number;
  protected readonly config: ResolvedLbConfig;
  #levels: LevelState[] = [];
  #table: readonly PriorityChoice[] = [];

  constructor(config: ResolvedLbConfig) {
    this.config = config;
    this.seed = config.random.nextUint32();
  }

  /**
   * Builds the picker of one host source. `previous` is the picker the same source (priority,
   * kind, locality index) had before the update, so state such as a round-robin index carries on.
   */
  protected abstract createPicker(
    hosts: readonly Host[],
    previous: HostPicker | undefined,
  ): HostPicker;

  update(hostSet: HostSet): void {
    const factor = hostSet.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR;
    const levels = groupHosts(hostSet);
    const load = computePriorityLoad(levels, {
      overprovisioningFactor: factor,
      healthyPanicThreshold: this.config.healthyPanicThreshold,
    });
    const previous = this.#levels;
    const weighted = this.config.localityWeighted;
    const healthyOf = (group: HostGroup) => group.healthy;
    const degradedOf = (group: HostGroup) => group.degraded;
    this.#levels = levels.map((level, priority) => {
      const old = previous[priority];
      const picker = this.createPicker.bind(this);
      const chooser = (eligible: (group: HostGroup) => readonly Host[]) =>
        weighted ? localityChooser(level.localities, eligible, factor, this.seed) : NO_LOCALITY;
      return {
        all: picker(level.hosts, old?.all),
        healthy: picker(level.healthy, old?.healthy),
        degraded: picker(level.degraded, old?.degraded),
        localityHealthy: weighted
          ? level.localities.map((l, i) => picker(l.healthy, old?.localityHealthy[i]))
          : [],
        localityDegraded: weighted
          ? level.localities.map((l, i) => picker(l.degraded, old?.localityDegraded[i]))
          : [],
        healthyLocalities: chooser(healthyOf),
        degradedLocalities: chooser(degradedOf),
        panic: load.panic[priority] ?? false,
      };
    });
    this.#table = priorityTable(load);
  }

  pick(context?: PickContext): Host | undefined {
    const attempts = selectionAttempts(context);
    let host = this.#pickOnce();
    for (let i = 1; i < attempts && host !== undefined && context?.excluded?.has(host); i++)
      host = this.#pickOnce();
    return host;
  }

  onRequestStart(host: Host): void {
    host.stats.activeRequests++;
  }

  onRequestEnd(host: Host): void {
    if (host.stats.activeRequests > 0) host.stats.activeRequests--;
  }

  #pickOnce(): Host | undefined {
    const random = this.config.random.nextUint32();
    const choice = this.#table[randomBelow(random, 100)];
    const level = choice && this.#levels[choice.priority];
    if (!level) return undefined;
    if (level.panic) return this.config.failTrafficOnPanic ? undefined : level.all.pick(random);
    if (this.config.localityWeighted) {
      const chooser = choice.degraded ? level.degradedLocalities : level.healthyLocalities;
      const index = chooser.choose();
      if (index !== undefined)
        return (choice.degraded ? level.localityDegraded : level.localityHealthy)[index]!.pick(
          random,
        );
    }
    return (choice.degraded ? level.degraded : level.healthy).pick(random);
  }
}
