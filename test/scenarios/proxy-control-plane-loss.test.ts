// A sidecar whose control plane goes away keeps serving its last good config, reconnects with
// back-off when the control plane returns, and takes the config that changed meanwhile — over
// state-of-the-world and delta xDS alike.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
  subsetsYaml,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 37;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const XDS_ADDRESS = `${ip(100)}:15010`;

const routeTo = (subset: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - route: [{destination: {host: echo, subset: ${subset}}}]
`;

const CONFIG = `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-v1", ip: ip(1), labels: { app: "echo", version: "v1" }, ports: [8080] })}---
${podYaml({ name: "echo-v2", ip: ip(2), labels: { app: "echo", version: "v2" }, ports: [8080] })}---
${podYaml({ name: "sotw", ip: ip(8), labels: { app: "sotw" } })}---
${podYaml({ name: "delta", ip: ip(9), labels: { app: "delta" } })}---
${subsetsYaml("echo")}`;

let mesh: Mesh;

/** The pod that answered a request for http://echo/ through the sidecar at `sidecarIp`. */
function podBehind(sidecarIp: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: sidecarIp, port: 15001, path: "http://echo/" }, (res) => {
      res.resume();
      res.once("end", () =>
        res.statusCode === 200
          ? resolve(String(res.headers["x-crema-pod"]))
          : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.once("error", reject);
    req.end();
  });
}

/** Asks every 50 ms until the answer is `pod`. The test waits four times: each wait is bounded
 * at 12 s so that together they stay inside the test's 60 s. */
async function eventuallyServedBy(sidecarIp: string, pod: string): Promise<void> {
  let last = "";
  await until(
    `${sidecarIp} is served by ${pod}`,
    async () => {
      last = await podBehind(sidecarIp);
      return last === pod;
    },
    { timeoutMs: 12_000, intervalMs: 50, detail: () => `still served by ${last}, expected ${pod}` },
  );
}

beforeAll(async () => {
  mesh = await startMesh(SUBNET, `${CONFIG}---\n${routeTo("v1")}`, { xdsAddress: XDS_ADDRESS });
  await mesh.startEcho({ pod: "echo-v1", ip: ip(1), version: "v1" });
  await mesh.startEcho({ pod: "echo-v2", ip: ip(2), version: "v2" });
  await mesh.startProxy({ pod: "sotw", ip: ip(8), labels: { app: "sotw" } });
  await mesh.startProxy({
    pod: "delta",
    ip: ip(9),
    labels: { app: "delta" },
    extraArgs: ["--xds-protocol", "delta"],
  });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
});

describe("losing the control plane", () => {
  it("keeps serving the last good config, then resumes with what changed meanwhile", async () => {
    expect(mesh.controlPlane.xdsAddress).toBe(XDS_ADDRESS);
    for (const sidecar of [ip(8), ip(9)]) await eventuallyServedBy(sidecar, "echo-v1");

    await mesh.stopControlPlane();
    for (let i = 0; i < 20; i++) {
      expect(await podBehind(ip(8))).toBe("echo-v1");
      expect(await podBehind(ip(9))).toBe("echo-v1");
    }

    mesh.apply("00-initial.yaml", `${CONFIG}---\n${routeTo("v2")}`);
    await mesh.startControlPlane();
    for (const sidecar of [ip(8), ip(9)]) await eventuallyServedBy(sidecar, "echo-v2");
    for (let i = 0; i < 10; i++) {
      expect(await podBehind(ip(8))).toBe("echo-v2");
      expect(await podBehind(ip(9))).toBe("echo-v2");
    }
  }, 60_000);
});
