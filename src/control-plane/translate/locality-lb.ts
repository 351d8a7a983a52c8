// Locality-aware load balancing, per proxy, as istiod's loadbalancer package does it: priorities
// by locality distance from the proxy (0 same subzone, 1 same zone, 2 same region, 3 elsewhere,
// 4 regions that `failover` does not name) or by `failoverPriority` labels, or weights from
// `distribute`. Failover is only applied when outlier detection is on (otherwise Envoy would never
// move traffic to a lower priority); `distribute` applies regardless.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import type { Locality } from "../model/workload.ts";
import { isObj, objAt } from "./cluster-traffic-policy.ts";
import type { Obj } from "./destination-rules.ts";

export type Labels = Readonly<Record<string, string>>;

/** One LocalityLbEndpoints under construction, with the labels of each of its endpoints. */
export interface LocalityGroup {
  locality: Locality;
  lbEndpoints: JsonObject[];
  /** Labels of lbEndpoints[i] (topology labels added), for failoverPriority. */
  labels: Labels[];
  weight: number;
  priority: number;
}

export interface LocalityClient {
  locality: Locality;
  /** The proxy's labels with topology labels added (see augmentLabels). */
  labels: Labels;
}

/** Istio's AugmentLabels: region/zone/subzone/cluster/network as `topology.*` labels. */
export function augmentLabels(
  labels: Labels,
  locality: Locality,
  clusterId: string,
  network: string,
): Record<string, string> {
  const out: Record<string, string> = { ...labels };
  if (locality.region) out["topology.kubernetes.io/region"] = locality.region;
  if (locality.zone) out["topology.kubernetes.io/zone"] = locality.zone;
  if (locality.subzone) out["topology.istio.io/subzone"] = locality.subzone;
  if (clusterId) out["topology.istio.io/cluster"] = clusterId;
  if (network && !out["topology.istio.io/network"]) out["topology.istio.io/network"] = network;
  return out;
}

function list(obj: Obj | undefined, key: string): unknown[] {
  const value = obj?.[key];
  return Array.isArray(value) ? value : [];
}

/** The locality LB setting in force: the DR's (unless `enabled: false`), else the mesh's. */
export function localityLbSettingFor(
  mesh: MeshConfig,
  loadBalancer: Obj | undefined,
): Obj | undefined {
  const fromRule = objAt(loadBalancer, "localityLbSetting");
  if (fromRule) return fromRule.enabled === false ? undefined : fromRule;
  return mesh.localityLbEnabled ? { enabled: true } : undefined;
}

/** Whether the cluster needs common_lb_config.locality_weighted_lb_config. */
export function needsLocalityWeightedLb(
  setting: Obj | undefined,
  enableFailover: boolean,
): boolean {
  if (!setting) return false;
  const failover = list(setting, "failover").length > 0;
  const failoverPriority = list(setting, "failoverPriority").length > 0;
  return (
    (enableFailover && (failover || failoverPriority)) || list(setting, "distribute").length > 0
  );
}

/** `region/zone/subzone` patterns with `*`; a missing zone or subzone matches any. */
export function localityMatches(locality: Locality, pattern: string): boolean {
  const [region = "", zone = "", subzone = ""] = pattern.split("/");
  return (
    (region === "*" || locality.region === region) &&
    (zone === "*" || zone === "" || locality.zone === zone) &&
    (subzone === "*" || subzone === "" || locality.subzone === subzone)
  );
}

function lbPriority(proxy: Locality, endpoints: Locality): number {
  if (proxy.region !== endpoints.region) return 3;
  if (proxy.zone !== endpoints.zone) return 2;
  return proxy.subzone === endpoints.subzone ? 0 : 1;
}

/** Renumbers priorities 0..N without gaps, keeping their order. */
function compactPriorities(groups: LocalityGroup[]): void {
  const distinct = [...new Set(groups.map((g) => g.priority))].sort((a, b) => a - b);
  for (const group of groups) group.priority = distinct.indexOf(group.priority);
}

