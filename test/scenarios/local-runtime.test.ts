// The local runtime end to end, through the CLI a user types: `crema up --detach` runs
// Deployments as pods (sidecars where injection applies, a node forwarder for the others, the
// ingress gateway on a host port), `crema exec` calls services from inside a pod, `crema apply`
// changes routing and scales Deployments live, and `crema down` leaves nothing behind.
// Pods live in 127.50.0.0/16, which only this file uses.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PodStatus } from "../../src/runtime/runtime-state.ts";
import { meshSynced, ownAddresses, runCrema } from "./support/crema-cli.ts";
import { until } from "./support/until.ts";

const POD_CIDR = "127.50.0.0/16";

const crema = (args: string[]) => runCrema(args);

const MANIFESTS = `apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo-v1, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo, version: v1}}
  template:
    metadata: {labels: {app: echo, version: v1}}
    spec:
      containers:
        - name: echo
          command: ["crema", "echo"]
          env: [{name: SERVICE_VERSION, value: v1}]
          ports: [{containerPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo-v2, namespace: shop}
spec:
  selector: {matchLabels: {app: echo, version: v2}}
  template:
    metadata: {labels: {app: echo, version: v2}}
    spec:
      containers:
        - name: echo
          command: ["crema", "echo"]
          env: [{name: SERVICE_VERSION, value: v2}]
          ports: [{containerPort: 8080}]
          readinessProbe: {httpGet: {path: /, port: 8080}}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: shop}
spec:
  selector: {app: echo}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleep, namespace: shop}
spec:
  selector: {matchLabels: {app: sleep}}
  template:
    metadata: {labels: {app: sleep}}
    spec:
      containers: [{name: sleep, command: ["sleep", "infinity"]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client, namespace: legacy}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers: [{name: client, command: ["sleep", "infinity"]}]
`;

const ROUTE_TO_V2 = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: shop}
spec:
  host: echo
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: shop}
spec:
  hosts: [echo]
  http:
    - route: [{destination: {host: echo, subset: v2}}]
`;

const INGRESS = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
    - port: {number: 80, name: http, protocol: HTTP}
      hosts: ["echo.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: shop}
spec:
  hosts: ["echo.example.com"]
  gateways: [web]
  http:
    - route: [{destination: {host: echo.shop.svc.cluster.local, port: {number: 80}}}]
`;

let dir: string;
let stateDir: string;
const stateArgs = () => ["--state-dir", stateDir];

