// `crema proxy-status` and `crema proxy-config` against a real control plane and a real
// sidecar: what a user sees once the proxy has ACKed its configuration — the istioctl-shaped
// tables, JSON/YAML output, filters — found directly (--control-plane, --admin) or through a
// local mesh's state directory, and the errors when something is not there.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CommanderError } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { describeError } from "../../src/base/errors.ts";
import { registerProxyConfigCommand } from "../../src/cli/commands/proxy-config.ts";
import { registerProxyStatusCommand } from "../../src/cli/commands/proxy-status.ts";
import type { CliIo } from "../../src/cli/io.ts";
import { buildProgram } from "../../src/cli/main.ts";
import type { PodStatus, RuntimeState } from "../../src/runtime/runtime-state.ts";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  type ProxyProcess,
  podYaml,
  serviceYaml,
  startMesh,
  subsetsYaml,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 45;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;

const CONFIG = `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${serviceYaml("db", { ports: [{ name: "tcp", port: 5432, targetPort: 5432 }] })}---
${podYaml({ name: "echo-v1", ip: ip(1), labels: { app: "echo", version: "v1" }, ports: [8080] })}---
${podYaml({ name: "echo-v2", ip: ip(2), labels: { app: "echo", version: "v2" }, ports: [8080] })}---
${podYaml({ name: "db-0", ip: ip(3), labels: { app: "db" }, ports: [5432] })}---
${podYaml({ name: "sleep", ip: ip(9), labels: { app: "sleep" } })}---
${subsetsYaml("echo")}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - match: [{uri: {regex: "/v2/.*"}}]
    route: [{destination: {host: echo, subset: v2}}]
  - route: [{destination: {host: echo, subset: v1}}]
`;

let mesh: Mesh;
let sleep: ProxyProcess;
/** A working directory without a local mesh in it. */
let emptyDir: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the two commands in-process the way `main` does, with what the user would see. */
async function crema(args: string[], cwd = emptyDir): Promise<Run> {
  let stdout = "";
  let stderr = "";
  let exit = 0;
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    readStdin: async () => "",
    cwd,
    env: {},
    exit: (code) => {
      exit = code;
    },
  };
  const program = buildProgram(io, [registerProxyStatusCommand, registerProxyConfigCommand]);
  try {
    await program.parseAsync(args, { from: "user" });
    return { code: exit, stdout, stderr };
  } catch (error) {
    if (error instanceof CommanderError)
      return { code: error.exitCode === 0 ? 0 : 2, stdout, stderr };
    return { code: 1, stdout, stderr: `${stderr}crema: ${describeError(error)}\n` };
  }
}

beforeAll(async () => {
  emptyDir = mkdtempSync(join(tmpdir(), "crema-cli-pc-"));
  mesh = await startMesh(SUBNET, CONFIG);
  await mesh.startEcho({ pod: "echo-v1", ip: ip(1), version: "v1" });
  await mesh.startEcho({ pod: "echo-v2", ip: ip(2), version: "v2" });
  sleep = await mesh.startProxy({ pod: "sleep", ip: ip(9), labels: { app: "sleep" } });
  // The control plane, until the sleep proxy has ACKed all four types (inside the hook's 30 s).
  let status = "";
  await until(
    "the sleep proxy ACKs its configuration",
    async () => {
      const run = await crema(["proxy-status", "--control-plane", mesh.controlPlane.httpUrl]);
      status = `${run.stdout}${run.stderr}`;
      return /^sleep\.default\s+\S+\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED\s/m.test(run.stdout);
    },
    { timeoutMs: 15_000, detail: () => `last proxy-status:\n${status}` },
  );
}, 30_000);

afterAll(async () => {
  await mesh?.stop();
  rmSync(emptyDir, { recursive: true, force: true });
});

const admin = () => ["--admin", sleep.adminUrl];