function applyWeights(groups: LocalityGroup[], proxy: Locality, distribute: unknown[]): void {
  for (const rule of distribute) {
    if (!isObj(rule) || typeof rule.from !== "string" || !localityMatches(proxy, rule.from))
      continue;
    const unmatched = new Set(groups.map((_, i) => i));
    for (const [pattern, rawWeight] of Object.entries(objAt(rule, "to") ?? {})) {
      const weight = typeof rawWeight === "number" ? rawWeight : Number(rawWeight);
      const matched = [...unmatched].filter((i) => localityMatches(groups[i]!.locality, pattern));
      const total = matched.reduce((sum, i) => sum + groups[i]!.weight, 0);
      for (const i of matched) {
        unmatched.delete(i);
        const share = total > 0 ? (groups[i]!.weight * weight) / total : 0;
        if (share > 0) groups[i]!.weight = Math.ceil(share);
      }
    }
    // Localities the rule sends nothing to keep no endpoints.
    for (const i of unmatched) {
      groups[i]!.lbEndpoints = [];
      groups[i]!.labels = [];
    }
    return;
  }
}

function applyFailover(groups: LocalityGroup[], proxy: Locality, failover: unknown[]): void {
  for (const group of groups) {
    let priority = lbPriority(proxy, group.locality);
    if (priority === 3) {
      const rule = failover.find((f) => isObj(f) && f.from === proxy.region);
      if (isObj(rule) && group.locality.region !== rule.to) priority = 4;
    }
    // Up to 5 locality priorities nest inside any failoverPriority already assigned.
    group.priority = group.priority * 5 + priority;
  }
  compactPriorities(groups);
}

function weightOf(lbEndpoint: JsonObject): number {
  return typeof lbEndpoint.load_balancing_weight === "number"
    ? lbEndpoint.load_balancing_weight
    : 0;
}

function applyFailoverPriority(
  groups: LocalityGroup[],
  proxyLabels: Labels,
  entries: string[],
): LocalityGroup[] {
  if (Object.keys(proxyLabels).length === 0 || groups.length === 0) return groups;
  const keys = entries.map((e) => e.split("=")[0]!);
  const overrides = new Map(
    entries.map((e) => e.split("=")).flatMap((p) => (p.length === 2 ? [[p[0]!, p[1]!]] : [])),
  );
  const out: LocalityGroup[] = [];
  for (const group of groups) {
    const byPriority = new Map<number, number[]>();
    group.lbEndpoints.forEach((_, i) => {
      const labels = group.labels[i] ?? {};
      const j = keys.findIndex(
        (k) => (overrides.get(k) ?? proxyLabels[k] ?? "") !== (labels[k] ?? ""),
      );
      const priority = j < 0 ? 0 : keys.length - j;
      byPriority.set(priority, [...(byPriority.get(priority) ?? []), i]);
    });
    for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
      const members = byPriority.get(priority)!;
      const lbEndpoints = members.map((i) => group.lbEndpoints[i]!);
      out.push({
        locality: group.locality,
        lbEndpoints,
        labels: members.map((i) => group.labels[i] ?? {}),
        weight: lbEndpoints.reduce((sum, ep) => sum + weightOf(ep), 0),
        priority,
      });
    }
  }
  compactPriorities(out);
  return out;
}

/**
 * Istio's ApplyLocalityLoadBalancer. `byLabels` false skips failoverPriority (istiod does not
 * apply it to the inline endpoints of DNS clusters). Returns new groups; the input is not changed.
 */
export function applyLocalityLbSetting(
  input: readonly LocalityGroup[],
  client: LocalityClient,
  setting: Obj | undefined,
  enableFailover: boolean,
  byLabels = true,
): LocalityGroup[] {
  let groups = input.map((g) => ({ ...g }));
  if (!setting) return groups;
  const distribute = list(setting, "distribute");
  const failover = list(setting, "failover");
  const failoverPriority = list(setting, "failoverPriority").filter(
    (e): e is string => typeof e === "string",
  );
  if (distribute.length > 0) {
    applyWeights(groups, client.locality, distribute);
  } else if (enableFailover) {
    if (failoverPriority.length > 0) {
      if (byLabels) groups = applyFailoverPriority(groups, client.labels, failoverPriority);
      if (failover.length > 0) applyFailover(groups, client.locality, failover);
    } else {
      applyFailover(groups, client.locality, failover);
    }
  }
  return groups;
}

/** The Envoy LocalityLbEndpoints of a group (priority 0 left out, as proto3 JSON does). */
export function localityGroupJson(group: LocalityGroup): JsonObject {
  const locality: JsonObject = {};
  if (group.locality.region) locality.region = group.locality.region;
  if (group.locality.zone) locality.zone = group.locality.zone;
  if (group.locality.subzone) locality.sub_zone = group.locality.subzone;
  const out: JsonObject = {
    locality,
    lb_endpoints: group.lbEndpoints,
    load_balancing_weight: group.weight,
  };
  if (group.priority > 0) out.priority = group.priority;
  return out;
}
