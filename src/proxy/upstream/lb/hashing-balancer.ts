// The shared frame of ring hash and Maglev: Envoy's ThreadAwareLoadBalancerBase.
import type { ResolvedLbConfig } from "./config.ts";
import { type Hash64, hashHigh, hashLow, xxHash64Parts } from "./hash.ts";
import {
  DEFAULT_OVERPROVISIONING_FACTOR,
  groupHosts,
  type Host,
  type HostSet,
  hostAddress,
} from "./host-set.ts";
import type { LbPolicy, LoadBalancer } from "./load-balancer.ts";
import { type NormalizedHostWeights, normalizeHostWeights } from "./locality.ts";
import { type PickContext, selectionAttempts } from "./pick-context.ts";
import { computePriorityLoad, type PriorityChoice, priorityTable } from "./priority.ts";

/** A lookup structure over one priority's hosts, keyed by a 64-bit hash in two halves. */
export interface HashTable {
  choose(hi: number, lo: number, attempt: number): Host | undefined;
}

/**
 * The string a host is hashed by: `metadata["envoy.lb"].hash_key` when it is a non-empty
 * string, else the hostname (use_hostname_for_hashing; Envoy asserts it is non-empty, we fall
 * back to the address) or `address:port`.
 */
export function hashKey(host: Host, useHostname: boolean): string {
  const key = host.metadata["envoy.lb"]?.hash_key;
  if (typeof key === "string" && key !== "") return key;
  return useHostname && host.hostname !== "" ? host.hostname : hostAddress(host);
}

/** x mod m for integers x < 2^53 by floor division (a float `%` with a variable m is slow). */
function umod(x: number, m: number): number {
  return x - Math.floor(x / m) * m;
}

/** The 64-bit value (hi, lo) modulo m, m < 2^26, without BigInt. */
export function mod64(hi: number, lo: number, m: number): number {
  return umod(umod(hi, m) * umod(0x1_0000_0000, m) + lo, m);
}

export function hashOf(key: string, seed = 0): Hash64 {
  return xxHash64Parts(key, seed);
}

/**
 * On update, one table per priority from its healthy hosts (all of them in panic), weights
 * normalised across localities when locality weighting is on. Per pick, the request's hash (or
 * a random one) chooses the priority and then the host, re-picking with attempt 1, 2… while
 * the host is excluded. Degraded hosts get no table, as in Envoy.
 */
export abstract class HashingLoadBalancer implements LoadBalancer {
  abstract readonly policy: LbPolicy;
  protected readonly config: ResolvedLbConfig;
  #tables: HashTable[] = [];
  #table: readonly PriorityChoice[] = [];

  constructor(config: ResolvedLbConfig) {
    this.config = config;
  }

  protected abstract createTable(weights: NormalizedHostWeights): HashTable;

  update(hostSet: HostSet): void {
    const levels = groupHosts(hostSet);
    const load = computePriorityLoad(levels, {
      overprovisioningFactor: hostSet.overprovisioningFactor ?? DEFAULT_OVERPROVISIONING_FACTOR,
      healthyPanicThreshold: this.config.healthyPanicThreshold,
    });
    this.#tables = levels.map((level, priority) =>
      this.createTable(
        normalizeHostWeights(level, load.panic[priority] ?? false, this.config.localityWeighted),
      ),
    );
    this.#table = priorityTable(load);
  }

  pick(context?: PickContext): Host | undefined {
    let hi: number;
    let lo: number;
    if (context?.hash === undefined) {
      hi = this.config.random.nextUint32();
      lo = this.config.random.nextUint32();
    } else {
      hi = hashHigh(context.hash);
      lo = hashLow(context.hash);
    }
    const choice = this.#table[mod64(hi, lo, 100)];
    const table = choice && this.#tables[choice.priority];
    if (!table) return undefined;
    const first = context?.attempt ?? 0;
    const attempts = selectionAttempts(context);
    let host = table.choose(hi, lo, first);
    for (let i = 1; i < attempts && host !== undefined && context?.excluded?.has(host); i++)
      host = table.choose(hi, lo, first + i);
    return host;
  }

  onRequestStart(host: Host): void {
    host.stats.activeRequests++;
  }

  onRequestEnd(host: Host): void {
    if (host.stats.activeRequests > 0) host.stats.activeRequests--;
  }
}
