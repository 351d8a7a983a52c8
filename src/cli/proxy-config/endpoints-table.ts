// `proxy-config endpoints`: one row per host of every cluster, from the proxy admin's
// `/clusters?format=json` (envoy.admin.v3.Clusters) as istioctl reads it — address, EDS health,
// whether outlier detection ejected it, and its cluster — with --address/--port/--cluster/--status.
import { CremaError } from "../../base/errors.ts";
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import { formatTable } from "../table.ts";
import { isObject, numberAt, objectAt, objectsAt, stringAt } from "./config-dump.ts";

export interface EndpointFilter {
  address?: string;
  port?: number;
  /** The cluster's full name (case-insensitive). */
  cluster?: string;
  /** HEALTHY, UNHEALTHY, DRAINING, TIMEOUT, DEGRADED or UNKNOWN (case-insensitive). */
  status?: string;
}

export interface EndpointRow {
  address: string;
  port: number;
  status: string;
  outlierCheck: "OK" | "FAILED";
  cluster: string;
}

export const ENDPOINT_COLUMNS = ["ENDPOINT", "STATUS", "OUTLIER CHECK", "CLUSTER"] as const;

/** The `cluster_statuses` of a `/clusters?format=json` body. */
export function decodeClusterStatuses(body: unknown, source: string): JsonObject[] {
  const json = body as Json;
  if (
    !isObject(json) ||
    (json.cluster_statuses !== undefined && !Array.isArray(json.cluster_statuses))
  ) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `${source} did not answer with Envoy's cluster statuses`,
    );
  }
  return objectsAt(json, "cluster_statuses");
}

function hostAddress(host: JsonObject): { address: string; port: number } {
  const address = objectAt(host, "address");
  const socket = objectAt(address, "socket_address");
  if (socket) return { address: stringAt(socket, "address"), port: numberAt(socket, "port_value") };
  return { address: `unix://${stringAt(objectAt(address, "pipe"), "path")}`, port: 0 };
}

function endpointRow(cluster: string, host: JsonObject): EndpointRow {
  const health = objectAt(host, "health_status");
  const status = stringAt(health, "eds_health_status");
  return {
    ...hostAddress(host),
    // proto3 JSON leaves the zero value out: UNKNOWN.
    status: status === "" ? "UNKNOWN" : status,
    outlierCheck: isObject(health) && health.failed_outlier_check === true ? "FAILED" : "OK",
    cluster,
  };
}

function rowMatches(row: EndpointRow, filter: EndpointFilter): boolean {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (filter.address && !same(row.address, filter.address)) return false;
  if (filter.port && row.port !== filter.port) return false;
  if (filter.cluster && !same(row.cluster, filter.cluster)) return false;
  if (filter.status && !same(row.status, filter.status)) return false;
  return true;
}

/** Matching hosts, by address, port, then cluster (istioctl's order). */
export function buildEndpointRows(
  statuses: readonly JsonObject[],
  filter: EndpointFilter = {},
): EndpointRow[] {
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return statuses
    .flatMap((status) =>
      objectsAt(status, "host_statuses").map((host) => endpointRow(stringAt(status, "name"), host)),
    )
    .filter((row) => rowMatches(row, filter))
    .sort(
      (a, b) => compare(a.address, b.address) || a.port - b.port || compare(a.cluster, b.cluster),
    );
}

/** For `-o json`: the cluster statuses with at least one matching host, as istioctl prints them. */
export function selectClusterStatuses(
  statuses: readonly JsonObject[],
  filter: EndpointFilter,
): JsonObject[] {
  return statuses.filter((status) =>
    objectsAt(status, "host_statuses").some((host) =>
      rowMatches(endpointRow(stringAt(status, "name"), host), filter),
    ),
  );
}

export function renderEndpointsTable(rows: readonly EndpointRow[]): string {
  return formatTable(
    ENDPOINT_COLUMNS,
    rows.map((r) => [
      r.port !== 0 ? `${r.address}:${r.port}` : r.address,
      r.status,
      r.outlierCheck,
      r.cluster,
    ]),
  );
}
