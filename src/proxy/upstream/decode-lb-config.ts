// A Cluster's lb_policy and its *_lb_config / common_lb_config → the lb module's LbConfig.
import type { Fields } from "./decode-fields.ts";
import { type LbConfig, validateLbConfig } from "./lb/config.ts";
import type { LbPolicy } from "./lb/load-balancer.ts";

// Indexed by enum number (4 was ORIGINAL_DST_LB, removed from v3).
const LB_POLICY_NAMES = [
  "ROUND_ROBIN",
  "LEAST_REQUEST",
  "RING_HASH",
  "RANDOM",
  "(removed)",
  "MAGLEV",
  "CLUSTER_PROVIDED",
  "LOAD_BALANCING_POLICY_CONFIG",
] as const;

function double(f: Fields, field: string): number | undefined {
  const value = f.raw(field);
  if (value === undefined) return undefined;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  f.error("expected a number", field);
  return undefined;
}

function readLeastRequest(f: Fields): NonNullable<LbConfig["leastRequest"]> {
  const out: NonNullable<LbConfig["leastRequest"]> = {};
  const choiceCount = f.optUint("choice_count");
  if (choiceCount !== undefined) out.choiceCount = choiceCount;
  const bias = f.object("active_request_bias");
  if (bias) {
    // As for the panic threshold: a set RuntimeDouble without its value is 0.
    out.activeRequestBias = double(bias, "default_value") ?? 0;
    bias.skip("runtime_key");
  }
  if (f.has("selection_method"))
    out.selectionMethod = f.enumValue("selection_method", ["N_CHOICES", "FULL_SCAN"] as const);
  // slow_start_config (warm-up ramp) is not implemented; new hosts get full weight at once.
  f.skip("slow_start_config", "locality_lb_config");
  return out;
}

/** Every LbConfig field the Cluster sets; semantic checks are validateLbConfig's. */
function readLbConfig(f: Fields): LbConfig {
  const config: LbConfig = {};
  const common = f.object("common_lb_config");
  if (common) {
    // A Percent message set without its value is 0 (proto3 leaves the default out): Istio's way
    // of turning panic mode off. Only an unset message means Envoy's default of 50.
    const panic = common.object("healthy_panic_threshold");
    if (panic) config.healthyPanicThreshold = double(panic, "value") ?? 0;
    if (common.has("locality_weighted_lb_config")) config.localityWeighted = true;
    const zoneAware = common.object("zone_aware_lb_config");
    if (zoneAware) {
      config.failTrafficOnPanic = zoneAware.bool("fail_traffic_on_panic");
      zoneAware.skip("routing_enabled", "min_cluster_size", "force_locality_direct_routing");
    }
    const hashing = common.object("consistent_hashing_lb_config");
    if (hashing) {
      config.useHostnameForHashing = hashing.bool("use_hostname_for_hashing");
      if (hashing.optUint("hash_balance_factor") !== undefined)
        hashing.error("bounded-load consistent hashing is not supported", "hash_balance_factor");
    }
    common.skip(
      "update_merge_window",
      "ignore_new_hosts_until_first_hc",
      "close_connections_on_host_set_change",
      "override_host_status",
    );
  }
  const ring = f.object("ring_hash_lb_config");
  if (ring) {
    config.ringHash = {};
    const min = ring.optUint("minimum_ring_size", Number.MAX_SAFE_INTEGER);
    const max = ring.optUint("maximum_ring_size", Number.MAX_SAFE_INTEGER);
    if (min !== undefined) config.ringHash.minimumRingSize = min;
    if (max !== undefined) config.ringHash.maximumRingSize = max;
    if (ring.enumValue("hash_function", ["XX_HASH", "MURMUR_HASH_2"] as const) !== "XX_HASH")
      ring.error("only XX_HASH is supported", "hash_function");
  }
  const maglev = f.object("maglev_lb_config");
  const tableSize = maglev?.optUint("table_size", Number.MAX_SAFE_INTEGER);
  if (tableSize !== undefined) config.maglev = { tableSize };
  const leastRequest = f.object("least_request_lb_config");
  if (leastRequest) config.leastRequest = readLeastRequest(leastRequest);
  f.skip("round_robin_lb_config");
  return config;
}

/** lb_policy and LbConfig, with the lb module's validation errors added at the cluster's path. */
export function readLoadBalancing(f: Fields): {
  lbPolicy: LbPolicy | "CLUSTER_PROVIDED";
  lbConfig: LbConfig;
} {
  const name = f.enumValue("lb_policy", LB_POLICY_NAMES);
  let lbPolicy: LbPolicy | "CLUSTER_PROVIDED" = "ROUND_ROBIN";
  if (name === "LOAD_BALANCING_POLICY_CONFIG" || name === "(removed)")
    f.error(`${name} is not supported`, "lb_policy");
  else lbPolicy = name;
  if (f.has("load_balancing_policy"))
    f.error("load_balancing_policy extensions are not supported", "load_balancing_policy");
  const subset = f.object("lb_subset_config");
  if (subset && subset.list("subset_selectors").length > 0)
    subset.error("subset load balancing is not supported", "subset_selectors");
  const lbConfig = readLbConfig(f);
  // The lb module's messages name their fields already ("common_lb_config.…").
  for (const problem of validateLbConfig(lbConfig))
    f.ctx.errors.push(f.path ? `${f.path}: ${problem}` : problem);
  return { lbPolicy, lbConfig };
}
