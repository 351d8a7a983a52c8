// Istio's standard metrics as an operator sees them: the coffee-shop demo runs (`crema up
// examples/coffee-shop --detach`), Debian's real Prometheus scrapes every sidecar's merged
// endpoint (the agent's 15020 `/stats/prometheus`, as Istio's metrics merging points
// `prometheus.io/*` at it), and PromQL answers what traffic was sent: counts per source and
// destination workload, response codes and flags, Istio's histogram buckets, TCP bytes. Pods
// live in 127.60.0.0/16; Prometheus listens on 127.60.255.250.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISTIO_HISTOGRAM_BUCKETS } from "../../src/proxy/telemetry/metric-definitions.ts";
import type { PodStatus } from "../../src/runtime/runtime-state.ts";
import { ownAddresses, runCrema } from "./support/crema-cli.ts";
import { connectTunnel } from "./support/mesh.ts";
import { until } from "./support/until.ts";

const POD_CIDR = "127.60.0.0/16";
const PROMETHEUS = "127.60.255.250:9090";
const EXTERNAL = "127.60.255.251";
const DEMO = "examples/coffee-shop";

let stateDir: string;
let promDir: string;
let prometheus: ChildProcess | undefined;
let prometheusLog = "";
let pods: PodStatus[] = [];

const crema = (args: string[]) => runCrema(args, stateDir);

/** Statuses of `repeat` GETs of `url` from inside the sleep pod (through its sidecar). */
async function fromSleep(url: string, repeat: number): Promise<number[]> {
  const spec = JSON.stringify({ requests: [{ url }], repeat, concurrency: 8 });
  const run = await crema([
    "exec",
    "sleep",
    "--",
    "node",
    "test/scenarios/support/requests.ts",
    spec,
  ]);
  expect(run.code, run.stderr).toBe(0);
  return run.stdout
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { status: number }).status);
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<Sample[]> {
  const url = `http://${PROMETHEUS}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const body = (await (await fetch(url)).json()) as {
    status: string;
    data: { result: Sample[] };
    error?: string;
  };
  if (body.status !== "success") throw new Error(`${promql}: ${body.error}`);
  return body.data.result;
}

/** The single value of a scalar-like query (0 when there is no series). */
async function value(promql: string): Promise<number> {
  const [first] = await query(promql);
  return first ? Number(first.value[1]) : 0;
}

/** Polls until `promql` gives `expected` (Prometheus scrapes every second); on timeout the
 * error shows the last value and Prometheus's log. */
async function eventually(promql: string, expected: number): Promise<void> {
  let last = Number.NaN;
  await until(
    `${promql} gives ${expected}`,
    async () => {
      last = await value(promql);
      return last === expected;
    },
    {
      timeoutMs: 30_000,
      intervalMs: 250,
      detail: () => `${promql} stayed at ${last}, expected ${expected}\n${prometheusLog}`,
    },
  );
}

const fromSleepTo = (service: string, extra = "") =>
  `reporter="source",source_workload="sleep",destination_service_name="${service}"${extra}`;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "crema-prom-"));
  promDir = mkdtempSync(join(tmpdir(), "crema-prom-data-"));
  const up = await crema(["up", DEMO, "--detach", ...ownAddresses(POD_CIDR)]);
  expect(up.code, `${up.stdout}${up.stderr}`).toBe(0);
  pods = (JSON.parse((await crema(["status", "-o", "json"])).stdout) as { pods: PodStatus[] }).pods;
  const targets = pods.filter((p) => p.sidecar).map((p) => `${p.podIP}:15020`);
  writeFileSync(
    join(promDir, "prometheus.yml"),
    `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: crema-pods
    metrics_path: /stats/prometheus
    static_configs: [{targets: ${JSON.stringify(targets)}}]
`,
  );
  prometheus = spawn(
    "prometheus",
    [
      `--config.file=${join(promDir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(promDir, "data")}`,
      `--web.listen-address=${PROMETHEUS}`,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  prometheus.stderr!.on("data", (chunk: Buffer) => {
    prometheusLog = `${prometheusLog}${chunk.toString()}`.slice(-10_000);
  });
  const failed = new Promise<never>((_, reject) => {
    prometheus!.once("error", (err) =>
      reject(new Error(`Debian's prometheus must be installed (as .ci/run does): ${err.message}`)),
    );
    prometheus!.once("exit", (code) =>
      reject(new Error(`prometheus exited ${code}\n${prometheusLog}`)),
    );
  });
  const ready = until(
    "prometheus is ready",
    () =>
      fetch(`http://${PROMETHEUS}/-/ready`).then(
        (r) => r.ok,
        () => false,
      ),
    { timeoutMs: 60_000, intervalMs: 100, detail: () => prometheusLog },
  );
  await Promise.race([ready, failed]);
  // Every sidecar is a healthy target before traffic starts.
  await eventually('count(up{job="crema-pods"} == 1)', targets.length);
}, 180_000);

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null) {
    const exited = new Promise((resolve) => prometheus!.once("exit", resolve));
    prometheus.kill("SIGTERM");
    await exited;
  }
  await crema(["down"]);
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(promDir, { recursive: true, force: true });
}, 60_000);

