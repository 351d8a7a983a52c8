// RouteAction.weighted_clusters: decoded with Envoy's checks (name xor cluster_header, weight
// required, 0 < sum ≤ 2^32−1; the deprecated total_weight is ignored: the sum is the total) and
// picked as WeightedClusterSpecifierPlugin does, with the random value injected.
import type { Fields } from "./decode-reader.ts";
import { decodeHeaderMutation } from "./header-mutation.ts";
import { decodePerFilterConfigs, type PerFilterConfigValidator } from "./per-filter-config.ts";
import type {
  CompiledClusterWeight,
  RandomSource,
  RequestHeaders,
  WeightedClusters,
} from "./types.ts";

const UINT32_MAX = 0xffff_ffff;
const UINT64_MAX = (1n << 64n) - 1n;

function decodeClusterWeight(
  f: Fields,
  validate: PerFilterConfigValidator | undefined,
): CompiledClusterWeight | undefined {
  const name = f.string("name");
  const clusterHeader = f.string("cluster_header");
  if (name === "" && clusterHeader === "") f.error("one of name or cluster_header is required");
  if (name !== "" && clusterHeader !== "") f.error("only one of name or cluster_header may be set");
  const weight = f.optUint("weight");
  if (weight === undefined && !f.has("weight")) f.error("is required", "weight");
  const hostRewrite = f.string("host_rewrite_literal");
  const out: CompiledClusterWeight = {
    weight: weight ?? 0,
    requestHeaders: decodeHeaderMutation(f, "request_headers_to_add", "request_headers_to_remove"),
    responseHeaders: decodeHeaderMutation(
      f,
      "response_headers_to_add",
      "response_headers_to_remove",
    ),
    typedPerFilterConfig: decodePerFilterConfigs(f, validate),
  };
  if (name) out.name = name;
  if (clusterHeader) out.clusterHeader = clusterHeader.toLowerCase();
  if (hostRewrite) out.hostRewriteLiteral = hostRewrite;
  const metadata = f.json("metadata_match");
  if (metadata) out.metadataMatch = metadata;
  f.finish();
  return out;
}

export function decodeWeightedClusters(
  f: Fields,
  validate: PerFilterConfigValidator | undefined,
): WeightedClusters | undefined {
  const errors = f.ctx.errors.length;
  f.skip("total_weight", "runtime_key_prefix");
  const clusters: CompiledClusterWeight[] = [];
  for (const item of f.objects("clusters")) {
    const cluster = decodeClusterWeight(item, validate);
    if (cluster) clusters.push(cluster);
  }
  const raw = f.raw("clusters");
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    f.error("at least one cluster is required", "clusters");
  }
  const header = f.string("header_name");
  f.finish();
  let total = 0;
  for (const c of clusters) total += c.weight;
  if (clusters.length > 0 && total === 0) {
    f.error("the sum of cluster weights must be greater than 0", "clusters");
  }
  if (total > UINT32_MAX) f.error(`the sum of cluster weights exceeds ${UINT32_MAX}`, "clusters");
  if (f.ctx.errors.length !== errors) return undefined;
  const out: WeightedClusters = { clusters, totalWeight: total };
  if (header) out.randomValueHeader = header.toLowerCase();
  return out;
}

/** The random value Envoy would take from `header_name`: a single unsigned 64-bit integer. */
function headerRandomValue(
  headers: RequestHeaders,
  name: string,
  total: number,
): number | undefined {
  const raw = headers[name];
  const value = typeof raw === "string" ? raw : raw?.length === 1 ? raw[0] : undefined;
  if (value === undefined || !/^\d{1,20}$/.test(value)) return undefined;
  const big = BigInt(value);
  return big > UINT64_MAX ? undefined : Number(big % BigInt(total));
}

/** Picks a cluster: value in [0, total) → the cluster whose weight interval holds it. */
export function pickWeightedCluster(
  w: WeightedClusters,
  headers: RequestHeaders,
  random: RandomSource,
): CompiledClusterWeight {
  let value: number | undefined;
  if (w.randomValueHeader !== undefined)
    value = headerRandomValue(headers, w.randomValueHeader, w.totalWeight);
  if (value === undefined) value = Math.floor(random() * w.totalWeight);
  return pickByWeight(w.clusters, value)!;
}

/**
 * The entry whose weight interval holds `value` (in [0, total weight)), as Envoy picks weighted
 * clusters for routes and TCP proxies alike; the last entry for a value past the total.
 */
export function pickByWeight<T extends { readonly weight: number }>(
  entries: readonly T[],
  value: number,
): T | undefined {
  let cumulative = 0;
  for (const entry of entries) {
    cumulative += entry.weight;
    if (value < cumulative) return entry;
  }
  return entries.at(-1);
}
