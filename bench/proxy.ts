// The proxy against a direct connection and its C peers, in one run: wrk drives a 1 KiB node:http
// backend directly, through one crema sidecar (its outbound listener, single hop), through a pair
// of sidecars (outbound → inbound, plaintext) driven by the real control plane, and through nginx
// and HAProxy as single hops. Scenarios alternate over several rounds; medians and min–max are
// reported with each proxy's CPU and RSS. The same mesh carries the HTTP/2 and gRPC rows
// (bench/proxy-http2.ts: h2load, direct, one sidecar and a sidecar pair).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueBootstrapToken, loadOrCreateBootstrapTokenKey } from "../src/ca/bootstrap-token.ts";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "../test/scenarios/support/mesh.ts";
import { startPeers } from "./c-peers.ts";
import { benchHttp2, type Http2BenchRow, http2Mesh, probeHttp2 } from "./proxy-http2.ts";
import { startBackendProcess } from "./support/backend-process.ts";
import { requireH2load } from "./support/h2load.ts";
import { cpuSeconds, rssMb } from "./support/process-usage.ts";
import { type Spread, spread } from "./support/spread.ts";

export type { Http2BenchRow, Spread };

const SUBNET = 40;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const CLIENT_IP = ip(9);
const SINGLE_THREAD_CLIENT_IP = ip(12);
const NO_STATS_CLIENT_IP = ip(13);
const PLAIN_BACKEND_IP = ip(1);
const PAIRED_POD_IP = ip(2);
const PAIRED_APP_IP = ip(2, 2);
const SECURE_POD_IP = ip(3);
const SECURE_APP_IP = ip(3, 2);
const NGINX_IP = ip(10);
const HAPROXY_IP = ip(11);
// Hosts 4–7: the HTTP/2 and gRPC backends and paired Pods.
const HTTP2 = http2Mesh(ip);

export interface ProxyBenchOptions {
  rounds: number;
  durationSeconds: number;
  connections: number;
  /** The fixed-rate latency run: requests per second, for `durationSeconds` each round. */
  fixedRate: number;
  /**
   * The HTTP/2 and gRPC rows: h2load over `connections` × `streamsPerConnection` streams, each run
   * `warmUpSeconds` unmeasured then `durationSeconds` measured.
   */
  http2: { streamsPerConnection: number; durationSeconds: number; warmUpSeconds: number };
}

export interface ProxyBenchResult {
  /** HTTP/1.1 (wrk, and the paced client at `fixedRate`). */
  rows: ProxyBenchRow[];
  /** HTTP/2 and gRPC over h2c (h2load). */
  http2Rows: Http2BenchRow[];
}

export interface ProxyBenchRow {
  name: string;
  requestsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  /** Median requests/s relative to the direct connection's. */
  throughputVsDirect: number;
  /** Median p50 minus the direct connection's median p50. */
  addedP50Ms: number;
  /** Latency at `fixedRate` over `connections`, measured from when each request was due. */
  atRate: { p50Ms: Spread; p90Ms: Spread; p99Ms: Spread };
  /** Median p90 at the fixed rate minus the direct connection's. */
  addedP90AtRateMs: number;
  /** CPU seconds all proxies on the path spent per 1,000 requests (median). */
  proxyCpuSecondsPer1k?: number;
  /** Largest RSS of a proxy on the path after the scenario (median), MB. */
  proxyRssMb?: number;
}

interface Scenario {
  name: string;
  url: string;
  host?: string;
  proxies: number[];
}

interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

