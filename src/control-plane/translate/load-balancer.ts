// DestinationRule `loadBalancer` → cluster lb_policy and lb config, locality-weighted LB and the
// locality priorities of inline endpoints (istiod applyLoadBalancer / ApplyRingHashLoadBalancer),
// and the route hash_policy for consistent hashing (istiod route.go hashForHTTPDestination /
// consistentHashToHashPolicy), exported for the routes translation.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import { type ClusterDraft, childObject } from "./cluster-draft.ts";
import { isObj, numberAt, objAt, protoDuration, subsetNamed } from "./cluster-traffic-policy.ts";
import type { EffectiveDestinationRule, Obj } from "./destination-rules.ts";
import {
  applyLocalityLbSetting,
  type LocalityClient,
  localityLbSettingFor,
  needsLocalityWeightedLb,
} from "./locality-lb.ts";
import { setHealthyPanicThreshold } from "./outlier-detection.ts";

/** Envoy's default ring size, which Istio writes out when consistentHash names no algorithm. */
export const DEFAULT_MINIMUM_RING_SIZE = 1024;

export interface LoadBalancerContext {
  mesh: MeshConfig;
  client: LocalityClient;
  sendUnhealthyEndpoints?: boolean;
}

function slowStart(cluster: JsonObject, configField: string, lb: Obj | undefined): void {
  const window = protoDuration(lb?.warmupDurationSecs);
  if (window) cluster[configField] = { slow_start_config: { slow_start_window: window } };
}

function applyConsistentHash(cluster: JsonObject, lb: Obj | undefined): void {
  const hash = objAt(lb, "consistentHash");
  if (!hash) return;
  delete cluster.least_request_lb_config;
  delete cluster.round_robin_lb_config;
  const maglev = objAt(hash, "maglev");
  const ringHash = objAt(hash, "ringHash");
  if (maglev) {
    cluster.lb_policy = "MAGLEV";
    const tableSize = numberAt(maglev, "tableSize");
    if (tableSize) cluster.maglev_lb_config = { table_size: tableSize };
  } else if (ringHash) {
    cluster.lb_policy = "RING_HASH";
    const size = numberAt(ringHash, "minimumRingSize");
    if (size) cluster.ring_hash_lb_config = { minimum_ring_size: size };
  } else {
    cluster.lb_policy = "RING_HASH";
    cluster.ring_hash_lb_config = {
      minimum_ring_size: numberAt(hash, "minimumRingSize") || DEFAULT_MINIMUM_RING_SIZE,
    };
  }
}

/** Applies `lb` (the policy's loadBalancer, possibly absent) to the cluster. */
export function applyLoadBalancer(
  draft: ClusterDraft,
  lb: Obj | undefined,
  ctx: LoadBalancerContext,
): void {
  const { cluster } = draft;
  // Unready endpoints must never receive traffic through panic mode when they are sent.
  if (ctx.sendUnhealthyEndpoints) setHealthyPanicThreshold(cluster, 0);

  const setting = localityLbSettingFor(ctx.mesh, lb);
  const enableFailover = cluster.outlier_detection !== undefined;
  if (needsLocalityWeightedLb(setting, enableFailover)) {
    childObject(cluster, "common_lb_config").locality_weighted_lb_config = {};
  }
  if (draft.inlineEndpoints) {
    draft.inlineEndpoints = applyLocalityLbSetting(
      draft.inlineEndpoints,
      ctx.client,
      setting,
      enableFailover,
      false,
    );
  }

  if (cluster.type === "ORIGINAL_DST") {
    cluster.lb_policy = "CLUSTER_PROVIDED";
    return;
  }
  switch (lb?.simple) {
    case "RANDOM":
      cluster.lb_policy = "RANDOM";
      break;
    case "ROUND_ROBIN":
      cluster.lb_policy = "ROUND_ROBIN";
      slowStart(cluster, "round_robin_lb_config", lb);
      break;
    case "PASSTHROUGH":
      // Connect to the address the client dialled; drop any endpoints a STATIC/DNS service had.
      cluster.lb_policy = "CLUSTER_PROVIDED";
      cluster.type = "ORIGINAL_DST";
      delete draft.inlineEndpoints;
      break;
    default:
      // LEAST_REQUEST, the deprecated LEAST_CONN, and unset all mean LEAST_REQUEST.
      cluster.lb_policy = "LEAST_REQUEST";
      slowStart(cluster, "least_request_lb_config", lb);
  }
  applyConsistentHash(cluster, lb);
}

function consistentHashOf(policy: unknown): Obj | undefined {
  return objAt(objAt(isObj(policy) ? policy : undefined, "loadBalancer"), "consistentHash");
}

/** The consistentHash of the first portLevelSettings entry for `port` (undefined if none). */
function portLevelHash(policy: Obj | undefined, port: number | undefined): Obj | undefined {
  if (port === undefined || !policy) return undefined;
  const settings = Array.isArray(policy.portLevelSettings) ? policy.portLevelSettings : [];
  const entry = settings.find((s) => isObj(s) && numberAt(objAt(s, "port"), "number") === port);
  return consistentHashOf(entry);
}

function hashPolicyJson(hash: Obj): JsonObject | undefined {
  if (typeof hash.httpHeaderName === "string") {
    return { header: { header_name: hash.httpHeaderName } };
  }
  const cookie = objAt(hash, "httpCookie");
  if (cookie) {
    const out: JsonObject = { name: typeof cookie.name === "string" ? cookie.name : "" };
    const ttl = protoDuration(cookie.ttl);
    if (ttl) out.ttl = ttl;
    if (typeof cookie.path === "string" && cookie.path) out.path = cookie.path;
    const attributes = Array.isArray(cookie.attributes) ? cookie.attributes.filter(isObj) : [];
    if (attributes.length > 0) {
      out.attributes = attributes.map((a) => ({
        name: String(a.name ?? ""),
        value: String(a.value ?? ""),
      }));
    }
    return { cookie: out };
  }
  if (typeof hash.useSourceIp === "boolean") {
    return { connection_properties: { source_ip: hash.useSourceIp } };
  }
  if (typeof hash.httpQueryParameterName === "string") {
    return { query_parameter: { name: hash.httpQueryParameterName } };
  }
  return undefined;
}

/**
 * Envoy route `hash_policy` entries for traffic to `subset` on `port` (pass the destination's
 * port as written in the route, or undefined when it names none). The most specific
 * consistentHash wins: subset port-level, subset, rule port-level, then rule-level.
 */
export function hashPolicyFor(
  dr: EffectiveDestinationRule | undefined,
  port: number | undefined,
  subset?: string,
): JsonObject[] {
  if (!dr) return [];
  const subsetPolicy = objAt(subsetNamed(dr, subset), "trafficPolicy");
  const hash =
    portLevelHash(subsetPolicy, port) ??
    consistentHashOf(subsetPolicy) ??
    portLevelHash(dr.trafficPolicy, port) ??
    consistentHashOf(dr.trafficPolicy);
  const json = hash ? hashPolicyJson(hash) : undefined;
  return json ? [json] : [];
}
