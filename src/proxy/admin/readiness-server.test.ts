import { afterEach, describe, expect, it } from "vitest";
import { type RunningReadinessServer, startReadinessServer } from "./readiness-server.ts";

const running: RunningReadinessServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

async function start(isReady: () => true | string) {
  const server = await startReadinessServer(isReady, { host: "127.0.0.1", port: 0 });
  running.push(server);
  return server;
}

describe("readiness server", () => {
  it("answers 200 with an empty body once ready", async () => {
    const server = await start(() => true);
    const res = await fetch(`${server.url}/healthz/ready`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    expect(server.port).toBeGreaterThan(0);
  });

  it("answers 503 with the reason until then, and follows the check", async () => {
    let ready: true | string = "config not received from XDS server";
    const server = await start(() => ready);
    const before = await fetch(`${server.url}/healthz/ready`);
    expect(before.status).toBe(503);
    expect(await before.text()).toBe("config not received from XDS server");
    ready = true;
    expect((await fetch(`${server.url}/healthz/ready?x=1`)).status).toBe(200);
  });

  it("answers 503 when the check throws", async () => {
    const server = await start(() => {
      throw new Error("no listeners");
    });
    const res = await fetch(`${server.url}/healthz/ready`);
    expect(res.status).toBe(503);
    expect(await res.text()).toContain("no listeners");
  });

  it("answers 404 elsewhere", async () => {
    const server = await start(() => true);
    for (const path of ["/", "/healthz", "/healthz/ready/x", "/stats"]) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(404);
      await res.text();
    }
  });
});