describe("the demo's proxies, scraped by Prometheus", () => {
  // Two waits of up to 30 s each.
  it("counts requests per source and destination workload at both ends", async () => {
    const statuses = await fromSleep("http://customer-service/", 40);
    expect(statuses.every((s) => s === 200)).toBe(true);
    await eventually(`sum(istio_requests_total{${fromSleepTo("customer-service")}})`, 40);
    // The destination side names the same client, learnt from the peer-metadata exchange. On
    // v1, which only the route sends to: v2 also gets the demo's mirrored copies (20 %), which
    // carry the caller's metadata too and so count as the caller's at the destination, as
    // Istio's do.
    const toV1 = fromSleepTo("customer-service", ',destination_workload="customer-service-v1"');
    const sentToV1 = await value(`sum(istio_requests_total{${toV1}})`);
    expect(sentToV1).toBeGreaterThan(0);
    await eventually(
      'sum(istio_requests_total{reporter="destination",source_workload="sleep",destination_workload="customer-service-v1",response_code="200"})',
      sentToV1,
    );
    // Every request went to one of the two versions, each named by its workload.
    const byWorkload = await query(
      `sum by (destination_workload, destination_version) (istio_requests_total{${fromSleepTo("customer-service")}})`,
    );
    const total = byWorkload.reduce((sum, s) => sum + Number(s.value[1]), 0);
    expect(total).toBe(40);
    for (const s of byWorkload) {
      expect(["customer-service-v1", "customer-service-v2"]).toContain(
        s.metric.destination_workload,
      );
      expect(s.metric.destination_version).toBe(
        s.metric.destination_workload === "customer-service-v1" ? "v1" : "v2",
      );
    }
  }, 90_000);

  it("shows injected aborts with their code and the FI flag", async () => {
    const apply = await crema(["apply", "-f", `${DEMO}/traffic/fault-injection.yaml`]);
    expect(apply.code, apply.stderr).toBe(0);
    // The push reaches the sleep sidecar within moments; wait until aborts are seen.
    let statuses: number[] = [];
    await until(
      "the fault injection reaches the sleep sidecar (aborts are seen)",
      async () => {
        statuses = await fromSleep("http://customer-service/", 20);
        return statuses.includes(404);
      },
      { timeoutMs: 30_000, detail: () => `last statuses: ${JSON.stringify(statuses)}` },
    );
    const more = await fromSleep("http://customer-service/", 200);
    const aborted = [...statuses, ...more].filter((s) => s === 404).length;
    expect(aborted).toBeGreaterThan(0);
    await eventually(
      // A request both delayed and aborted carries "DI,FI".
      `sum(istio_requests_total{${fromSleepTo("customer-service", ',response_code="404",response_flags=~"(DI,)?FI"')}})`,
      aborted,
    );
  }, 120_000);

  it("records request durations in Istio's buckets", async () => {
    const buckets = await query(
      `count by (le) (istio_request_duration_milliseconds_bucket{${fromSleepTo("customer-service")}})`,
    );
    const order = (le: string | undefined) =>
      le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    const bounds = buckets.map((s) => s.metric.le).sort((a, b) => order(a) - order(b));
    expect(bounds).toEqual([...ISTIO_HISTOGRAM_BUCKETS.map(String), "+Inf"]);
    const p99 = await value(
      `histogram_quantile(0.99, sum by (le) (istio_request_duration_milliseconds_bucket{${fromSleepTo("customer-service")}}))`,
    );
    expect(p99).toBeGreaterThan(0);
  });

  it("moves the TCP byte counters for a connection to an external TCP service", async () => {
    // A TCP server outside the mesh, registered with a ServiceEntry (the demo's sidecars are
    // REGISTRY_ONLY); the sleep pod's sidecar relays a tunnel to it as TCP.
    const external = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => external.listen(7007, EXTERNAL, resolve));
    try {
      const entry = join(stateDir, "tcp-echo.yaml");
      writeFileSync(
        entry,
        `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: tcp-echo, namespace: coffee-shop}
spec:
  hosts: [tcp-echo.example.internal]
  ports: [{number: 7007, name: tcp, protocol: TCP}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: ${EXTERNAL}}]
`,
      );
      const apply = await crema(["apply", "-f", entry]);
      expect(apply.code, apply.stderr).toBe(0);
      const sleep = pods.find((p) => p.deployment === "sleep")!;
      let refusal: unknown;
      // Until the push reaches the sleep pod's sidecar, the host is unknown there (502).
      const socket = await until(
        "the ServiceEntry reaches the sleep pod's sidecar",
        () =>
          connectTunnel(sleep.podIP, "tcp-echo.example.internal:7007").catch((err: unknown) => {
            refusal = err;
            return undefined;
          }),
        { intervalMs: 50, detail: () => `last refusal: ${refusal}` },
      );
      let echoed = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk: string) => {
        echoed += chunk;
      });
      const closed = new Promise((resolve) => socket.once("close", resolve));
      socket.end("x".repeat(2000));
      await closed;
      expect(echoed.length).toBe(2000);
      // Attempts made before the push arrived failed with a response flag; this one has none.
      const tcp =
        'reporter="source",source_workload="sleep",destination_service="tcp-echo.example.internal",response_flags="-"';
      await eventually(`sum(istio_tcp_connections_closed_total{${tcp}})`, 1);
      expect(await value(`sum(istio_tcp_connections_opened_total{${tcp}})`)).toBe(1);
      expect(await value(`sum(istio_tcp_received_bytes_total{${tcp}})`)).toBe(2000);
      expect(await value(`sum(istio_tcp_sent_bytes_total{${tcp}})`)).toBe(2000);
    } finally {
      await new Promise((resolve) => external.close(resolve));
    }
  }, 90_000);

  it("answers every query of the shipped Grafana dashboard", async () => {
    const dashboard = JSON.parse(
      readFileSync("docs/grafana/crema-mesh-dashboard.json", "utf8"),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(5);
    // Every query is valid PromQL over what the proxies report (query() throws otherwise).
    for (const expr of exprs) await query(expr.replaceAll("$service", ".*"));
    const rates = await query(exprs[0]!.replaceAll("$service", ".*"));
    expect(rates.map((s) => s.metric.destination_service)).toContain(
      "customer-service.coffee-shop.svc.cluster.local",
    );
  });
});