// The control plane runs its CA, so sidecars speak Istio mTLS wherever the destination has one:
// "plain" has no sidecar, "paired" is kept plaintext by its DestinationRule, "secure" gets mTLS.
const CONFIG = `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("plain")}---
${serviceYaml("paired")}---
${serviceYaml("secure")}---
${podYaml({ name: "plain-1", ip: PLAIN_BACKEND_IP, labels: { app: "plain", "sidecar.istio.io/inject": "false" }, ports: [8080] })}---
${podYaml({ name: "paired-1", ip: PAIRED_POD_IP, labels: { app: "paired" }, ports: [8080] })}---
${podYaml({ name: "secure-1", ip: SECURE_POD_IP, labels: { app: "secure" }, ports: [8080] })}---
${podYaml({ name: "client", ip: CLIENT_IP, labels: { app: "client" } })}---
${podYaml({ name: "client-1t", ip: SINGLE_THREAD_CLIENT_IP, labels: { app: "client" } })}---
${podYaml({ name: "client-nostats", ip: NO_STATS_CLIENT_IP, labels: { app: "client-nostats" } })}---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: no-istio-metrics, namespace: default}
spec:
  selector: {matchLabels: {app: client-nostats}}
  metrics:
  - overrides: [{match: {metric: ALL_METRICS}, disabled: true}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: paired, namespace: default}
spec:
  host: paired
  trafficPolicy: {tls: {mode: DISABLE}}
---
${HTTP2.yaml}`;

/** What a sidecar needs for its workload certificate from the mesh's CA (a VM gets the same). */
async function certificateArgs(mesh: Mesh, caDir: string): Promise<string[]> {
  const key = await loadOrCreateBootstrapTokenKey(caDir);
  const token = await issueBootstrapToken(key, { namespace: "default", serviceAccount: "default" });
  const tokenFile = join(caDir, "bench-token.jwt");
  writeFileSync(tokenFile, token);
  return [
    "--ca-address",
    mesh.controlPlane.secureXdsAddress!,
    "--ca-root-cert",
    join(caDir, "root-cert.pem"),
    "--token-file",
    tokenFile,
  ];
}

function requireWrk(): void {
  const probe = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (probe.error)
    throw new Error("the proxy benchmark needs wrk on the PATH (Debian: apt-get install wrk)");
}

const startBackend = (host: string) => startBackendProcess("bench/support/http-backend.ts", host);

/** The with/without comparison means nothing unless the Telemetry took effect on both sides. */
async function expectIstioMetrics(adminUrl: string, present: boolean): Promise<void> {
  const text = await (await fetch(`${adminUrl}/stats/prometheus`)).text();
  if (text.includes("istio_requests_total{") !== present)
    throw new Error(
      `${adminUrl}: istio_requests_total ${present ? "missing" : "present"} after the probe`,
    );
}

/** Probes until the path answers (a peer may still be binding), at most `attempts` times. */
async function probeUntilReady(scenario: Scenario, attempts = 100): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await probe(scenario);
    } catch (error) {
      if (attempt >= attempts || (error as NodeJS.ErrnoException).code !== "ECONNREFUSED")
        throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** One request as wrk will send it; the benchmark refuses to measure a path that fails. */
function probe(scenario: Scenario): Promise<void> {
  const url = new URL(scenario.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: scenario.host ? { host: scenario.host } : {},
      },
      (res) => {
        res.resume();
        res.once("end", () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`${scenario.name}: probe answered ${res.statusCode}`)),
        );
      },
    );
    req.once("error", reject);
    req.end();
  });
}

function parseMs(value: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(value);
  if (!match) return Number.NaN;
  const n = Number(match[1]);
  const unit = match[2];
  return unit === "us" ? n / 1000 : unit === "ms" ? n : unit === "s" ? n * 1000 : n * 60_000;
}

export function parseWrkOutput(output: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const total = /(\d+) requests in/.exec(output);
  const p50 = /^\s+50%\s+(\S+)/m.exec(output);
  const p99 = /^\s+99%\s+(\S+)/m.exec(output);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  if (!rps || !total || !p50 || !p99) throw new Error(`unreadable wrk output:\n${output}`);
  if (errors) throw new Error(`wrk saw ${errors[1]} failed responses:\n${output}`);
  return {
    requestsPerSecond: Number(rps[1]),
    requests: Number(total[1]),
    p50Ms: parseMs(p50[1]!),
    p99Ms: parseMs(p99[1]!),
  };
}

