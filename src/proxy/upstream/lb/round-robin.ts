// ROUND_ROBIN: a rotation for equal weights, Envoy's EDF schedule for unequal ones.
import { EdfScheduler } from "./edf.ts";
import type { Host } from "./host-set.ts";
import { type HostPicker, SourceLoadBalancer, weightsAreEqual } from "./source-balancer.ts";

const hostWeight = (host: Host) => host.weight;

class RotationPicker implements HostPicker {
  readonly #hosts: readonly Host[];
  index: number;

  constructor(hosts: readonly Host[], start: number) {
    this.#hosts = hosts;
    this.index = hosts.length === 0 ? 0 : start % hosts.length;
  }

  pick(): Host | undefined {
    const hosts = this.#hosts;
    if (hosts.length === 0) return undefined;
    const host = hosts[this.index]!;
    if (++this.index === hosts.length) this.index = 0;
    return host;
  }
}

class EdfPicker implements HostPicker {
  readonly #scheduler: EdfScheduler<Host>;

  constructor(hosts: readonly Host[], seed: number) {
    this.#scheduler = EdfScheduler.createWithPicks(hosts, hostWeight, seed);
  }

  pick(): Host | undefined {
    return this.#scheduler.pickAndAdd(hostWeight);
  }
}

/**
 * EDF interleaves weighted hosts rather than sending them in blocks. Both start at a
 * per-balancer random offset (Envoy's seed_) so proxies don't march in step, and a rotation
 * keeps its place across updates.
 */
export class RoundRobinLoadBalancer extends SourceLoadBalancer {
  readonly policy = "ROUND_ROBIN" as const;

  protected createPicker(hosts: readonly Host[], previous: HostPicker | undefined): HostPicker {
    if (hosts.length > 1 && !weightsAreEqual(hosts)) return new EdfPicker(hosts, this.seed);
    const start = previous instanceof RotationPicker ? previous.index : this.seed;
    return new RotationPicker(hosts, start);
  }
}
