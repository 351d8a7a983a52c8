// `loadBalancer` of a DestinationRule traffic policy: simple vs consistentHash, the hash key and
// hash algorithm, locality load balancing (distribute, failover, failoverPriority) and warmup —
// Istio's validateLoadBalancer and agent.ValidateLocalityLbSetting.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkDuration, checkRange, isObj, type Obj, present } from "./rules.ts";
import { checkIstioDuration, checkOneOf } from "./virtual-service-common.ts";

const MAGLEV_TABLE_LIMIT = 5_000_011;
const TOPOLOGY_LABELS = new Set([
  "topology.kubernetes.io/region",
  "topology.kubernetes.io/zone",
  "topology.istio.io/subzone",
]);

/** Envoy's primality test for the Maglev table size. */
function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  const limit = Math.floor(Math.sqrt(x));
  for (let factor = 3; factor <= limit; factor += 2) if (x % factor === 0) return false;
  return true;
}

export function checkLoadBalancer(
  ctx: ValidationContext,
  path: FieldPath,
  lb: unknown,
  outlier: unknown,
): void {
  if (!isObj(lb)) return;
  checkOneOf(ctx, path, lb, ["simple", "consistentHash"]);
  if (isObj(lb.consistentHash))
    checkConsistentHash(ctx, [...path, "consistentHash"], lb.consistentHash);
  checkLocality(ctx, [...path, "localityLbSetting"], lb.localityLbSetting, outlier);
  if (present(lb.warmupDurationSecs)) {
    checkIstioDuration(ctx, [...path, "warmupDurationSecs"], lb.warmupDurationSecs);
    ctx.warn(
      [...path, "warmupDurationSecs"],
      "CREMA_VALIDATION_DEPRECATED",
      "warmupDurationSecs is deprecated; use warmup: {duration: ...}",
    );
  }
  if (isObj(lb.warmup)) {
    checkIstioDuration(ctx, [...path, "warmup", "duration"], lb.warmup.duration);
    checkRange(
      ctx,
      [...path, "warmup", "minimumPercent"],
      lb.warmup.minimumPercent,
      0,
      100,
      "percentage",
    );
  }
}

function checkConsistentHash(ctx: ValidationContext, path: FieldPath, hash: Obj): void {
  checkOneOf(ctx, path, hash, [
    "httpHeaderName",
    "httpCookie",
    "useSourceIp",
    "httpQueryParameterName",
  ]);
  checkOneOf(ctx, path, hash, ["ringHash", "maglev"]);
  if (isObj(hash.httpCookie)) {
    if (hash.httpCookie.name === "")
      ctx.error(
        [...path, "httpCookie", "name"],
        "CREMA_VALIDATION_REQUIRED",
        "the hash cookie needs a name",
      );
    checkDuration(ctx, [...path, "httpCookie", "ttl"], hash.httpCookie.ttl, {
      minMs: 0,
      allowZero: true,
    });
  }
  const ringSize = hash.minimumRingSize;
  if (typeof ringSize === "number" && ringSize !== 0) {
    ctx.warn(
      [...path, "minimumRingSize"],
      "CREMA_VALIDATION_DEPRECATED",
      "consistentHash.minimumRingSize is deprecated; use ringHash: {minimumRingSize: N}",
    );
    if (present(hash.ringHash) || present(hash.maglev)) {
      ctx.error(
        [...path, "minimumRingSize"],
        "CREMA_VALIDATION_EXCLUSIVE",
        "minimumRingSize cannot be combined with ringHash or maglev",
      );
    }
  }
  if (isObj(hash.maglev)) {
    const size = hash.maglev.tableSize;
    const at = [...path, "maglev"];
    if (typeof size !== "number" || size === 0) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        "maglev needs a tableSize (a prime number, e.g. 65537)",
      );
    } else if (size >= MAGLEV_TABLE_LIMIT) {
      ctx.error(
        [...at, "tableSize"],
        "CREMA_VALIDATION_RANGE",
        `maglev tableSize ${size} is too large; it must be below ${MAGLEV_TABLE_LIMIT}`,
      );
    } else if (!isPrime(size)) {
      ctx.error(
        [...at, "tableSize"],
        "CREMA_VALIDATION_INVALID",
        `maglev tableSize ${size} is not a prime number (e.g. 65537)`,
      );
    }
  }
}

type Tree = Map<string, Map<string, Set<string>>>;