describe("crema proxy-status", () => {
  it("lists the sidecar with every type it ACKed SYNCED and ECDS NOT SENT", async () => {
    const run = await crema(["proxy-status", "--control-plane", mesh.controlPlane.httpUrl]);
    expect(run.code).toBe(0);
    const [header, ...rows] = run.stdout.trimEnd().split("\n");
    expect(header).toMatch(/^NAME\s+CLUSTER\s+CDS\s+LDS\s+EDS\s+RDS\s+ECDS\s+ISTIOD\s+VERSION$/);
    const host = new URL(mesh.controlPlane.httpUrl).host;
    expect(rows).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^sleep\\.default\\s+Kubernetes\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s+SYNCED\\s+NOT SENT\\s+${host}\\s+\\S+$`,
        ),
      ),
    );
  });

  it("shows one proxy's versions and nonces, and that it rejected nothing", async () => {
    const run = await crema(["ps", "sleep", "--control-plane", mesh.controlPlane.httpUrl]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^CDS\s+SYNCED\s+\S+\s+\S+\s+\S+\s+\d+\s+\*$/m);
    expect(run.stdout).toMatch(/^RDS\s+SYNCED\s+.*\s+2 names$/m);
    expect(run.stdout).toContain("No NACK: the proxy accepted every response it answered.");
  });

  it("says when no such proxy is connected", async () => {
    const run = await crema([
      "proxy-status",
      "nobody",
      "--control-plane",
      mesh.controlPlane.httpUrl,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("CREMA_RUNTIME_POD_NOT_FOUND: no proxy 'nobody' is connected");
  });
});

describe("crema proxy-config", () => {
  it("prints the clusters with their subsets and DestinationRule", async () => {
    const run = await crema(["proxy-config", "clusters", "sleep", ...admin()]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(
      /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+DESTINATION RULE$/,
    );
    for (const subset of ["-", "v1", "v2"]) {
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^echo\\.default\\.svc\\.cluster\\.local\\s+80\\s+${subset}\\s+outbound\\s+EDS\\s+echo\\.default$`,
          ),
        ),
      );
    }
    expect(lines).toContainEqual(
      expect.stringMatching(/^PassthroughCluster\s+-\s+-\s+-\s+ORIGINAL_DST$/),
    );
  });

  it("prints the filtered clusters as JSON", async () => {
    const run = await crema(["pc", "cluster", "sleep", "--subset", "v2", "-o", "json", ...admin()]);
    const clusters = JSON.parse(run.stdout) as { name: string; type: string }[];
    expect(clusters.map((c) => c.name)).toEqual(["outbound|80|v2|echo.default.svc.cluster.local"]);
    expect(clusters[0]).toMatchObject({ type: "EDS" });
    const fqdn = await crema(["pc", "c", "x", "--fqdn", "db.default", "-o", "json", ...admin()]);
    expect((JSON.parse(fqdn.stdout) as { name: string }[]).map((c) => c.name)).toEqual([
      "outbound|5432||db.default.svc.cluster.local",
    ]);
  });

  it("prints the listeners' filter chains with their match and destination", async () => {
    const run = await crema(["proxy-config", "listeners", "sleep", ...admin()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ADDRESSES\s+PORT\s+MATCH\s+DESTINATION$/m);
    expect(run.stdout).toMatch(
      /^0\.0\.0\.0\s+80\s+Trans: raw_buffer; App: http\/1\.1,h2c\s+Route: 80$/m,
    );
    expect(run.stdout).toMatch(/^0\.0\.0\.0\s+80\s+ALL\s+PassthroughCluster$/m);
    expect(run.stdout).toMatch(/^127\.45\.9\.1\s+15001\s+ALL\s+Route: 15001$/m);
    const tcp = await crema(["pc", "listener", "sleep", "--type", "TCP", ...admin()]);
    expect(tcp.stdout.trimEnd().split("\n").slice(1)).toEqual([
      expect.stringMatching(
        /^0\.0\.0\.0\s+5432\s+ALL\s+Cluster: outbound\|5432\|\|db\.default\.svc\.cluster\.local$/,
      ),
    ]);
  });

  it("prints the routes with their VirtualService, and one route configuration as YAML", async () => {
    const run = await crema(["proxy-config", "routes", "sleep", ...admin()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^80\s+echo\.default\.svc\.cluster\.local:80\s+echo, echo\.default\s+regex \/v2\/\.\*\s+echo\.default$/m,
    );
    expect(run.stdout).toMatch(
      /^80\s+echo\.default\.svc\.cluster\.local:80\s+echo, echo\.default\s+\/\*\s+echo\.default$/m,
    );
    const yaml = await crema(["pc", "r", "sleep", "--name", "80", "-o", "yaml", ...admin()]);
    const routes = parse(yaml.stdout) as { name: string; virtual_hosts: { name: string }[] }[];
    expect(routes.map((r) => r.name)).toEqual(["80"]);
    expect(routes[0]!.virtual_hosts.map((v) => v.name)).toContain(
      "echo.default.svc.cluster.local:80",
    );
  });

  it("prints the endpoints with their health, filtered by cluster", async () => {
    const run = await crema(["proxy-config", "endpoints", "sleep", ...admin()]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ENDPOINT\s+STATUS\s+OUTLIER CHECK\s+CLUSTER$/m);
    expect(run.stdout).toMatch(
      /^127\.45\.1\.1:8080\s+HEALTHY\s+OK\s+outbound\|80\|v1\|echo\.default\.svc\.cluster\.local$/m,
    );
    const v2 = await crema([
      "pc",
      "ep",
      "sleep",
      "--cluster",
      "outbound|80|v2|echo.default.svc.cluster.local",
      ...admin(),
    ]);
    expect(v2.stdout.trimEnd().split("\n").slice(1)).toEqual([
      expect.stringMatching(/^127\.45\.2\.1:8080\s+HEALTHY\s+OK\s+outbound\|80\|v2\|/),
    ]);
  });

  it("says the proxy holds no secrets yet, and prints everything with all", async () => {
    const secret = await crema(["proxy-config", "secret", "sleep", ...admin()]);
    expect(secret.stdout).toBe("No active or warming secrets found.\n");
    const all = await crema(["proxy-config", "all", "sleep", ...admin()]);
    for (const header of [/^SERVICE FQDN/m, /^ADDRESSES/m, /^NAME\s+VHOST NAME/m, /^ENDPOINT/m]) {
      expect(all.stdout).toMatch(header);
    }
    const dump = JSON.parse((await crema(["pc", "all", "sleep", "-o", "json", ...admin()])).stdout);
    expect(dump.configs.map((c: { "@type": string }) => c["@type"])).toContain(
      "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump",
    );
  });

  it("reports an unreachable admin server, and usage errors with exit code 2", async () => {
    const down = await crema(["pc", "clusters", "sleep", "--admin", `http://${ip(0, 250)}:15000`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(
      "CREMA_RUNTIME_REQUEST_FAILED: cannot reach the proxy's admin server",
    );
    expect((await crema(["pc", "clusters", "sleep", "-o", "xml", ...admin()])).code).toBe(2);
    expect((await crema(["pc", "clusters", "sleep", "--port", "http", ...admin()])).code).toBe(2);
    const noPod = await crema(["pc", "clusters"]);
    expect(noPod.code).toBe(2);
    expect(noPod.stderr).toContain("name a pod");
  });
});

describe("through a local mesh's state directory", () => {
  let stateDir: string;
  let api: Server;

  beforeAll(async () => {
    const pod = (name: string, podIP: string, adminUrl?: string): PodStatus => ({
      name,
      namespace: "default",
      deployment: name,
      labels: { app: name },
      serviceAccount: "default",
      podIP,
      appIP: podIP,
      ports: [],
      sidecar: adminUrl !== undefined,
      gateway: false,
      ready: true,
      restarts: 0,
      ...(adminUrl ? { adminUrl } : {}),
      env: {},
      containers: [],
    });
    const pods = [pod("echo-v1", ip(1)), pod("sleep", ip(9), sleep.adminUrl)];
    // The runtime's API as far as these commands use it: GET /pods.
    api = createServer((req, res) => {
      res.writeHead(req.url === "/pods" ? 200 : 404, { "content-type": "application/json" });
      res.end(req.url === "/pods" ? JSON.stringify(pods) : "{}");
    });
    await new Promise<void>((resolve) => api.listen(0, ip(0, 9), resolve));
    stateDir = mkdtempSync(join(tmpdir(), "crema-cli-pc-state-"));
    const state: RuntimeState = {
      pid: process.pid,
      apiUrl: `http://${ip(0, 9)}:${(api.address() as AddressInfo).port}`,
      controlPlaneUrl: mesh.controlPlane.httpUrl,
      xdsAddress: mesh.controlPlane.xdsAddress,
      ingress: {},
      startedAt: new Date().toISOString(),
    };
    writeFileSync(join(stateDir, "runtime.json"), JSON.stringify(state));
  });

  afterAll(async () => {
    await new Promise((resolve) => api?.close(resolve));
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("finds the control plane and the pod's proxy from --state-dir", async () => {
    const status = await crema(["proxy-status", "sleep", "--state-dir", stateDir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^sleep\.default\s+Kubernetes\s+SYNCED/m);
    const clusters = await crema([
      "proxy-config",
      "clusters",
      "sleep.default",
      "--state-dir",
      stateDir,
    ]);
    expect(clusters.code).toBe(0);
    expect(clusters.stdout).toMatch(/^echo\.default\.svc\.cluster\.local\s+80\s+v1\s+outbound/m);
  });

  it("says when a pod runs no proxy, or is not in the mesh", async () => {
    const noSidecar = await crema(["pc", "clusters", "echo-v1", "--state-dir", stateDir]);
    expect(noSidecar.code).toBe(1);
    expect(noSidecar.stderr).toContain(
      "CREMA_RUNTIME_POD_NOT_FOUND: pod echo-v1.default runs no proxy",
    );
    const missing = await crema(["pc", "routes", "nobody", "--state-dir", stateDir]);
    expect(missing.stderr).toContain("CREMA_RUNTIME_POD_NOT_FOUND");
  });

  it("says when no local mesh is running in the working directory", async () => {
    const run = await crema(["proxy-status"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("CREMA_RUNTIME_NOT_RUNNING");
  });
});