function runWrk(scenario: Scenario, options: ProxyBenchOptions): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.durationSeconds}s`,
    "--latency",
    ...(scenario.host ? ["-H", `Host: ${scenario.host}`] : []),
    scenario.url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`wrk exited with ${code}:\n${output}`));
      else {
        try {
          resolve(parseWrkOutput(output));
        } catch (error) {
          reject(error);
        }
      }
    });
  });
}

interface PacedResult {
  requests: number;
  errors: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

/** Latency at a fixed rate from the paced client, in its own process like wrk. */
function runPaced(scenario: Scenario, options: ProxyBenchOptions): Promise<PacedResult> {
  const args = [
    "bench/support/paced-client.ts",
    scenario.url,
    scenario.host ?? "",
    String(options.fixedRate),
    String(options.connections),
    String(options.durationSeconds),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", reject);
    child.once("exit", () => {
      try {
        const result = JSON.parse(output) as PacedResult;
        if (result.errors > 0)
          reject(new Error(`${scenario.name}: ${result.errors} failed requests at a fixed rate`));
        else resolve(result);
      } catch {
        reject(new Error(`${scenario.name}: unreadable paced client output: ${output}`));
      }
    });
  });
}

/**
 * Processes started together: waits for every one, so that when one fails, `stop` ends those that
 * did start before the failure is thrown.
 */
async function startedTogether<T extends readonly unknown[] | []>(
  starts: T,
  stop: (started: Awaited<T[number]>) => unknown,
): Promise<{ -readonly [P in keyof T]: Awaited<T[P]> }> {
  const settled = (await Promise.allSettled(starts)) as PromiseSettledResult<Awaited<T[number]>>[];
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (!failed) return Promise.all(starts);
  for (const s of settled) if (s.status === "fulfilled") await stop(s.value);
  throw failed.reason;
}

export async function benchProxy(options: ProxyBenchOptions): Promise<ProxyBenchResult> {
  requireWrk();
  requireH2load();
  const backends = await startedTogether(
    [
      startBackend(PLAIN_BACKEND_IP),
      startBackend(PAIRED_APP_IP),
      startBackend(SECURE_APP_IP),
      ...HTTP2.startBackends(),
    ],
    (backend) => backend.kill("SIGTERM"),
  );
  const caDir = mkdtempSync(join(tmpdir(), "crema-bench-ca-"));
  const mesh = await startMesh(SUBNET, CONFIG, {
    controlPlaneArgs: ["--ca-dir", caDir, "--secure-xds-address", "127.0.0.1:0"],
  });
  const certificates = await certificateArgs(mesh, caDir);
  const peers = startPeers({
    backend: { host: PLAIN_BACKEND_IP, port: 8080 },
    nginx: NGINX_IP,
    haproxy: HAPROXY_IP,
    port: 8080,
  });
  try {
    // Started together: each waits for its config and certificate, not for the others. (A
    // proxy that did start is the mesh's to stop.)
    const [client, singleThread, noStats, paired, secure, ...http2Pairs] = await startedTogether(
      [
        mesh.startProxy({
          pod: "client",
          ip: CLIENT_IP,
          labels: { app: "client" },
          extraArgs: certificates,
        }),
        // Like-for-like with nginx's one worker and HAProxy's one thread.
        mesh.startProxy({
          pod: "client-1t",
          ip: SINGLE_THREAD_CLIENT_IP,
          labels: { app: "client" },
          extraArgs: [...certificates, "--concurrency", "1"],
        }),
        // The same sidecar without Istio's metrics (no istio.stats filter): what the stats cost.
        mesh.startProxy({
          pod: "client-nostats",
          ip: NO_STATS_CLIENT_IP,
          labels: { app: "client-nostats" },
          extraArgs: certificates,
        }),
        mesh.startProxy({
          pod: "paired-1",
          ip: PAIRED_POD_IP,
          labels: { app: "paired" },
          appAddress: PAIRED_APP_IP,
          extraArgs: certificates,
        }),
        mesh.startProxy({
          pod: "secure-1",
          ip: SECURE_POD_IP,
          labels: { app: "secure" },
          appAddress: SECURE_APP_IP,
          extraArgs: certificates,
        }),
        ...HTTP2.sidecars.map((sidecar) =>
          mesh.startProxy({ ...sidecar, extraArgs: certificates }),
        ),
      ],
      () => undefined,
    );
    const outbound = `http://${CLIENT_IP}:15001/`;
    const scenarios: Scenario[] = [
      { name: "direct (baseline)", url: `http://${PLAIN_BACKEND_IP}:8080/`, proxies: [] },
      { name: "one sidecar (outbound only)", url: outbound, host: "plain", proxies: [client.pid] },
      {
        name: "one sidecar, 1 thread (outbound only)",
        url: `http://${SINGLE_THREAD_CLIENT_IP}:15001/`,
        host: "plain",
        proxies: [singleThread.pid],
      },
      {
        name: "one sidecar without Istio metrics (outbound only)",
        url: `http://${NO_STATS_CLIENT_IP}:15001/`,
        host: "plain",
        proxies: [noStats.pid],
      },
      {
        name: "sidecar pair (outbound → inbound)",
        url: outbound,
        host: "paired",
        proxies: [client.pid, paired.pid],
      },
      {
        name: "sidecar pair with Istio mTLS",
        url: outbound,
        host: "secure",
        proxies: [client.pid, secure.pid],
      },
      ...peers.map((peer) => ({ name: peer.name, url: peer.url, proxies: [peer.pid] })),
    ];
    for (const scenario of scenarios) await probeUntilReady(scenario);
    const http2Scenarios = HTTP2.scenarios(client, http2Pairs);
    await probeHttp2(http2Scenarios);
    await expectIstioMetrics(client.adminUrl, true);
    await expectIstioMetrics(noStats.adminUrl, false);
    const samples = new Map<string, { wrk: WrkResult; cpuPer1k: number; rss: number }[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const scenario of scenarios) {
        const cpuBefore = scenario.proxies.map(cpuSeconds);
        const wrk = await runWrk(scenario, options);
        const cpu = scenario.proxies.reduce(
          (sum, pid, i) => sum + cpuSeconds(pid) - cpuBefore[i]!,
          0,
        );
        const rss = Math.max(0, ...scenario.proxies.map(rssMb));
        const list = samples.get(scenario.name) ?? [];
        list.push({ wrk, cpuPer1k: (cpu / wrk.requests) * 1000, rss });
        samples.set(scenario.name, list);
      }
    }
    const paced = new Map<string, PacedResult[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const scenario of scenarios) {
        const list = paced.get(scenario.name) ?? [];
        list.push(await runPaced(scenario, options));
        paced.set(scenario.name, list);
      }
    }
    const http2Rows = await benchHttp2(http2Scenarios, {
      rounds: options.rounds,
      durationSeconds: options.http2.durationSeconds,
      connections: options.connections,
      streams: options.http2.streamsPerConnection,
      warmUpSeconds: options.http2.warmUpSeconds,
    });
    const directP90AtRate = spread(paced.get(scenarios[0]!.name)!.map((r) => r.p90Ms)).median;
    const direct = samples.get(scenarios[0]!.name)!;
    const directRps = spread(direct.map((s) => s.wrk.requestsPerSecond)).median;
    const directP50 = spread(direct.map((s) => s.wrk.p50Ms)).median;
    const rows = scenarios.map((scenario): ProxyBenchRow => {
      const list = samples.get(scenario.name)!;
      const requestsPerSecond = spread(list.map((s) => s.wrk.requestsPerSecond));
      const p50Ms = spread(list.map((s) => s.wrk.p50Ms));
      const atRate = paced.get(scenario.name)!;
      const p90AtRate = spread(atRate.map((r) => r.p90Ms));
      return {
        name: scenario.name,
        requestsPerSecond,
        p50Ms,
        p99Ms: spread(list.map((s) => s.wrk.p99Ms)),
        throughputVsDirect: requestsPerSecond.median / directRps,
        addedP50Ms: p50Ms.median - directP50,
        atRate: {
          p50Ms: spread(atRate.map((r) => r.p50Ms)),
          p90Ms: p90AtRate,
          p99Ms: spread(atRate.map((r) => r.p99Ms)),
        },
        addedP90AtRateMs: p90AtRate.median - directP90AtRate,
        ...(scenario.proxies.length
          ? {
              proxyCpuSecondsPer1k: spread(list.map((s) => s.cpuPer1k)).median,
              proxyRssMb: spread(list.map((s) => s.rss)).median,
            }
          : {}),
      };
    });
    return { rows, http2Rows };
  } finally {
    await Promise.all(peers.map((peer) => peer.stop()));
    await mesh.stop();
    for (const backend of backends) backend.kill("SIGTERM");
    rmSync(caDir, { recursive: true, force: true });
  }
}
