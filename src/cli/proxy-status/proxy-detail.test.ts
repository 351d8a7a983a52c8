import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { ConnectionStatus } from "../../xds/server/types.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { renderProxyDetail, selectConnection } from "./proxy-detail.ts";
import { decodeSyncz } from "./status-table.ts";

const SYNCZ = decodeSyncz(
  JSON.parse(readFileSync(new URL("./testdata/syncz.json", import.meta.url), "utf8")),
  "syncz",
);
const SLEEP_ID = "sidecar~127.45.9.1~sleep.default~default.svc.cluster.local";

describe("proxy-status POD", () => {
  it("finds a proxy by pod name, pod.namespace or node ID", () => {
    for (const reference of ["sleep", "sleep.default", SLEEP_ID]) {
      expect(selectConnection(SYNCZ, reference).nodeId).toBe(SLEEP_ID);
    }
  });

  it("says which proxies a pod name is ambiguous between, and when none is connected", () => {
    const other = { ...SYNCZ[1]!, nodeId: "sidecar~127.45.9.2~sleep.shop~shop.svc.cluster.local" };
    expect(() => selectConnection([...SYNCZ, other], "sleep")).toThrow(
      expect.objectContaining({
        code: "CREMA_RUNTIME_POD_NOT_FOUND",
        message: expect.stringContaining("sleep.default, sleep.shop"),
      }),
    );
    expect(() => selectConnection(SYNCZ, "nobody")).toThrow(
      expect.objectContaining({ code: "CREMA_RUNTIME_POD_NOT_FOUND" }),
    );
  });

  it("takes the newest connection of a proxy that reconnected", () => {
    const sleep = selectConnection(SYNCZ, "sleep");
    const again = { ...sleep, id: "again", connectedAt: sleep.connectedAt + 1 };
    expect(selectConnection([sleep, again], "sleep.default").id).toBe("again");
  });

  it("shows each type's versions and nonces and that nothing was rejected", () => {
    const text = renderProxyDetail(selectConnection(SYNCZ, "sleep"), "127.0.0.1:15014");
    expect(text).toContain(
      "sleep.default     Kubernetes     SYNCED     SYNCED     SYNCED     SYNCED     NOT SENT",
    );
    expect(text).toContain(`Node ${SLEEP_ID}, connected from`);
    expect(text).toMatch(
      /^CDS {6}SYNCED {7}2b46ba3c85c4 {5}668ca26a-1 {5}668ca26a-1 {6}7 {13}\*$/m,
    );
    expect(text).toMatch(/^EDS .* 4 names$/m);
    expect(text).toMatch(/^ECDS {5}NOT SENT {5}- /m);
    expect(text).toContain("No NACK: the proxy accepted every response it answered.");
  });

  it("shows the last NACK of a type with the proxy's reason, and resources that fail to encode", () => {
    const sleep = selectConnection(SYNCZ, "sleep");
    const nacked: ConnectionStatus = {
      ...sleep,
      types: sleep.types.map((t) =>
        t.typeUrl === TYPE_URL.listener
          ? {
              ...t,
              lastSent: { ...t.lastSent!, version: "v2", nonce: "n-9" },
              lastNack: {
                version: "v2",
                nonce: "n-9",
                at: Date.parse("2026-12-07T06:30:00Z"),
                message: "0.0.0.0_80: unknown filter x\n0.0.0.0_81: bad port",
              },
              awaitingAnswer: false,
              encodeErrors: [{ resource: "0.0.0.0_82", message: "field too large" }],
            }
          : t,
      ),
    };
    const text = renderProxyDetail(nacked, "cp");
    expect(text).toMatch(/^LDS {6}STALE {8}v2 /m);
    expect(text).toContain(
      "LDS NACK of version v2 (nonce n-9) at 2026-12-07T06:30:00.000Z, the last response sent: the proxy keeps its last accepted config:\n  0.0.0.0_80: unknown filter x\n  0.0.0.0_81: bad port\n",
    );
    expect(text).toContain("LDS 0.0.0.0_82 cannot be encoded: field too large");
    expect(text).not.toContain("No NACK");
  });

  it("lists subscribed types beyond istioctl's columns by their short name", () => {
    const sleep = selectConnection(SYNCZ, "sleep");
    const withSds: ConnectionStatus = {
      ...sleep,
      types: [
        ...sleep.types,
        { typeUrl: TYPE_URL.secret, wildcard: false, names: ["default"], awaitingAnswer: false },
      ],
    };
    expect(renderProxyDetail(withSds, "cp")).toMatch(/^SDS {6}NOT SENT .* 1 name$/m);
  });
});
