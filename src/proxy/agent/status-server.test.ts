// The status server against a real app on loopback (127.47.2.0/24 is this file's).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../base/logger.ts";
import { parseAppProbers } from "./app-probers.ts";
import { type RunningStatusServer, startStatusServer } from "./status-server.ts";

const STATUS = "127.47.2.1";
const APP = "127.47.2.2";

let app: Server;
let appPort = 0;
let status: RunningStatusServer;
let ready: true | string = "proxy is INITIALIZING";

beforeAll(async () => {
  app = createServer((req, res) => {
    if (req.url === "/ready") res.writeHead(200).end(`host=${req.headers.host}`);
    else res.writeHead(500).end("sick");
  });
  appPort = await new Promise<number>((resolve) =>
    app.listen(0, APP, () => resolve((app.address() as AddressInfo).port)),
  );
  const parsed = parseAppProbers(
    JSON.stringify({
      "/app-health/web/readyz": { httpGet: { path: "/ready", port: appPort }, timeoutSeconds: 1 },
      "/app-health/web/livez": { tcpSocket: { port: appPort } },
      "/app-health/web/startupz": { httpGet: { path: "/sick", port: appPort } },
    }),
  );
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  status = await startStatusServer(
    { probers: parsed.probers, appAddress: APP, isReady: () => ready, logger: silentLogger() },
    { host: STATUS, port: 0 },
  );
});

afterAll(async () => {
  await status.close();
  app.close();
});

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${status.url}${path}`);
  return { status: res.status, body: await res.text() };
}

describe("the agent's status server", () => {
  it("answers /app-health paths with the app's probe", async () => {
    // The kubelet's Host names the status port; the app sees its own port instead.
    expect(await get("/app-health/web/readyz")).toEqual({
      status: 200,
      body: `host=${STATUS}:${appPort}`,
    });
    expect(await get("/app-health/web/livez")).toEqual({ status: 200, body: "" });
    expect(await get("/app-health/web/startupz")).toEqual({ status: 500, body: "sick" });
  });

  it("answers 400 for a prober path it was not given, 404 elsewhere", async () => {
    expect(await get("/app-health/other/readyz")).toEqual({
      status: 400,
      body: "no app prober is configured for /app-health/other/readyz\n",
    });
    expect((await get("/app-lifecycle/web/prestopz")).status).toBe(400);
    expect((await get("/")).status).toBe(404);
    expect((await get("/stats/prometheus")).status).toBe(404);
  });

  it("answers /healthz/ready as the readiness server does", async () => {
    ready = "proxy is INITIALIZING";
    expect(await get("/healthz/ready")).toEqual({ status: 503, body: "proxy is INITIALIZING" });
    ready = true;
    expect(await get("/healthz/ready")).toEqual({ status: 200, body: "" });
  });

  it("fails to start with a message naming the address when the port is taken", async () => {
    const options = { probers: new Map(), appAddress: APP, isReady: () => true as const };
    await expect(
      startStatusServer(
        { ...options, logger: silentLogger() },
        { host: STATUS, port: status.port },
      ),
    ).rejects.toThrow(
      `the agent's status server cannot listen on ${STATUS}:${status.port}: listen EADDRINUSE`,
    );
  });
});
