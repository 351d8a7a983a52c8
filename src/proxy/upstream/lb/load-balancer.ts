// The interface every upstream load balancer implements, and the registry by lb_policy.
import { CremaError } from "../../../base/errors.ts";
import { type LbConfig, resolveLbConfig, validateLbConfig } from "./config.ts";
import type { Host, HostSet } from "./host-set.ts";
import { LeastRequestLoadBalancer } from "./least-request.ts";
import { MaglevLoadBalancer } from "./maglev.ts";
import type { PickContext } from "./pick-context.ts";
import { RandomLoadBalancer } from "./random.ts";
import { RingHashLoadBalancer } from "./ring-hash.ts";
import { RoundRobinLoadBalancer } from "./round-robin.ts";

/** Cluster.lb_policy values crema implements (CLUSTER_PROVIDED/ORIGINAL_DST live elsewhere). */
export const LB_POLICIES = [
  "ROUND_ROBIN",
  "LEAST_REQUEST",
  "RANDOM",
  "RING_HASH",
  "MAGLEV",
] as const;
export type LbPolicy = (typeof LB_POLICIES)[number];
export type { PickContext };

/**
 * The cluster manager feeds host sets in through update() and asks for a host per request (or
 * per retry) through pick(); nothing here touches sockets or clocks.
 */
export interface LoadBalancer {
  readonly policy: LbPolicy;
  /** A host for one request, or undefined when the cluster has none to offer (503 UH). */
  pick(context?: PickContext): Host | undefined;
  /** Count a request in flight on `host` (least request weighs hosts by this). */
  onRequestStart(host: Host): void;
  onRequestEnd(host: Host): void;
  /** New membership, weights, health or ejections: rebuild schedules and tables now. */
  update(hostSet: HostSet): void;
}

const FACTORIES: Readonly<Record<LbPolicy, (config: LbConfig) => LoadBalancer>> = Object.freeze({
  ROUND_ROBIN: (config) => new RoundRobinLoadBalancer(resolveLbConfig(config)),
  LEAST_REQUEST: (config) => new LeastRequestLoadBalancer(resolveLbConfig(config)),
  RANDOM: (config) => new RandomLoadBalancer(resolveLbConfig(config)),
  RING_HASH: (config) => new RingHashLoadBalancer(resolveLbConfig(config)),
  MAGLEV: (config) => new MaglevLoadBalancer(resolveLbConfig(config)),
});

/**
 * A load balancer for `policy`, empty until its first update(). Throws
 * CREMA_XDS_INVALID_RESOURCE listing every problem if the config is invalid.
 */
export function createLoadBalancer(policy: LbPolicy, config: LbConfig = {}): LoadBalancer {
  const factory = FACTORIES[policy];
  if (factory === undefined)
    throw new CremaError("CREMA_XDS_INVALID_RESOURCE", `unsupported lb_policy ${policy}`);
  const problems = validateLbConfig(config);
  if (problems.length > 0)
    throw new CremaError("CREMA_XDS_INVALID_RESOURCE", `${policy}: ${problems.join("; ")}`);
  return factory(config);
}
