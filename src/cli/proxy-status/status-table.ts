// `proxy-status`: one row per proxy connected to the control plane, from its `/debug/syncz`,
// as istioctl prints it — per xDS type SYNCED (the last response sent was ACKed), STALE (sent,
// not ACKed yet, or NACKed: Istio keeps the acked nonce on a NACK), NOT SENT (nothing sent),
// IGNORED (a type a ztunnel does not watch).
import { CremaError } from "../../base/errors.ts";
import type { ConnectionStatus, TypeStatus } from "../../xds/server/types.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { formatTable } from "../table.ts";

export type SyncState = "SYNCED" | "STALE" | "NOT SENT" | "IGNORED";

/** ECDS (Wasm and other extension configs); crema's control plane does not serve it yet. */
export const EXTENSION_CONFIG_TYPE_URL =
  "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";

/** The columns istioctl shows, in its order. */
export const STATUS_TYPES = [
  { column: "CDS", typeUrl: TYPE_URL.cluster },
  { column: "LDS", typeUrl: TYPE_URL.listener },
  { column: "EDS", typeUrl: TYPE_URL.clusterLoadAssignment },
  { column: "RDS", typeUrl: TYPE_URL.routeConfiguration },
  { column: "ECDS", typeUrl: EXTENSION_CONFIG_TYPE_URL },
] as const;

export const STATUS_COLUMNS = [
  "NAME",
  "CLUSTER",
  ...STATUS_TYPES.map((t) => t.column),
  "ISTIOD",
  "VERSION",
] as const;

export interface ProxyStatusRow {
  /** `pod.namespace`, or the whole node ID when it is not Istio-shaped. */
  name: string;
  /** The proxy's CLUSTER_ID (Kubernetes unless set). */
  cluster: string;
  states: SyncState[];
  /** The control plane the proxy is connected to. */
  istiod: string;
  version: string;
}

/** The body of `/debug/syncz`; throws CREMA_RUNTIME_REQUEST_FAILED when it is something else. */
export function decodeSyncz(body: unknown, source: string): ConnectionStatus[] {
  const valid =
    Array.isArray(body) &&
    body.every(
      (c) =>
        typeof c === "object" &&
        c !== null &&
        typeof (c as ConnectionStatus).nodeId === "string" &&
        Array.isArray((c as ConnectionStatus).types),
    );
  if (!valid) {
    throw new CremaError(
      "CREMA_RUNTIME_REQUEST_FAILED",
      `${source} did not answer with crema's sync status (a list of connections)`,
    );
  }
  return body as ConnectionStatus[];
}

/** `type~ip~pod.namespace~domain` → its parts; any other ID is only a name. */
export function splitNodeId(nodeId: string): { type: string; podId: string } {
  const parts = nodeId.split("~");
  return parts.length === 4 && parts[2]
    ? { type: parts[0]!, podId: parts[2] }
    : { type: "", podId: nodeId };
}

/** Istio's debugSyncStatus: compares the nonce sent with the nonce ACKed. */
export function syncState(status: TypeStatus | undefined, nodeType: string): SyncState {
  if (!status) return nodeType === "ztunnel" ? "IGNORED" : "NOT SENT";
  const sent = status.lastSent?.nonce;
  if (!sent) return "NOT SENT";
  return status.lastAck?.nonce === sent ? "SYNCED" : "STALE";
}

function metadataString(connection: ConnectionStatus, key: string): string {
  const metadata = connection.node?.metadata;
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) return "";
  const value = metadata[key];
  return typeof value === "string" ? value : "";
}

/** The proxy's Istio version; without one, its agent's version marked `*` (as istioctl does). */
function proxyVersion(connection: ConnectionStatus): string {
  const version = metadataString(connection, "ISTIO_VERSION");
  if (version !== "") return version;
  const agent = connection.node?.user_agent_version;
  return typeof agent === "string" && agent !== "" ? `${agent}*` : "";
}

export function buildStatusRow(connection: ConnectionStatus, istiod: string): ProxyStatusRow {
  const { type, podId } = splitNodeId(connection.nodeId);
  const byType = new Map(connection.types.map((t) => [t.typeUrl, t]));
  return {
    name: podId,
    cluster: metadataString(connection, "CLUSTER_ID"),
    states: STATUS_TYPES.map(({ typeUrl }) => syncState(byType.get(typeUrl), type)),
    istiod,
    version: proxyVersion(connection),
  };
}

/** Rows sorted by proxy name, as istioctl sorts them. */
export function buildStatusRows(
  connections: readonly ConnectionStatus[],
  istiod: string,
): ProxyStatusRow[] {
  return connections
    .map((c) => buildStatusRow(c, istiod))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function renderStatusTable(rows: readonly ProxyStatusRow[]): string {
  return formatTable(
    STATUS_COLUMNS,
    rows.map((r) => [r.name, r.cluster, ...r.states, r.istiod, r.version]),
  );
}
