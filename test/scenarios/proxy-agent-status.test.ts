// Istio's probe rewrite through a real `crema proxy`: the injector's ISTIO_KUBE_APP_PROBERS in
// the proxy's environment, the kubelet's GET on the agent's :15020, the original probe run
// against the app at --app-address.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";

const SUBNET = 47;
let mesh: Mesh;
let app: Server;
let statusUrl: string;

beforeAll(async () => {
  mesh = await startMesh(
    SUBNET,
    `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("web")}---
${podYaml({ name: "web-1", ip: `127.${SUBNET}.10.1`, labels: { app: "web" }, ports: [8080] })}`,
  );
  const podIp = mesh.ip(10, 1);
  const appIp = mesh.ip(10, 2);
  app = createServer((req, res) => {
    if (req.url === "/ready") res.writeHead(200).end(`ua=${req.headers["user-agent"]}`);
    else res.writeHead(503).end("warming up");
  });
  const appPort = await new Promise<number>((resolve) =>
    app.listen(0, appIp, () => resolve((app.address() as AddressInfo).port)),
  );
  const probers = {
    "/app-health/web/readyz": {
      httpGet: { path: "/ready", port: appPort, scheme: "HTTP" },
      timeoutSeconds: 1,
    },
    "/app-health/web/livez": { tcpSocket: { port: appPort }, timeoutSeconds: 1 },
    "/app-health/web/startupz": { httpGet: { path: "/started", port: appPort } },
  };
  await mesh.startProxy({
    pod: "web-1",
    ip: podIp,
    labels: { app: "web" },
    appAddress: appIp,
    env: { ISTIO_KUBE_APP_PROBERS: JSON.stringify(probers) },
  });
  statusUrl = `http://${podIp}:15020`;
}, 30_000);

afterAll(async () => {
  await mesh?.stop();
  app?.close();
});

async function kubelet(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${statusUrl}${path}`, { headers: { "user-agent": "kube-probe/1.33" } });
  return { status: res.status, body: await res.text() };
}

describe("the agent's status port (15020) of a running proxy", () => {
  it("runs the pod's original probes against the app", async () => {
    expect(await kubelet("/app-health/web/readyz")).toEqual({
      status: 200,
      body: "ua=kube-probe/1.33",
    });
    expect(await kubelet("/app-health/web/livez")).toEqual({ status: 200, body: "" });
    expect(await kubelet("/app-health/web/startupz")).toEqual({ status: 503, body: "warming up" });
    expect((await kubelet("/app-health/other/readyz")).status).toBe(400);
  });

  it("answers /healthz/ready as 15021 does", async () => {
    expect((await kubelet("/healthz/ready")).status).toBe(200);
  });

  it("refuses to start on a bad ISTIO_KUBE_APP_PROBERS, naming the problem", async () => {
    await expect(
      mesh.startProxy({
        pod: "bad-1",
        ip: mesh.ip(11, 1),
        env: { ISTIO_KUBE_APP_PROBERS: '{"/app-health/web/readyz":{"httpGet":{"port":"http"}}}' },
      }),
    ).rejects.toThrow(
      /exited with 2 before ready:[\s\S]*CREMA_PROXY_INVALID_FLAG: ISTIO_KUBE_APP_PROBERS is invalid:[\s\S]*httpGet\.port/,
    );
  });

  it("exits, naming the address, when the status port is taken", async () => {
    await expect(
      mesh.startProxy({
        pod: "taken-1",
        ip: mesh.ip(12, 1),
        extraArgs: ["--status-address", `${mesh.ip(10, 1)}:15020`],
      }),
    ).rejects.toThrow(
      new RegExp(
        `exited with 1 before ready:[\\s\\S]*crema: the agent's status server cannot listen on ${mesh.ip(10, 1)}:15020: listen EADDRINUSE`,
      ),
    );
  });

  it("fails the probes once the app is gone", async () => {
    await new Promise<void>((resolve) => {
      app.close(() => resolve());
      app.closeAllConnections();
    });
    const ready = await kubelet("/app-health/web/readyz");
    expect(ready.status).toBe(500);
    expect(ready.body).toContain("ECONNREFUSED");
    expect((await kubelet("/app-health/web/livez")).status).toBe(500);
  });
});