async function status(): Promise<{ ingress: { http?: string }; pods: PodStatus[] }> {
  const run = await crema(["status", "-o", "json", ...stateArgs()]);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

/** What `crema exec POD -- curl URL` prints: the echo's JSON answer. */
async function curlFrom(pod: string, url: string, ...extra: string[]) {
  const run = await crema(["exec", pod, ...stateArgs(), "--", "curl", "-s", "-f", ...extra, url]);
  expect(run.code, `${run.stdout}${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as {
    pod: string;
    version: string;
    headers: Record<string, string>;
  };
}

/** GET / on the host's 127.0.0.1:port with a Host header (fetch would not send our Host). */
/** 0 when the connection fails: the gateway may not listen yet (the host port then resets). */
function getStatus(port: number, host: string): Promise<number> {
  return new Promise((resolve) => {
    get({ host: "127.0.0.1", port, path: "/", headers: { host } }, (res) => {
      res.resume();
      res.once("end", () => resolve(res.statusCode ?? 0));
    }).once("error", () => resolve(0));
  });
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** `crema up --detach` of the test's manifests, on ports and addresses of its own. */
const upDetached = () => [
  "up",
  join(dir, "app.yaml"),
  "--detach",
  ...stateArgs(),
  ...ownAddresses(POD_CIDR),
];

describe("crema up: a local mesh from manifests", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "crema-up-"));
    stateDir = join(dir, "state");
    writeFileSync(join(dir, "app.yaml"), MANIFESTS);
    const up = await crema(upDetached());
    expect(up.code, `${up.stdout}${up.stderr}`).toBe(0);
    expect(up.stdout).toContain("mesh ready");
  }, 120_000);

  afterAll(async () => {
    await crema(["down", ...stateArgs()]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("runs every replica as a ready pod on its own loopback address, with sidecars where injected", async () => {
    const { pods } = await status();
    const byDeployment = (name: string) => pods.filter((p) => p.deployment === name);
    expect(byDeployment("echo-v1")).toHaveLength(2);
    expect(pods.every((p) => p.ready)).toBe(true);
    expect(new Set(pods.map((p) => p.podIP)).size).toBe(pods.length);
    expect(pods.every((p) => p.podIP.startsWith("127.50."))).toBe(true);
    expect(byDeployment("sleep")[0]!.sidecar).toBe(true);
    expect(byDeployment("client")[0]!.sidecar).toBe(false);
    // Sidecars start from the cached CLI bundle, not from crema's separate modules.
    const proxy = byDeployment("sleep")[0]!.containers.find((c) => c.name === "istio-proxy")!;
    const argv = readFileSync(`/proc/${proxy.pid}/cmdline`, "utf8").split("\0");
    const bundled = argv.find((arg) => /\/cli-bundle\/[0-9a-f]{16}\/run\.js$/.test(arg));
    expect(bundled, argv.join(" ")).toBeDefined();
    // echo-v2's readiness probe was rewritten through its agent, as Istio's injector does.
    const v2 = byDeployment("echo-v2")[0]!;
    const probe = await fetch(`http://${v2.podIP}:15020/app-health/echo/readyz`);
    expect(probe.status).toBe(200);
    const gateway = byDeployment("istio-ingressgateway")[0]!;
    expect(gateway.gateway).toBe(true);
    expect(gateway.namespace).toBe("istio-system");
  });

  it("lets an injected pod call a service by name through its sidecar (curl and Node's fetch)", async () => {
    const answer = await curlFrom("sleep", "http://echo/");
    expect(answer.version).toMatch(/^v[12]$/);
    // The sidecar added Envoy's request id on the way.
    expect(answer.headers["x-request-id"]).toBeTruthy();
    const fetched = await crema([
      "exec",
      "sleep.shop",
      ...stateArgs(),
      "--",
      "node",
      "-e",
      "fetch('http://echo.shop/').then(r => r.json()).then(b => console.log(b.version))",
    ]);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout.trim()).toMatch(/^v[12]$/);
  });

  it("lets a pod without a sidecar reach an injected pod in plaintext (PERMISSIVE)", async () => {
    const answer = await curlFrom("client.legacy", "http://echo.shop/");
    expect(answer.version).toMatch(/^v[12]$/);
    // Nothing mesh-managed on the client's side: no sidecar added a request id before the server's.
    expect(answer.pod).toMatch(/^echo-v[12]-/);
  });

  it("changes routing live with crema apply, and rejects an invalid change keeping the last good one", async () => {
    const file = join(dir, "v2.yaml");
    writeFileSync(file, ROUTE_TO_V2);
    const applied = await crema(["apply", "-f", file, ...stateArgs()]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain("VirtualService/shop/echo configured");
    // Pushes are asynchronous: poll what the user would poll until every answer is v2. The
    // DestinationRule's subsets arrive with the route that uses them, so until the new cluster
    // is warm a request may fail (503 NC, as with Istio: hence its "make before break" advice);
    // a failure counts as "not yet".
    let versions: string[] = [];
    await until(
      "five answers in a row are v2",
      async () => {
        versions = [];
        for (let n = 0; n < 5; n++) {
          const run = await crema([
            "exec",
            "sleep",
            ...stateArgs(),
            "--",
            "curl",
            "-s",
            "http://echo/",
          ]);
          versions.push(
            run.code === 0 && run.stdout.startsWith("{")
              ? JSON.parse(run.stdout).version
              : `(${run.code}) ${run.stdout.slice(0, 80)}`,
          );
        }
        return versions.every((v) => v === "v2");
      },
      { timeoutMs: 15_000, detail: () => `last answers: ${versions.join(", ")}` },
    );

    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, ROUTE_TO_V2.replace("subset: v2}}]", "subset: v2}, weight: -5}]"));
    const rejected = await crema(["apply", "-f", bad, ...stateArgs()]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain("bad.yaml");
    expect(rejected.stderr).toContain("weight");
    expect((await curlFrom("sleep", "http://echo/")).version).toBe("v2");

    const deleted = await crema(["delete", "-f", file, ...stateArgs()]);
    expect(deleted.code, deleted.stderr).toBe(0);
  });

  it("crema apply --wait returns once every proxy has the change", async () => {
    const file = join(dir, "v1.yaml");
    writeFileSync(file, ROUTE_TO_V2.replace("subset: v2}}]", "subset: v1}}]"));
    const applied = await crema(["apply", "-f", file, "--wait", ...stateArgs()]);
    expect(applied.code, applied.stderr).toBe(0);
    // No polling: the push the change caused has been ACKed by every proxy, sleep's included.
    // Without --wait the control plane would still be waiting out its 100 ms debounce here.
    expect(await meshSynced(stateDir)).toBe(true);
    for (let n = 0; n < 5; n++)
      expect((await curlFrom("sleep", "http://echo/")).version).toBe("v1");
    const deleted = await crema(["delete", "-f", file, "--wait", ...stateArgs()]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(await meshSynced(stateDir)).toBe(true);
  });

  it("publishes the ingress gateway on a host port", async () => {
    const file = join(dir, "ingress.yaml");
    writeFileSync(file, INGRESS);
    expect((await crema(["apply", "-f", file, ...stateArgs()])).code).toBe(0);
    const { ingress } = await status();
    expect(ingress.http).toMatch(/^http:\/\/localhost:\d+$/);
    const port = Number(new URL(ingress.http!).port);
    let statusCode = 0;
    // `crema apply` does not wait for the gateway to get its listener: poll until it answers.
    await until(
      "the ingress gateway answers 200",
      async () => {
        statusCode = await getStatus(port, "echo.example.com");
        return statusCode === 200;
      },
      { timeoutMs: 15_000, intervalMs: 50, detail: () => `last status: ${statusCode}` },
    );
  });

  it("scales a Deployment with crema apply, removes it with crema delete, and crema logs shows a pod's output", async () => {
    const file = join(dir, "scaled.yaml");
    writeFileSync(
      file,
      MANIFESTS.split("---\n")
        .find((doc) => doc.includes("name: echo-v2"))!
        .replace("spec:\n  selector", "spec:\n  replicas: 2\n  selector"),
    );
    expect((await crema(["apply", "-f", file, ...stateArgs()])).code).toBe(0);
    // Two waits of up to 10 s each inside the test's 30 s.
    let v2: PodStatus[] = [];
    const echoV2 = async () => {
      v2 = (await status()).pods.filter((p) => p.deployment === "echo-v2");
      return v2;
    };
    const lastV2 = () => `last echo-v2 pods: ${JSON.stringify(v2)}`;
    await until(
      "echo-v2 runs two ready pods",
      async () => (await echoV2()).length === 2 && v2.every((p) => p.ready),
      { timeoutMs: 10_000, detail: lastV2 },
    );

    // Deleting the Deployment stops its pods.
    expect((await crema(["delete", "-f", file, ...stateArgs()])).code).toBe(0);
    await until("echo-v2's pods are gone", async () => (await echoV2()).length === 0, {
      timeoutMs: 10_000,
      detail: lastV2,
    });

    const logs = await crema(["logs", "sleep", "-c", "proxy", ...stateArgs()]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain("proxy");
  });

  it("refuses to crema apply a bare Pod it cannot run, as crema up does", async () => {
    const file = join(dir, "bare-pod.yaml");
    writeFileSync(
      file,
      "apiVersion: v1\nkind: Pod\nmetadata: {name: lonely, namespace: default}\nspec:\n  containers: [{name: app, command: [sleep, infinity]}]\n",
    );
    const rejected = await crema(["apply", "-f", file, ...stateArgs()]);
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain("bare-pod.yaml");
    expect(rejected.stderr).toContain("the local runtime runs Deployments, not bare Pods");
    expect((await status()).pods.some((p) => p.name === "lonely")).toBe(false);
  });

  it("follows a container's output with crema logs -f", async () => {
    const file = join(dir, "ticker.yaml");
    writeFileSync(
      file,
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: ticker, namespace: plain}
spec:
  selector: {matchLabels: {app: ticker}}
  template:
    metadata: {labels: {app: ticker}}
    spec:
      containers:
        - name: ticker
          command: ["node", "-e", "let n = 0; setInterval(() => console.log('tick', ++n), 100)"]
`,
    );
    expect((await crema(["apply", "-f", file, ...stateArgs()])).code).toBe(0);
    let ticker: PodStatus | undefined;
    await until(
      "the ticker pod is ready",
      async () => {
        ticker = (await status()).pods.find((p) => p.deployment === "ticker");
        return ticker?.ready;
      },
      { timeoutMs: 15_000, detail: () => `last status: ${JSON.stringify(ticker)}` },
    );
    // Lines written after `logs -f` started reach it: wait until it has printed tick 30.
    const follower = spawn(
      process.execPath,
      ["bin/crema.js", "logs", "ticker.plain", "-f", ...stateArgs()],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const seen = await new Promise<string>((resolve, reject) => {
      let out = "";
      follower.stdout!.setEncoding("utf8");
      follower.stdout!.on("data", (chunk: string) => {
        out += chunk;
        if (/tick 30\b/.test(out)) resolve(out);
      });
      follower.once("exit", (code) => reject(new Error(`crema logs -f exited ${code}: ${out}`)));
    });
    follower.kill("SIGTERM");
    expect(seen).toMatch(/tick 1\b/);
    expect((await crema(["delete", "-f", file, ...stateArgs()])).code).toBe(0);
  });

  it("starts the egress gateway once a Gateway selects it", async () => {
    const file = join(dir, "egress.yaml");
    writeFileSync(
      file,
      `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress, namespace: istio-system}
spec:
  selector: {istio: egressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`,
    );
    expect((await crema(["apply", "-f", file, ...stateArgs()])).code).toBe(0);
    let egress: PodStatus | undefined;
    await until(
      "the egress gateway is ready",
      async () => {
        egress = (await status()).pods.find((p) => p.deployment === "istio-egressgateway");
        return egress?.ready;
      },
      { detail: () => `last status: ${JSON.stringify(egress)}` },
    );
    expect(egress).toMatchObject({ namespace: "istio-system", gateway: true, ready: true });
  });

  it("shows each proxy's sync state and configuration the way istioctl does", async () => {
    // The tests before changed the mesh; its last push may still be on its way.
    await until("the mesh is synced", () => meshSynced(stateDir));
    const ps = await crema(["proxy-status", ...stateArgs()]);
    expect(ps.code, ps.stderr).toBe(0);
    const sleepRow = ps.stdout.split("\n").find((line) => line.startsWith("sleep-"));
    expect(sleepRow).toMatch(/\.shop\s+Kubernetes\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/);
    const clusters = await crema(["proxy-config", "clusters", "sleep.shop", ...stateArgs()]);
    expect(clusters.code, clusters.stderr).toBe(0);
    expect(clusters.stdout).toMatch(/echo\.shop\.svc\.cluster\.local\s+80\s+-\s+outbound\s+EDS/);
  });

  it("refuses a second crema up --detach in the same state dir, and leaves the mesh and its log alone", async () => {
    const logFile = join(stateDir, "runtime.log");
    const logBefore = readFileSync(logFile, "utf8");
    const again = await crema(upDetached());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("CREMA_RUNTIME_ALREADY_RUNNING");
    expect(again.stdout).not.toContain("mesh ready");
    expect(readFileSync(logFile, "utf8").startsWith(logBefore)).toBe(true);
    expect((await status()).pods.every((p) => p.ready)).toBe(true);
  });

  it("runs crema exec with the pod's first container's environment, and says which pod a Deployment of several gave", async () => {
    const run = await crema([
      "exec",
      "echo-v1",
      ...stateArgs(),
      "--",
      "printenv",
      "SERVICE_VERSION",
      "PORT",
    ]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("v1\n8080\n");
    expect(run.stderr).toMatch(/^Found 2 pods, using pod\/echo-v1-\S+\n$/);
    const logs = await crema(["logs", "echo-v1", ...stateArgs()]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stderr).toMatch(/^Found 2 pods, using pod\/echo-v1-\S+\n$/);
    // Named as the pod itself: no note.
    const pod = /pod\/(\S+)/.exec(logs.stderr)![1]!;
    expect((await crema(["logs", pod, ...stateArgs()])).stderr).toBe("");
  });

  it("explains a pod name it does not know", async () => {
    const run = await crema(["exec", "nobody", ...stateArgs(), "--", "true"]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("CREMA_RUNTIME_POD_NOT_FOUND");
  });

  it("crema down stops every process it started and releases their ports", async () => {
    const { pods } = await status();
    const pids = pods.flatMap((p) => p.containers.flatMap((c) => (c.pid ? [c.pid] : [])));
    expect(pids.length).toBeGreaterThan(pods.length);
    const down = await crema(["down", ...stateArgs()]);
    expect(down.code, down.stderr).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    const echo = pods.find((p) => p.deployment === "echo-v1")!;
    expect(await refused(echo.podIP, 8080)).toBe(true);
    expect(await refused(echo.podIP, 15001)).toBe(true);
    const after = await crema(["status", ...stateArgs()]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain("CREMA_RUNTIME_NOT_RUNNING");
  }, 60_000);
});
