// `proxy-config clusters`: one row per cluster as istioctl prints it — Istio's
// `direction|port|subset|fqdn` name split into columns, the cluster's discovery type, and the
// DestinationRule it came from — with istioctl's --fqdn/--port/--subset/--direction filters.
import type { JsonObject } from "../../xds/proto-json.ts";
import { formatTable } from "../table.ts";
import { istioConfigRef, objectAt, stringAt } from "./config-dump.ts";

export interface ClusterFilter {
  /** Part of the service FQDN (istioctl matches anywhere in the name). */
  fqdn?: string;
  port?: number;
  subset?: string;
  direction?: string;
}

export interface ClusterRow {
  fqdn: string;
  port: string;
  subset: string;
  direction: string;
  type: string;
  destinationRule: string;
}

export const CLUSTER_COLUMNS = [
  "SERVICE FQDN",
  "PORT",
  "SUBSET",
  "DIRECTION",
  "TYPE",
  "DESTINATION RULE",
] as const;

interface SubsetKey {
  direction: string;
  port: number;
  subset: string;
  fqdn: string;
}

/** Istio's subset key `direction|port|subset|fqdn`; other names keep only their FQDN. */
function subsetKey(name: string): SubsetKey | undefined {
  const parts = name.split("|");
  if (parts.length <= 3) return undefined;
  const [direction = "", port = "", subset = "", fqdn = ""] = parts;
  return { direction, port: /^\d+$/.test(port) ? Number(port) : 0, subset, fqdn };
}

function sortKey(name: string): SubsetKey {
  return subsetKey(name) ?? { direction: "", port: 0, subset: "", fqdn: name };
}

/** istioctl's ClusterFilter.Verify: substring matches on the cluster name. */
export function clusterMatches(name: string, filter: ClusterFilter): boolean {
  if (filter.fqdn && !name.includes(filter.fqdn)) return false;
  if (filter.direction && !name.includes(filter.direction)) return false;
  if (filter.subset && !name.includes(filter.subset)) return false;
  if (filter.port && !name.includes(`|${filter.port}|`)) return false;
  return true;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The clusters the filter keeps, in istioctl's order: FQDN, subset, port, direction. */
export function selectClusters(
  clusters: readonly JsonObject[],
  filter: ClusterFilter,
): JsonObject[] {
  return clusters
    .filter((c) => clusterMatches(stringAt(c, "name"), filter))
    .sort((a, b) => {
      const x = sortKey(stringAt(a, "name"));
      const y = sortKey(stringAt(b, "name"));
      return (
        compare(x.fqdn, y.fqdn) ||
        compare(x.subset, y.subset) ||
        x.port - y.port ||
        compare(x.direction, y.direction)
      );
    });
}

/** The discovery type: `type` (STATIC when unset, as in Envoy), or a custom cluster_type's name. */
function clusterType(cluster: JsonObject): string {
  const type = stringAt(cluster, "type");
  if (type !== "") return type;
  const custom = stringAt(objectAt(cluster, "cluster_type"), "name");
  return custom !== "" ? custom : "STATIC";
}

export function buildClusterRows(
  clusters: readonly JsonObject[],
  filter: ClusterFilter = {},
): ClusterRow[] {
  return selectClusters(clusters, filter).map((cluster) => {
    const name = stringAt(cluster, "name");
    const key = subsetKey(name);
    const type = clusterType(cluster);
    const destinationRule = istioConfigRef(cluster.metadata);
    if (!key) return { fqdn: name, port: "-", subset: "-", direction: "-", type, destinationRule };
    return {
      fqdn: key.fqdn,
      port: String(key.port),
      subset: key.subset === "" ? "-" : key.subset,
      direction: key.direction,
      type,
      destinationRule,
    };
  });
}

export function renderClustersTable(rows: readonly ClusterRow[]): string {
  return formatTable(
    CLUSTER_COLUMNS,
    rows.map((r) => [r.fqdn, r.port, r.subset, r.direction, r.type, r.destinationRule]),
  );
}
