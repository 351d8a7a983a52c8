// RANDOM: a uniformly random host of the chosen source, weights ignored (Envoy's random_lb.cc).
import type { Host } from "./host-set.ts";
import { randomBelow } from "./random-source.ts";
import { type HostPicker, SourceLoadBalancer } from "./source-balancer.ts";

class UniformPicker implements HostPicker {
  readonly #hosts: readonly Host[];

  constructor(hosts: readonly Host[]) {
    this.#hosts = hosts;
  }

  pick(random: number): Host | undefined {
    const hosts = this.#hosts;
    return hosts.length === 0 ? undefined : hosts[randomBelow(random, hosts.length)];
  }
}

/** As in Envoy, the one random number that chose the priority also chooses the host. */
export class RandomLoadBalancer extends SourceLoadBalancer {
  readonly policy = "RANDOM" as const;

  protected createPicker(hosts: readonly Host[]): HostPicker {
    return new UniformPicker(hosts);
  }
}
