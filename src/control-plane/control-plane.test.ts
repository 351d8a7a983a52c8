import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../base/logger.ts";
import { XdsClient } from "../xds/client/index.ts";
import { TYPE_URL } from "../xds/type-urls.ts";
import { type ControlPlane, startControlPlane } from "./control-plane.ts";
import { translateProxy } from "./translate/translate-proxy.ts";

let controlPlane: ControlPlane;

const rule = (host: string, name = "reviews") =>
  `apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: ${name}, namespace: shop}\nspec:\n  host: ${host}\n`;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "crema-cp-"));
  writeFileSync(join(dir, "a.yaml"), rule("reviews"));
  controlPlane = await startControlPlane({
    configPaths: [dir],
    xdsAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    watch: false,
    translate: translateProxy,
    logger: silentLogger(),
  });
});

afterAll(() => controlPlane?.close());

const post = (path: string, body: string) =>
  fetch(`${controlPlane.httpUrl}${path}`, { method: "POST", body });

describe("control plane HTTP API", () => {
  it("applies valid resources and lists them in /debug/configz", async () => {
    const response = await post("/config/apply", rule("ratings", "ratings"));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      accepted: true,
      changed: ["DestinationRule/shop/ratings"],
    });
    const configz = (await (await fetch(`${controlPlane.httpUrl}/debug/configz`)).json()) as Array<{
      name: string;
    }>;
    expect(configz.map((r) => r.name).sort()).toEqual(["ratings", "reviews"]);
  });

  it("rejects invalid resources with 422 and every diagnostic, changing nothing", async () => {
    const response = await post(
      "/config/apply?source=bad.yaml",
      `${rule("ratings", "ratings")}  trafficPolicy: {loadBalancer: {simple: NOPE}}\n`,
    );
    expect(response.status).toBe(422);
    const outcome = (await response.json()) as {
      accepted: boolean;
      report: string;
      diagnostics: Array<{ code: string }>;
    };
    expect(outcome.accepted).toBe(false);
    expect(outcome.diagnostics.map((d) => d.code)).toContain("CREMA_SCHEMA_ENUM");
    expect(outcome.report).toContain("bad.yaml:");
  });

  it("deletes resources", async () => {
    const response = await post("/config/delete", rule("ratings", "ratings"));
    expect(await response.json()).toMatchObject({
      accepted: true,
      changed: ["DestinationRule/shop/ratings"],
    });
  });

  it("describes itself, answers readiness and metrics, and refuses wrong methods", async () => {
    const list = (await (await fetch(`${controlPlane.httpUrl}/debug/list`)).json()) as Array<{
      path: string;
    }>;
    expect(list.map((e) => e.path)).toEqual(
      expect.arrayContaining(["/config/apply", "/debug/syncz", "/debug/config_dump"]),
    );
    expect((await fetch(`${controlPlane.httpUrl}/ready`)).status).toBe(200);
    expect(await (await fetch(`${controlPlane.httpUrl}/metrics`)).text()).toContain(
      "pilot_proxy_convergence_time",
    );
    expect((await fetch(`${controlPlane.httpUrl}/config/apply`)).status).toBe(405);
    expect((await post("/debug/syncz", "")).status).toBe(405);
  });
});

describe("control plane convergence", () => {
  it("is converged only once every proxy has ACKed the push of the last change", async () => {
    const clusters = new Set<string>();
    const client = new XdsClient({
      serverAddress: controlPlane.xdsAddress,
      node: { id: "sidecar~127.0.31.201~probe.shop~shop.svc.cluster.local" },
      protocol: "sotw",
      logger: silentLogger(),
    });
    client.watch(TYPE_URL.cluster, {
      apply: (update) => {
        if (update.full) clusters.clear();
        for (const name of update.removed) clusters.delete(name);
        for (const name of update.added.keys()) clusters.add(name);
        return { errors: [] };
      },
    });
    const first = new Promise((resolve) => client.events.once("update", resolve));
    client.start();
    try {
      await first;
      await untilConverged();
      const entry = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments, namespace: shop}
spec:
  hosts: [payments.example.com]
  ports: [{number: 443, name: https, protocol: TLS}]
  resolution: DNS
`;
      expect((await post("/config/apply", entry)).status).toBe(200);
      // The push waits for 100 ms of quiet; until then the change is pending.
      expect(controlPlane.converged()).toBe(false);
      await untilConverged();
      expect(clusters).toContain("outbound|443||payments.example.com");
    } finally {
      await client.close();
    }
  });
});

async function untilConverged(): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!controlPlane.converged()) {
    if (Date.now() > deadline) throw new Error("the control plane never converged");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
