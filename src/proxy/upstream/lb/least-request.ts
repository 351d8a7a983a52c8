// LEAST_REQUEST, Istio's default: power of N choices, or EDF weighted by active requests.
import { EdfScheduler } from "./edf.ts";
import type { Host } from "./host-set.ts";
import { type RandomSource, randomBelow } from "./random-source.ts";
import { type HostPicker, SourceLoadBalancer, weightsAreEqual } from "./source-balancer.ts";

/** Envoy's hostWeight: load_balancing_weight / (active_requests + 1)^active_request_bias. */
export function leastRequestWeight(host: Host, bias: number): number {
  if (bias === 0) return host.weight;
  const active = host.stats.activeRequests + 1;
  return bias === 1 ? host.weight / active : host.weight / active ** bias;
}

class ChoicesPicker implements HostPicker {
  readonly #hosts: readonly Host[];
  readonly #choices: number;
  readonly #random: RandomSource;

  constructor(hosts: readonly Host[], choices: number, random: RandomSource) {
    this.#hosts = hosts;
    this.#choices = choices;
    this.#random = random;
  }

  pick(): Host | undefined {
    const hosts = this.#hosts;
    const n = hosts.length;
    if (n === 0) return undefined;
    let candidate = hosts[randomBelow(this.#random.nextUint32(), n)]!;
    for (let i = 1; i < this.#choices; i++) {
      const sampled = hosts[randomBelow(this.#random.nextUint32(), n)]!;
      if (sampled.stats.activeRequests < candidate.stats.activeRequests) candidate = sampled;
    }
    return candidate;
  }
}

class FullScanPicker implements HostPicker {
  readonly #hosts: readonly Host[];
  readonly #random: RandomSource;

  constructor(hosts: readonly Host[], random: RandomSource) {
    this.#hosts = hosts;
    this.#random = random;
  }

  /** The least loaded host; ties broken uniformly by reservoir sampling, as Envoy does. */
  pick(): Host | undefined {
    const hosts = this.#hosts;
    let candidate: Host | undefined;
    let tied = 0;
    for (const host of hosts) {
      if (candidate === undefined || host.stats.activeRequests < candidate.stats.activeRequests) {
        candidate = host;
        tied = 1;
      } else if (host.stats.activeRequests === candidate.stats.activeRequests) {
        tied++;
        if (randomBelow(this.#random.nextUint32(), tied) === 0) candidate = host;
      }
    }
    return candidate;
  }
}

class WeightedPicker implements HostPicker {
  readonly #scheduler: EdfScheduler<Host>;
  readonly #weightOf: (host: Host) => number;

  constructor(hosts: readonly Host[], bias: number, seed: number) {
    this.#weightOf = (host) => leastRequestWeight(host, bias);
    this.#scheduler = EdfScheduler.createWithPicks(hosts, this.#weightOf, seed);
  }

  pick(): Host | undefined {
    return this.#scheduler.pickAndAdd(this.#weightOf);
  }
}

/**
 * With equal weights, N random choices (choice_count, default 2) keeping the host with the
 * fewest active requests, or a full scan; with unequal weights, an EDF schedule whose entries
 * are re-added with weight / (active + 1)^active_request_bias.
 */
export class LeastRequestLoadBalancer extends SourceLoadBalancer {
  readonly policy = "LEAST_REQUEST" as const;

  protected createPicker(hosts: readonly Host[]): HostPicker {
    const { activeRequestBias, choiceCount, random, selectionMethod } = this.config;
    if (hosts.length > 1 && !weightsAreEqual(hosts))
      return new WeightedPicker(hosts, activeRequestBias, this.seed);
    if (selectionMethod === "FULL_SCAN") return new FullScanPicker(hosts, random);
    return new ChoicesPicker(hosts, choiceCount, random);
  }
}
