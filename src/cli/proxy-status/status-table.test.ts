import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ConnectionStatus } from "../../xds/server/types.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import {
  buildStatusRow,
  buildStatusRows,
  decodeSyncz,
  renderStatusTable,
  splitNodeId,
  syncState,
} from "./status-table.ts";

/** `/debug/syncz` of a real control plane with two proxies that ACKed everything. */
const SYNCZ = decodeSyncz(
  JSON.parse(readFileSync(new URL("./testdata/syncz.json", import.meta.url), "utf8")),
  "syncz",
);
const sleep = SYNCZ.find((c) => c.nodeId.includes("~sleep.default~"))!;

/** The sleep proxy with one type's status replaced. */
function withType(typeUrl: string, change: (t: ConnectionStatus["types"][number]) => object) {
  return {
    ...sleep,
    types: sleep.types.map((t) => (t.typeUrl === typeUrl ? { ...t, ...change(t) } : t)),
  } as ConnectionStatus;
}

describe("proxy-status", () => {
  it("prints one row per proxy, SYNCED where the proxy ACKed, NOT SENT for ECDS", () => {
    expect(renderStatusTable(buildStatusRows(SYNCZ, "127.0.0.1:15014"))).toBe(
      [
        "NAME                CLUSTER        CDS        LDS        EDS        RDS        ECDS         ISTIOD              VERSION",
        "echo-v1.default     Kubernetes     SYNCED     SYNCED     SYNCED     SYNCED     NOT SENT     127.0.0.1:15014     0.1.0",
        "sleep.default       Kubernetes     SYNCED     SYNCED     SYNCED     SYNCED     NOT SENT     127.0.0.1:15014     0.1.0",
        "",
      ].join("\n"),
    );
  });

  it("is STALE while a response waits for its answer, and after a NACK (as Istio)", () => {
    const waiting = withType(TYPE_URL.routeConfiguration, (t) => ({
      lastSent: { ...t.lastSent!, nonce: "n-9", version: "v2" },
      awaitingAnswer: true,
    }));
    expect(buildStatusRow(waiting, "cp").states).toEqual([
      "SYNCED",
      "SYNCED",
      "SYNCED",
      "STALE",
      "NOT SENT",
    ]);
    const nacked = withType(TYPE_URL.listener, (t) => ({
      lastSent: { ...t.lastSent!, nonce: "n-9" },
      lastNack: { version: "v2", nonce: "n-9", at: 0, message: "bad listener" },
      awaitingAnswer: false,
    }));
    expect(buildStatusRow(nacked, "cp").states[1]).toBe("STALE");
  });

  it("is NOT SENT for a type subscribed to but never sent, IGNORED for what a ztunnel does not watch", () => {
    const unsent = withType(TYPE_URL.clusterLoadAssignment, () => ({ lastSent: undefined }));
    expect(buildStatusRow(unsent, "cp").states[2]).toBe("NOT SENT");
    expect(syncState(undefined, "ztunnel")).toBe("IGNORED");
    expect(syncState(undefined, "sidecar")).toBe("NOT SENT");
  });

  it("names a proxy pod.namespace, or by its whole ID when that is not Istio's shape", () => {
    expect(splitNodeId("router~10.0.0.1~gw-1.istio-system~istio-system.svc.cluster.local")).toEqual(
      { type: "router", podId: "gw-1.istio-system" },
    );
    const grpc = { ...sleep, nodeId: "grpc-client-1", node: { id: "grpc-client-1" } };
    expect(buildStatusRow(grpc, "cp")).toMatchObject({
      name: "grpc-client-1",
      cluster: "",
      version: "",
    });
  });

  it("marks a proxy without ISTIO_VERSION with its agent's version and a star", () => {
    const node = { id: sleep.nodeId, user_agent_version: "0.1.0", metadata: {} };
    expect(buildStatusRow({ ...sleep, node }, "cp").version).toBe("0.1.0*");
  });

  it("refuses a body that is not a list of connections", () => {
    expect(() => decodeSyncz({ proxies: [] }, "http://cp/debug/syncz")).toThrow(
      expect.objectContaining({ code: "CREMA_RUNTIME_REQUEST_FAILED" }),
    );
    expect(() => decodeSyncz([{ id: 1 }], "x")).toThrow(/sync status/);
    expect(decodeSyncz([], "x")).toEqual([]);
  });
});
