// What a user of `crema up` hits when something is wrong, and how the runtime recovers: invalid
// manifests are refused before anything starts, a taken host port and a command that does not
// exist are named, and a crashed container is restarted. Pods live in 127.52.0.0/16.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PodStatus } from "../../src/runtime/runtime-state.ts";
import { ownAddresses, runCrema } from "./support/crema-cli.ts";
import { until } from "./support/until.ts";

const POD_CIDR = "127.52.0.0/16";

const crema = (args: string[]) => runCrema(args);

const deployment = (name: string, command: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: default}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: main
          command: ${command}
`;

let dir: string;
const upArgs = (file: string, state: string) => [
  "up",
  file,
  "--detach",
  "--state-dir",
  join(dir, state),
  ...ownAddresses(POD_CIDR),
  "--timeout",
  "60s",
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "crema-up-errors-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("crema up refuses what it cannot run, before starting anything", () => {
  it("lists every invalid field with its file and line", async () => {
    const file = join(dir, "invalid.yaml");
    writeFileSync(
      file,
      `${deployment("web", '["node", "web.ts"]')}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: default}
spec:
  hosts: [web]
  http: [{route: [{destination: {host: web}, weight: -1}]}]
---
${deployment("db", "[]").replace("command: []", "image: postgres:16")}`,
    );
    const run = await crema(upArgs(file, "invalid"));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("CREMA_RUNTIME_INVALID_CONFIG");
    expect(run.stderr).toContain("invalid.yaml:");
    expect(run.stderr).toContain("weight");
    expect(run.stderr).toContain("container 'main' has no command");
  });

  it("names each problem of a --mesh-config file at its line, and starts nothing", async () => {
    const file = join(dir, "idle.yaml");
    writeFileSync(file, deployment("idle", '["sleep", "infinity"]'));
    const meshConfig = join(dir, "bad-mesh.yaml");
    writeFileSync(
      meshConfig,
      "accessLogEncoding: XML\nextensionProviders:\n- name: otel\n  opentelemetry: {service: otel, port: 99999}\n",
    );
    const run = await crema([...upArgs(file, "bad-mesh"), "--mesh-config", meshConfig]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("bad-mesh.yaml:4:");
    expect(run.stderr).toContain("meshConfig.extensionProviders[0].opentelemetry.port");
    expect(run.stderr).not.toContain("mesh ready");
  });

  it("names a host port that is taken and the flag to change it", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    const file = join(dir, "ok.yaml");
    writeFileSync(file, deployment("idle", '["sleep", "infinity"]'));
    const args = upArgs(file, "port-taken");
    args[args.indexOf("--ingress-port") + 1] = String(port);
    const run = await crema(args);
    taken.close();
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("CREMA_RUNTIME_PORT_IN_USE");
    expect(run.stderr).toContain("--ingress-port");
  });

  it("names a CA directory the control plane refuses, and stops instead of hanging", async () => {
    const file = join(dir, "ca.yaml");
    writeFileSync(file, deployment("idle", '["sleep", "infinity"]'));
    // The mesh's CA keeps its root in <state>/ca: a certificate whose key is gone is refused.
    mkdirSync(join(dir, "bad-ca", "ca"), { recursive: true });
    writeFileSync(join(dir, "bad-ca", "ca", "ca-cert.pem"), "(its key is missing)\n");
    const run = await crema(upArgs(file, "bad-ca"));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("CREMA_CA_INVALID_FILE");
    expect(run.stderr).toContain("ca-key.pem is missing");
  });

  it("names a command that does not exist, with the pod, and stops the mesh", async () => {
    const file = join(dir, "missing.yaml");
    writeFileSync(file, deployment("ghost", '["no-such-command-anywhere"]'));
    const run = await crema(upArgs(file, "missing"));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("CREMA_RUNTIME_POD_NOT_READY");
    expect(run.stderr).toContain("command 'no-such-command-anywhere' not found");
    const status = await crema(["status", "--state-dir", join(dir, "missing")]);
    expect(status.stderr).toContain("CREMA_RUNTIME_NOT_RUNNING");
  });
});

describe("a container that exits", () => {
  const state = () => join(dir, "restart");
  beforeAll(async () => {
    const file = join(dir, "restart.yaml");
    writeFileSync(file, deployment("worker", '["sleep", "infinity"]'));
    const run = await crema(upArgs(file, "restart"));
    expect(run.code, run.stderr).toBe(0);
  }, 90_000);
  afterAll(() => crema(["down", "--state-dir", state()]), 60_000);

  it("is restarted, and the pod counts the restart", async () => {
    const pods = async (): Promise<PodStatus[]> =>
      JSON.parse((await crema(["status", "-o", "json", "--state-dir", state()])).stdout).pods;
    const worker = (await pods()).find((p) => p.deployment === "worker")!;
    const app = worker.containers.find((c) => c.kind === "app")!;
    process.kill(app.pid!, "SIGKILL");
    let after: PodStatus | undefined;
    // While its container is down (a second of back-off), the pod is never shown ready.
    const whileDown: boolean[] = [];
    await until(
      "the worker is restarted and ready",
      async () => {
        after = (await pods()).find((p) => p.deployment === "worker");
        if (after?.containers.some((c) => c.kind === "app" && !c.running))
          whileDown.push(after.ready);
        return after?.restarts === 1 && after.ready;
      },
      { detail: () => `last status: ${JSON.stringify(after)}` },
    );
    expect(whileDown.length).toBeGreaterThan(0);
    expect(whileDown.every((ready) => !ready)).toBe(true);
    expect(after).toMatchObject({ restarts: 1, ready: true });
    const restarted = after!.containers.find((c) => c.kind === "app")!;
    expect(restarted.pid).not.toBe(app.pid);
    expect(restarted.lastExit).toBe("killed by SIGKILL");
  });
});
