// `proxy-status POD`: istioctl diffs the proxy's config dump against the control plane's; crema
// shows, for that one proxy, its status row, each type's version and nonces sent and ACKed, and
// the last NACK of each type with the proxy's reason (plus resources that failed to encode).
import { CremaError } from "../../base/errors.ts";
import type { ConnectionStatus, TypeStatus } from "../../xds/server/types.ts";
import { shortTypeName } from "../../xds/type-urls.ts";
import { formatTable } from "../table.ts";
import {
  buildStatusRow,
  renderStatusTable,
  STATUS_TYPES,
  splitNodeId,
  syncState,
} from "./status-table.ts";

export const DETAIL_COLUMNS = [
  "TYPE",
  "STATUS",
  "VERSION SENT",
  "NONCE SENT",
  "NONCE ACKED",
  "RESOURCES",
  "SUBSCRIBED",
] as const;

/**
 * The connection of the proxy `reference` names: its node ID, `pod.namespace`, or a pod name
 * found in one namespace only. With several connections for one proxy, the newest.
 */
export function selectConnection(
  connections: readonly ConnectionStatus[],
  reference: string,
): ConnectionStatus {
  const byPodId = connections.filter(
    (c) => c.nodeId === reference || splitNodeId(c.nodeId).podId === reference,
  );
  const byName =
    byPodId.length > 0
      ? byPodId
      : connections.filter((c) => {
          const podId = splitNodeId(c.nodeId).podId;
          return podId.slice(0, Math.max(podId.lastIndexOf("."), 0)) === reference;
        });
  const ids = [...new Set(byName.map((c) => splitNodeId(c.nodeId).podId))];
  if (ids.length > 1) {
    throw new CremaError(
      "CREMA_RUNTIME_POD_NOT_FOUND",
      `'${reference}' names several connected proxies (${ids.join(", ")}): write it as <pod>.<namespace>`,
    );
  }
  const newest = byName.sort((a, b) => b.connectedAt - a.connectedAt)[0];
  if (!newest) {
    throw new CremaError(
      "CREMA_RUNTIME_POD_NOT_FOUND",
      `no proxy '${reference}' is connected to the control plane; 'crema proxy-status' lists them`,
    );
  }
  return newest;
}

function subscribed(status: TypeStatus | undefined): string {
  if (!status) return "-";
  const names = status.names.length;
  const list = names === 1 ? "1 name" : `${names} names`;
  if (status.wildcard) return names > 0 ? `* + ${list}` : "*";
  return list;
}

function typeRow(column: string, status: TypeStatus | undefined, nodeType: string): string[] {
  return [
    column,
    syncState(status, nodeType),
    status?.lastSent?.version || "-",
    status?.lastSent?.nonce || "-",
    status?.lastAck?.nonce || "-",
    status?.lastSent ? String(status.lastSent.resources) : "-",
    subscribed(status),
  ];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The NACK and encode-error lines of one type. */
function problems(column: string, status: TypeStatus): string[] {
  const lines: string[] = [];
  const nack = status.lastNack;
  if (nack) {
    const current = nack.nonce === status.lastSent?.nonce;
    lines.push(
      `${column} NACK of version ${nack.version} (nonce ${nack.nonce}) at ${iso(nack.at)}${
        current ? ", the last response sent: the proxy keeps its last accepted config" : ""
      }:`,
      ...nack.message.split("\n").map((line) => `  ${line}`),
    );
  }
  for (const failure of status.encodeErrors ?? []) {
    lines.push(`${column} ${failure.resource} cannot be encoded: ${failure.message}`);
  }
  return lines;
}

export function renderProxyDetail(connection: ConnectionStatus, istiod: string): string {
  const { type: nodeType } = splitNodeId(connection.nodeId);
  const byType = new Map(connection.types.map((t) => [t.typeUrl, t]));
  const known = new Set<string>(STATUS_TYPES.map((t) => t.typeUrl));
  const columns: [string, TypeStatus | undefined][] = [
    ...STATUS_TYPES.map(({ column, typeUrl }): [string, TypeStatus | undefined] => [
      column,
      byType.get(typeUrl),
    ]),
    ...connection.types
      .filter((t) => !known.has(t.typeUrl))
      .map((t): [string, TypeStatus] => [shortTypeName(t.typeUrl), t]),
  ];
  let out = renderStatusTable([buildStatusRow(connection, istiod)]);
  out += `\nNode ${connection.nodeId}, connected from ${connection.peer} (${connection.protocol}) since ${iso(connection.connectedAt)}\n\n`;
  out += formatTable(
    DETAIL_COLUMNS,
    columns.map(([column, status]) => typeRow(column, status, nodeType)),
  );
  const lines = columns.flatMap(([column, status]) => (status ? problems(column, status) : []));
  out +=
    lines.length > 0
      ? `\n${lines.join("\n")}\n`
      : "\nNo NACK: the proxy accepted every response it answered.\n";
  return out;
}
