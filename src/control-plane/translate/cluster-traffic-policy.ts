// The DestinationRule traffic policy that applies to one cluster, resolved as istiod does
// (pilot/pkg/networking/util GetPortLevelTrafficPolicy / MergeSubsetTrafficPolicy): a matching
// `portLevelSettings` entry replaces the top-level policy outright (no inheritance), and a subset's
// policy then overrides connectionPool / outlierDetection / loadBalancer / tls one field at a time
// (all four when the subset has a matching port-level entry), plus tunnel and proxyProtocol.
import type { EffectiveDestinationRule, Obj } from "./destination-rules.ts";

export interface TrafficPolicy {
  connectionPool?: Obj;
  outlierDetection?: Obj;
  loadBalancer?: Obj;
  tls?: Obj;
  tunnel?: Obj;
  proxyProtocol?: Obj;
}

const PORT_LEVEL_FIELDS = ["connectionPool", "outlierDetection", "loadBalancer", "tls"] as const;
const OTHER_FIELDS = ["tunnel", "proxyProtocol"] as const;

export function isObj(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `obj[key]` when it is an object. */
export function objAt(obj: Obj | undefined, key: string): Obj | undefined {
  const value = obj?.[key];
  return isObj(value) ? value : undefined;
}

/** A numeric config value (YAML number or numeric string, as proto3 JSON allows for ints). */
export function numberAt(obj: Obj | undefined, key: string): number | undefined {
  const value = obj?.[key];
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return undefined;
}

export { durationJson as protoDuration, durationSeconds } from "./route-values.ts";

function pick(source: Obj, fields: readonly string[]): TrafficPolicy {
  const out: Record<string, Obj> = {};
  for (const field of fields) {
    const value = objAt(source, field);
    if (value) out[field] = value;
  }
  return out as TrafficPolicy;
}

/**
 * The policy for `port`: the matching port-level entry (only its four fields) when there is one,
 * else the top-level policy without `portLevelSettings`.
 */
export function portLevelPolicy(
  policy: Obj | undefined,
  port: number | undefined,
): { policy: TrafficPolicy | undefined; portLevel: boolean } {
  if (!policy) return { policy: undefined, portLevel: false };
  if (port !== undefined) {
    const settings = Array.isArray(policy.portLevelSettings) ? policy.portLevelSettings : [];
    for (const entry of settings) {
      if (isObj(entry) && numberAt(objAt(entry, "port"), "number") === port) {
        return { policy: pick(entry, PORT_LEVEL_FIELDS), portLevel: true };
      }
    }
  }
  return { policy: pick(policy, [...PORT_LEVEL_FIELDS, ...OTHER_FIELDS]), portLevel: false };
}

/** Istio's MergeSubsetTrafficPolicy: the DR's policy for the port, overridden by the subset's. */
export function mergeSubsetPolicy(
  top: Obj | undefined,
  subset: Obj | undefined,
  port: number | undefined,
): TrafficPolicy | undefined {
  const original = portLevelPolicy(top, port).policy;
  if (!subset) return original;
  const { policy: subsetPolicy, portLevel } = portLevelPolicy(subset, port);
  if (!original) return subsetPolicy;
  const merged: TrafficPolicy = { ...original };
  const from = subsetPolicy ?? {};
  for (const field of PORT_LEVEL_FIELDS) {
    if (from[field] || portLevel) {
      if (from[field]) merged[field] = from[field];
      else delete merged[field];
    }
  }
  for (const field of OTHER_FIELDS) if (from[field]) merged[field] = from[field];
  return merged;
}

/** The subset named `name` in the effective rule (first definition wins, as merged). */
export function subsetNamed(
  dr: EffectiveDestinationRule | undefined,
  name: string | undefined,
): Obj | undefined {
  if (!dr || !name) return undefined;
  return dr.subsets.find((s) => s.name === name);
}

/** Labels selecting a subset's endpoints ({} selects every endpoint). */
export function subsetLabels(subset: Obj | undefined): Record<string, string> {
  const labels = objAt(subset, "labels") ?? {};
  return Object.fromEntries(
    Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

/** The traffic policy of cluster `port`/`subset` of the service the rule applies to. */
export function effectiveTrafficPolicy(
  dr: EffectiveDestinationRule | undefined,
  port: number | undefined,
  subset?: string,
): TrafficPolicy | undefined {
  if (!dr) return undefined;
  const subsetPolicy = objAt(subsetNamed(dr, subset), "trafficPolicy");
  return mergeSubsetPolicy(dr.trafficPolicy, subset ? subsetPolicy : undefined, port);
}
