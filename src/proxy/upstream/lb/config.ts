// Load balancer settings named after Envoy's Cluster fields, with Envoy's defaults and rules.
import { type RandomSource, randomSource } from "./random-source.ts";

/**
 * From common_lb_config, least_request_lb_config, ring_hash_lb_config and maglev_lb_config. The
 * CDS decoder calls validateLbConfig first so that it can NACK with every problem at once.
 */
export interface LbConfig {
  /** common_lb_config.healthy_panic_threshold in percent; default 50, 0 disables panic mode. */
  healthyPanicThreshold?: number;
  /** common_lb_config.locality_weighted_lb_config is present. */
  localityWeighted?: boolean;
  /** zone_aware_lb_config.fail_traffic_on_panic: in panic, pick nothing instead of any host. */
  failTrafficOnPanic?: boolean;
  leastRequest?: {
    /** choice_count, ≥ 2, default 2. */
    choiceCount?: number;
    /** active_request_bias, ≥ 0, default 1.0. */
    activeRequestBias?: number;
    /** selection_method: N_CHOICES (default, power of N choices) or FULL_SCAN. */
    selectionMethod?: "N_CHOICES" | "FULL_SCAN";
  };
  ringHash?: {
    /** minimum_ring_size, default 1024. */
    minimumRingSize?: number;
    /** maximum_ring_size, default 8M, at most 8M. */
    maximumRingSize?: number;
  };
  maglev?: {
    /** table_size, a prime ≤ 5000011, default 65537. */
    tableSize?: number;
  };
  /** consistent_hashing_lb_config.use_hostname_for_hashing. */
  useHostnameForHashing?: boolean;
  /** Randomness for picks and start offsets; seeded from the OS when unset. */
  randomSource?: RandomSource;
}

export interface ResolvedLbConfig {
  readonly healthyPanicThreshold: number;
  readonly localityWeighted: boolean;
  readonly failTrafficOnPanic: boolean;
  readonly choiceCount: number;
  readonly activeRequestBias: number;
  readonly selectionMethod: "N_CHOICES" | "FULL_SCAN";
  readonly minimumRingSize: number;
  readonly maximumRingSize: number;
  readonly tableSize: number;
  readonly useHostnameForHashing: boolean;
  readonly random: RandomSource;
}

export const LB_DEFAULTS = {
  healthyPanicThreshold: 50,
  choiceCount: 2,
  activeRequestBias: 1,
  minimumRingSize: 1024,
  maximumRingSize: 8 * 1024 * 1024,
  maglevTableSize: 65537,
  maglevMaxTableSize: 5000011,
} as const;

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Every problem with a config, each naming its Envoy field; empty when valid. */
export function validateLbConfig(config: LbConfig): string[] {
  const problems: string[] = [];
  const threshold = config.healthyPanicThreshold;
  if (threshold !== undefined && !(threshold >= 0 && threshold <= 100))
    problems.push(`common_lb_config.healthy_panic_threshold must be 0–100, got ${threshold}`);
  const { choiceCount, activeRequestBias } = config.leastRequest ?? {};
  if (choiceCount !== undefined && !(Number.isInteger(choiceCount) && choiceCount >= 2))
    problems.push(
      `least_request_lb_config.choice_count must be an integer ≥ 2, got ${choiceCount}`,
    );
  if (activeRequestBias !== undefined && !(activeRequestBias >= 0 && activeRequestBias < Infinity))
    problems.push(
      `least_request_lb_config.active_request_bias must be ≥ 0, got ${activeRequestBias}`,
    );
  const min = config.ringHash?.minimumRingSize ?? LB_DEFAULTS.minimumRingSize;
  const max = config.ringHash?.maximumRingSize ?? LB_DEFAULTS.maximumRingSize;
  if (!(Number.isInteger(min) && min >= 1))
    problems.push(`ring_hash_lb_config.minimum_ring_size must be an integer ≥ 1, got ${min}`);
  if (!(Number.isInteger(max) && max >= 1 && max <= LB_DEFAULTS.maximumRingSize))
    problems.push(`ring_hash_lb_config.maximum_ring_size must be 1–8388608, got ${max}`);
  if (min > max)
    problems.push(`ring hash: minimum_ring_size (${min}) > maximum_ring_size (${max})`);
  const tableSize = config.maglev?.tableSize;
  if (
    tableSize !== undefined &&
    !(
      Number.isInteger(tableSize) &&
      tableSize <= LB_DEFAULTS.maglevMaxTableSize &&
      isPrime(tableSize)
    )
  )
    problems.push(`maglev_lb_config.table_size must be a prime ≤ 5000011, got ${tableSize}`);
  return problems;
}

export function resolveLbConfig(config: LbConfig): ResolvedLbConfig {
  return {
    healthyPanicThreshold: Math.floor(
      config.healthyPanicThreshold ?? LB_DEFAULTS.healthyPanicThreshold,
    ),
    localityWeighted: config.localityWeighted ?? false,
    failTrafficOnPanic: config.failTrafficOnPanic ?? false,
    choiceCount: config.leastRequest?.choiceCount ?? LB_DEFAULTS.choiceCount,
    activeRequestBias: config.leastRequest?.activeRequestBias ?? LB_DEFAULTS.activeRequestBias,
    selectionMethod: config.leastRequest?.selectionMethod ?? "N_CHOICES",
    minimumRingSize: config.ringHash?.minimumRingSize ?? LB_DEFAULTS.minimumRingSize,
    maximumRingSize: config.ringHash?.maximumRingSize ?? LB_DEFAULTS.maximumRingSize,
    tableSize: config.maglev?.tableSize ?? LB_DEFAULTS.maglevTableSize,
    useHostnameForHashing: config.useHostnameForHashing ?? false,
    random: config.randomSource ?? randomSource(),
  };
}