/** Istio's validateLocalities: "region[/zone[/subzone]]", one trailing '*', no overlaps. */
function localityProblem(localities: readonly string[]): string | undefined {
  const tree: Tree = new Map();
  for (const locality of localities) {
    const stars = locality.split("*").length - 1;
    if (stars > 1 || (stars === 1 && !locality.endsWith("*")))
      return `locality ${JSON.stringify(locality)} may have one '*', only at the end`;
    if (tree.has("*")) return `locality ${JSON.stringify(locality)} overlaps a previous one`;
    const parts = locality.split("/");
    const [region, zone, subzone] = [parts[0]!, parts[1], parts.slice(2).join("/")];
    if (parts.some((p) => p === ""))
      return `locality ${JSON.stringify(locality)} has an empty region, zone or subzone`;
    const overlap = `locality ${JSON.stringify(locality)} overlaps a previous one`;
    const zones = tree.get(region);
    if (parts.length === 1) {
      if (zones) return overlap;
      tree.set(region, new Map([["*", new Set(["*"])]]));
    } else if (parts.length === 2) {
      if (zones) {
        if (zones.has("*") || zones.has(zone!)) return overlap;
        zones.set(zone!, new Set(["*"]));
      } else {
        tree.set(region, new Map([[zone!, new Set(["*"])]]));
      }
    } else if (zones) {
      if (zones.has("*")) return overlap;
      const subzones = zones.get(zone!);
      if (subzones) {
        if (subzones.has("*") || subzones.has(subzone)) return overlap;
        subzones.add(subzone);
      } else {
        zones.set(zone!, new Set([subzone]));
      }
    } else {
      tree.set(region, new Map([[zone!, new Set([subzone])]]));
    }
  }
  return undefined;
}

function checkLocality(
  ctx: ValidationContext,
  path: FieldPath,
  setting: unknown,
  outlier: unknown,
): void {
  if (!isObj(setting)) return;
  const distribute = Array.isArray(setting.distribute) ? setting.distribute : [];
  const failover = Array.isArray(setting.failover) ? setting.failover : [];
  const priority = Array.isArray(setting.failoverPriority) ? setting.failoverPriority : [];
  if (distribute.length > 0 && failover.length > 0) {
    ctx.error(
      [...path, "failover"],
      "CREMA_VALIDATION_EXCLUSIVE",
      "localityLbSetting cannot set both distribute and failover",
    );
    return;
  }
  if (failover.length > 0) {
    const i = priority.findIndex(
      (label) => typeof label === "string" && TOPOLOGY_LABELS.has(label),
    );
    if (i >= 0) {
      ctx.error(
        [...path, "failoverPriority", i],
        "CREMA_VALIDATION_EXCLUSIVE",
        `failover cannot be combined with the topology label ${JSON.stringify(priority[i])} in failoverPriority`,
      );
      return;
    }
  }
  const sources: string[] = [];
  for (let i = 0; i < distribute.length; i++) {
    const entry = distribute[i];
    if (!isObj(entry)) continue;
    const at = [...path, "distribute", i];
    sources.push(typeof entry.from === "string" ? entry.from : "");
    const to = isObj(entry.to) ? entry.to : {};
    let total = 0;
    for (const [locality, weight] of Object.entries(to)) {
      if (typeof weight !== "number" || weight <= 0 || weight > 100) {
        ctx.error(
          [...at, "to", locality],
          "CREMA_VALIDATION_RANGE",
          `locality weight ${String(weight)} is out of range; use 1 to 100`,
        );
        return;
      }
      total += weight;
    }
    if (total !== 100) {
      ctx.error(
        [...at, "to"],
        "CREMA_VALIDATION_WEIGHT",
        `the weights for ${JSON.stringify(entry.from ?? "")} add up to ${total}; they must add up to 100`,
      );
      return;
    }
    const problem = localityProblem(Object.keys(to));
    if (problem) ctx.error([...at, "to"], "CREMA_VALIDATION_INVALID", problem);
  }
  const sourceProblem = localityProblem(sources);
  if (sourceProblem) ctx.error([...path, "distribute"], "CREMA_VALIDATION_INVALID", sourceProblem);
  if ((failover.length > 0 || priority.length > 0) && !present(outlier)) {
    ctx.warn(
      path,
      "CREMA_VALIDATION_REQUIRED",
      "locality failover needs outlierDetection in the same traffic policy to notice unhealthy endpoints",
    );
  }
  failover.forEach((entry, i) => {
    if (!isObj(entry)) return;
    const from = typeof entry.from === "string" ? entry.from : "";
    const to = typeof entry.to === "string" ? entry.to : "";
    const at = [...path, "failover", i];
    if (from === to)
      ctx.error(at, "CREMA_VALIDATION_INVALID", "a failover entry must name two different regions");
    if (from.includes("/") || to.includes("/"))
      ctx.error(at, "CREMA_VALIDATION_INVALID", "failover names regions only (no '/zone')");
    if (from.includes("*") || to.includes("*"))
      ctx.error(at, "CREMA_VALIDATION_INVALID", "failover regions cannot contain '*'");
  });
}
