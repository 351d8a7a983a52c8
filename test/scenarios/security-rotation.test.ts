// Workload certificate rotation under load: two sidecars with a 4 s certificate lifetime
// (pilot-agent's SECRET_TTL) renew from the control plane's CA at half-life, again and again,
// while a client keeps sending requests over Istio mTLS on fresh connections — none may fail.
// Pods in 127.68.x.y.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  issueBootstrapToken,
  loadOrCreateBootstrapTokenKey,
} from "../../src/ca/bootstrap-token.ts";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  type ProxyProcess,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";

const SUBNET = 68;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const SLEEP = ip(9);
let mesh: Mesh;
let caDir: string;
let server: ProxyProcess;
let client: ProxyProcess;

const CONFIG = `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: ip(1), labels: { app: "echo" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: SLEEP, labels: { app: "sleep" } })}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: strict, namespace: default}
spec: {mtls: {mode: STRICT}}
`;

function call(): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: SLEEP, port: 15001, path: "http://echo/", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end();
  });
}

/** Certificates the sidecar's agent has installed: the first one, then each rotation. */
const issued = (proxy: ProxyProcess) =>
  proxy
    .logs()
    .split("\n")
    .filter((l) => /workload certificate (issued|rotated)/.test(l)).length;

beforeAll(async () => {
  caDir = mkdtempSync(join(tmpdir(), "crema-rotation-"));
  mesh = await startMesh(SUBNET, CONFIG, {
    controlPlaneArgs: ["--ca-dir", caDir, "--secure-xds-address", "127.0.0.1:0"],
  });
  const key = await loadOrCreateBootstrapTokenKey(caDir);
  const tokenFile = join(caDir, "token.jwt");
  writeFileSync(
    tokenFile,
    await issueBootstrapToken(key, { namespace: "default", serviceAccount: "default" }),
  );
  const certificates = [
    "--ca-address",
    mesh.controlPlane.secureXdsAddress!,
    "--ca-root-cert",
    join(caDir, "root-cert.pem"),
    "--token-file",
    tokenFile,
  ];
  const env = { SECRET_TTL: "4s" };
  await mesh.startEcho({ pod: "echo-1", ip: ip(1, 2) });
  server = await mesh.startProxy({
    pod: "echo-1",
    ip: ip(1),
    labels: { app: "echo" },
    appAddress: ip(1, 2),
    extraArgs: certificates,
    env,
  });
  client = await mesh.startProxy({
    pod: "sleep",
    ip: SLEEP,
    labels: { app: "sleep" },
    extraArgs: certificates,
    env,
  });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
  if (caDir) rmSync(caDir, { recursive: true, force: true });
});

describe("certificate rotation", () => {
  it("renews both sidecars' certificates repeatedly while requests keep succeeding over mTLS", async () => {
    const statuses: number[] = [];
    // Until each sidecar has renewed twice (three certificates). Renewal follows the clock (at
    // half of the 4 s lifetime), so the bound is time: a count of requests runs out sooner on a
    // fast machine.
    const giveUpAt = Date.now() + 40_000;
    while (Date.now() < giveUpAt && (issued(server) < 3 || issued(client) < 3))
      statuses.push(...(await Promise.all([call(), call(), call(), call()])));
    expect(issued(server)).toBeGreaterThanOrEqual(3);
    expect(issued(client)).toBeGreaterThanOrEqual(3);
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 60_000);
});
