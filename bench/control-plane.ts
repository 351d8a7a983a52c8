// Benchmark: `crema control-plane` in its own process serving S services × E endpoints to
// simulated proxies (bench/support/xds-load-client.ts, in child processes): time until every
// proxy has ACKed its first full push, control-plane memory then, push time and convergence
// after one endpoint change and after one VirtualService change, and xDS bytes per proxy with
// and without a Sidecar resource. The time baseline, measured in the same run, is translating
// the same config for the same proxies in this process without any network.

import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { silentLogger } from "../src/base/logger.ts";
import { startControlPlane } from "../src/control-plane/control-plane.ts";
import { decodeProxyNode } from "../src/control-plane/model/proxy.ts";
import { translateProxy } from "../src/control-plane/translate/translate-proxy.ts";
import { TYPE_URL } from "../src/xds/type-urls.ts";
import {
  type Ack,
  benchNode,
  type LoadClientCommand,
  type LoadClientMessage,
} from "./support/xds-load-protocol.ts";

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface Convergence {
  change: string;
  rounds: number;
  /** Per round, over proxies: from the change's POST to each proxy's ACK of the new version. */
  p50Ms: Spread;
  p99Ms: Spread;
  maxMs: Spread;
  /** The control plane's own pilot_xds_push_time for the push the change caused. */
  pushTimeMs: Spread;
  /** DiscoveryResponse bytes one proxy received for the change (median over proxies). */
  bytesPerProxy: Spread;
}

export interface ControlPlaneScenario {
  proxies: number;
  clientProcesses: number;
  /** Translating for this many proxies in-process, no network (per-proxy median × proxies). */
  baselineTranslateMs: number;
  /** From opening every stream until the last proxy ACKed CDS, EDS, LDS and RDS. */
  firstPushMs: number;
  /** Per proxy, from opening its stream to its last first ACK. */
  firstPushPerProxyMs: { p50: number; p99: number };
  /** CPU time (user + system) over the first push: the control plane's, and the simulated
   * proxies' processes' together. */
  firstPushCpuSeconds: { controlPlane: number; proxies: number };
  /** The control plane process with the config loaded and no proxy connected. */
  idleRssMb: number;
  /** After the first push. */
  rssMb: number;
  /** The largest RSS over the whole scenario (VmHWM), changes included. */
  peakRssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  /** Memory outside the V8 heap that V8 knows of (Buffers among it): process.memoryUsage().external. */
  externalMb: number;
  endpointChange: Convergence;
  virtualServiceChange: Convergence;
}

export interface XdsBytes {
  total: number;
  byType: Record<string, number>;
}

export interface ControlPlaneBenchResult {
  services: number;
  endpointsPerService: number;
  /** Per-proxy translation, uncached, in this process (the baseline's unit). */
  translatePerProxyMs: Spread;
  scenarios: ControlPlaneScenario[];
  /** One fresh proxy's first full push: DiscoveryResponse message bytes as received. */
  bytesPerProxy: { withoutSidecar: XdsBytes; withSidecar: XdsBytes; sidecarHosts: string[] };
}

export interface ControlPlaneBenchOptions {
  services: number;
  endpoints: number;
  /** In this order, each with how many changes of each kind it makes; the Sidecar bytes are
   * measured in the first. */
  scenarios: Array<{ proxies: number; rounds: number }>;
  /** Simulated proxies per client process. */
  proxiesPerProcess?: number;
  /** Give up on one wait (first push, one change) after this long. */
  timeoutMs?: number;
}

function config(services: number, endpoints: number): string {
  const docs: string[] = [];
  for (let s = 0; s < services; s++) {
    docs.push(
      `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${s}, namespace: default}\nspec:\n  selector: {app: svc-${s}}\n  ports: [{name: http, port: 8080}]\n`,
    );
    for (let e = 0; e < endpoints; e++) docs.push(pod(s, e));
  }
  return docs.join("---\n");
}

const pod = (s: number, e: number) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: svc-${s}-${e}, namespace: default, labels: {app: svc-${s}, version: v1}}\nspec:\n  containers: [{name: app, image: x, ports: [{containerPort: 8080}]}]\nstatus: {podIP: 10.${(s >> 8) & 255}.${s & 255}.${e + 1}}\n`;

const virtualService = (weight: number) =>
  `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: svc-0, namespace: default}\nspec:\n  hosts: [svc-0]\n  http:\n  - route:\n    - destination: {host: svc-0}\n      weight: ${weight}\n    - destination: {host: svc-1}\n      weight: ${100 - weight}\n`;

const SIDECAR_HOSTS = [
  "./svc-1.default.svc.cluster.local",
  "./svc-2.default.svc.cluster.local",
  "istio-system/*",
];
const sidecar = `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, namespace: default}\nspec:\n  egress:\n  - hosts: ${JSON.stringify(SIDECAR_HOSTS)}\n`;

const TYPES = [
  TYPE_URL.cluster,
  TYPE_URL.clusterLoadAssignment,
  TYPE_URL.listener,
  TYPE_URL.routeConfiguration,
];
const SHORT: Record<string, string> = {
  [TYPE_URL.cluster]: "CDS",
  [TYPE_URL.clusterLoadAssignment]: "EDS",
  [TYPE_URL.listener]: "LDS",
  [TYPE_URL.routeConfiguration]: "RDS",
};

const epochNow = () => performance.timeOrigin + performance.now();
const MB = 2 ** 20;

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 0.5), min: sorted[0]!, max: sorted.at(-1)! };
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}

/** Children this module started and has not seen exit: killed if the benchmark dies. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function track(child: ChildProcess): Promise<number | null> {
  running.add(child);
  return new Promise((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
}

/** SIGTERM, then SIGKILL if it has not exited within 5 s. */
async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

/** User + system CPU seconds of a process so far (/proc/PID/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface ControlPlaneChild {
  pid: number;
  httpUrl: string;
  xdsAddress: string;
  rssMb(): { rss: number; peak: number };
  heap(): Promise<{ heapUsed: number; heapTotal: number; external: number }>;
  post(path: string, body: string): Promise<void>;
  pushTimeSeconds(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Node flags for the control-plane child from CREMA_BENCH_CP_NODE_FLAGS (space-separated), e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/profiles` to see where its time goes during the scenario.
 */
function extraNodeFlags(): string[] {
  return (process.env.CREMA_BENCH_CP_NODE_FLAGS ?? "").split(" ").filter((flag) => flag !== "");
}

async function startControlPlaneChild(configDir: string): Promise<ControlPlaneChild> {
  const child = spawn(
    process.execPath,
    [
      ...extraNodeFlags(),
      "--import",
      new URL("./support/memory-probe.ts", import.meta.url).pathname,
      new URL("../bin/crema.js", import.meta.url).pathname,
      "control-plane",
      "--config",
      configDir,
      "--no-watch",
      "--xds-address",
      "127.0.0.1:0",
      "--http-address",
      "127.0.0.1:0",
      "--log-level",
      "warn",
    ],
    { stdio: ["ignore", "pipe", "pipe", "ipc"] },
  );
  const exited = track(child);
  let stderrTail = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderrTail = `${stderrTail}${chunk}`.slice(-4000);
  });
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on("line", (line) => {
        if (line.startsWith("control-plane ready")) resolve(line);
      });
      void exited.then((code) =>
        reject(new Error(`control plane exited with ${code} before ready:\n${stderrTail}`)),
      );
    });
    const httpUrl = /http=(\S+)/.exec(ready)![1]!;
    const xdsAddress = /xds=(\S+)/.exec(ready)![1]!;
    return {
      pid: child.pid!,
      httpUrl,
      xdsAddress,
      rssMb() {
        const status = readFileSync(`/proc/${child.pid}/status`, "utf8");
        const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]);
        return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
      },
      heap: () =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error("no memory answer")), 10_000);
          child.once("message", (message: { memory: NodeJS.MemoryUsage }) => {
            clearTimeout(timer);
            resolve(message.memory);
          });
          child.send("memory");
        }),
      async post(path, body) {
        const response = await fetch(`${httpUrl}${path}?source=bench`, { method: "POST", body });
        if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      },
      async pushTimeSeconds() {
        const text = await (await fetch(`${httpUrl}/metrics`)).text();
        return Number(/^pilot_xds_push_time_sum\{type="all"\} (\S+)$/m.exec(text)?.[1] ?? 0);
      },
      stop: () => stopChild(child, exited),
    };
  } catch (error) {
    await stopChild(child, exited);
    throw error;
  }
}

/** What the simulated proxies have ACKed, fed by their processes. */
class Fleet {
  readonly acked: Array<Map<string, { version: string; at: number }>> = [];
  readonly bytes: Array<Map<string, number>> = [];
  readonly #children: Array<{ child: ChildProcess; exited: Promise<number | null> }> = [];
  #waiters: Array<() => boolean> = [];
  #failure: Error | undefined;
  #onFailure: Array<(error: Error) => void> = [];

  /** Forks the processes for proxies first…first+count-1 (start-up is not timed); the
   * returned function opens their streams. */
  async add(
    first: number,
    count: number,
    perProcess: number,
    address: string,
  ): Promise<() => void> {
    const started: Array<() => void> = [];
    for (let at = first; at < first + count; at += perProcess) {
      const child = fork(new URL("./support/xds-load-client.ts", import.meta.url).pathname, [], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      const exited = track(child);
      this.#children.push({ child, exited });
      const ready = new Promise<void>((resolve) =>
        child.on("message", (message: LoadClientMessage) => {
          if (message.kind === "ready") resolve();
          else this.#receive(message);
        }),
      );
      void exited.then((code) => {
        if (code !== 0) this.#fail(new Error(`a simulated-proxy process exited with ${code}`));
      });
      await Promise.race([ready, exited]);
      const n = Math.min(perProcess, first + count - at);
      started.push(() =>
        child.send({ kind: "start", address, first: at, count: n } satisfies LoadClientCommand),
      );
    }
    return () => {
      for (const go of started) go();
    };
  }

  #receive(message: LoadClientMessage): void {
    if (message.kind === "failed")
      this.#fail(new Error(`proxy ${message.proxy}'s stream ended: ${message.reason}`));
    if (message.kind !== "acks") return;
    for (const [proxy, typeUrl, version, size, at] of message.acks as Ack[]) {
      this.acked[proxy] ??= new Map();
      this.acked[proxy].set(typeUrl, { version, at });
      this.bytes[proxy] ??= new Map();
      const bytes = this.bytes[proxy];
      bytes.set(typeUrl, (bytes.get(typeUrl) ?? 0) + size);
    }
    this.#waiters = this.#waiters.filter((done) => !done());
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const reject of this.#onFailure.splice(0)) reject(error);
  }

  /** Resolves once `done()` holds (checked after every batch of ACKs). */
  until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      this.#onFailure.push((error) => {
        clearTimeout(timer);
        reject(error);
      });
      if (!check()) this.#waiters.push(check);
    });
  }

  cpuSeconds(): number {
    return this.#children.reduce((sum, { child }) => sum + cpuSeconds(child.pid!), 0);
  }

  complete(proxy: number): boolean {
    const acked = this.acked[proxy];
    return acked !== undefined && TYPES.every((t) => acked.has(t));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#children.splice(0).map(async ({ child, exited }) => {
        if (child.connected) child.send({ kind: "stop" } satisfies LoadClientCommand);
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}

export async function benchControlPlane(
  options: ControlPlaneBenchOptions,
): Promise<ControlPlaneBenchResult> {
  const { services, endpoints } = options;
  const perProcess = options.proxiesPerProcess ?? 500;
  const timeoutMs = options.timeoutMs ?? 180_000;
  const dir = mkdtempSync(join(tmpdir(), "crema-bench-cp-"));
  try {
    writeFileSync(join(dir, "mesh.yaml"), config(services, endpoints));
    writeFileSync(join(dir, "vs.yaml"), virtualService(50));
    const translatePerProxyMs = await baselineTranslation(dir);
    const scenarios: ControlPlaneScenario[] = [];
    let bytesPerProxy: ControlPlaneBenchResult["bytesPerProxy"] | undefined;
    for (const { proxies, rounds } of options.scenarios) {
      const result = await scenario({
        dir,
        proxies,
        rounds,
        perProcess,
        timeoutMs,
        translatePerProxyMs: translatePerProxyMs.median,
        measureBytes: bytesPerProxy === undefined,
      });
      scenarios.push(result.scenario);
      bytesPerProxy ??= result.bytes;
    }
    return {
      services,
      endpointsPerService: endpoints,
      translatePerProxyMs,
      scenarios,
      bytesPerProxy: bytesPerProxy!,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Translation of 10 distinct proxies, uncached, 3 times: the per-proxy figure. */
async function baselineTranslation(dir: string): Promise<Spread> {
  const controlPlane = await startControlPlane({
    configPaths: [dir],
    xdsAddress: "127.0.0.1:0",
    httpAddress: "127.0.0.1:0",
    watch: false,
    translate: translateProxy,
    logger: silentLogger(),
  });
  try {
    const perProxy: number[] = [];
    for (let round = 0; round < 3; round++) {
      const start = performance.now();
      for (let i = 0; i < 10; i++) {
        const decoded = decodeProxyNode(benchNode(i));
        if (decoded.ok) translateProxy(controlPlane.snapshot(), decoded.proxy);
      }
      perProxy.push((performance.now() - start) / 10);
    }
    return spread(perProxy);
  } finally {
    await controlPlane.close();
  }
}

interface ScenarioOptions {
  dir: string;
  proxies: number;
  rounds: number;
  perProcess: number;
  timeoutMs: number;
  translatePerProxyMs: number;
  measureBytes: boolean;
}

async function scenario(o: ScenarioOptions): Promise<{
  scenario: ControlPlaneScenario;
  bytes?: ControlPlaneBenchResult["bytesPerProxy"];
}> {
  const cp = await startControlPlaneChild(o.dir);
  const fleet = new Fleet();
  try {
    const idleRssMb = cp.rssMb().rss;
    const go = await fleet.add(0, o.proxies, o.perProcess, cp.xdsAddress);
    const cpuBefore = { controlPlane: cpuSeconds(cp.pid), proxies: fleet.cpuSeconds() };
    const start = epochNow();
    go();
    const all = Array.from({ length: o.proxies }, (_, i) => i);
    await fleet.until(
      () => all.every((p) => fleet.complete(p)),
      `the first push to ${o.proxies} proxies`,
      o.timeoutMs,
    );
    const perProxy = all
      .map((p) => Math.max(...[...fleet.acked[p]!.values()].map((a) => a.at)) - start)
      .sort((a, b) => a - b);
    const firstPushMs = perProxy.at(-1)!;
    const firstPushCpuSeconds = {
      controlPlane: cpuSeconds(cp.pid) - cpuBefore.controlPlane,
      proxies: fleet.cpuSeconds() - cpuBefore.proxies,
    };
    const { rss } = cp.rssMb();
    const heap = await cp.heap();

    const change = async (
      label: string,
      typeUrl: string,
      apply: (round: number) => Promise<void>,
    ): Promise<Convergence> => {
      const p50: number[] = [];
      const p99: number[] = [];
      const max: number[] = [];
      const pushTime: number[] = [];
      const bytes: number[] = [];
      const received = (p: number) => [...fleet.bytes[p]!.values()].reduce((a, b) => a + b, 0);
      for (let round = 0; round < o.rounds; round++) {
        const before = all.map((p) => fleet.acked[p]!.get(typeUrl)!.version);
        const bytesBefore = all.map(received);
        const pushBefore = await cp.pushTimeSeconds();
        const changedAt = epochNow();
        // The debounce (100 ms of quiet) is part of what a user waits for, so it is included.
        await apply(round);
        const moved = (p: number) => fleet.acked[p]!.get(typeUrl)!.version !== before[p];
        await fleet.until(
          () => all.every(moved),
          `${label} to reach ${o.proxies} proxies`,
          o.timeoutMs,
        );
        const times = all
          .map((p) => fleet.acked[p]!.get(typeUrl)!.at - changedAt)
          .sort((a, b) => a - b);
        bytes.push(
          percentile(
            all.map((p) => received(p) - bytesBefore[p]!).sort((a, b) => a - b),
            0.5,
          ),
        );
        p50.push(percentile(times, 0.5));
        p99.push(percentile(times, 0.99));
        max.push(times.at(-1)!);
        pushTime.push(((await cp.pushTimeSeconds()) - pushBefore) * 1000);
      }
      return {
        change: label,
        rounds: o.rounds,
        p50Ms: spread(p50),
        p99Ms: spread(p99),
        maxMs: spread(max),
        pushTimeMs: spread(pushTime),
        bytesPerProxy: spread(bytes),
      };
    };
    // A Pod of svc-0 comes and goes: only svc-0's endpoints change.
    const endpointChange = await change(
      "one endpoint added or removed",
      TYPE_URL.clusterLoadAssignment,
      (round) => cp.post(round % 2 === 0 ? "/config/apply" : "/config/delete", pod(0, 99)),
    );
    const virtualServiceChange = await change(
      "one VirtualService changed",
      TYPE_URL.routeConfiguration,
      (round) => cp.post("/config/apply", virtualService(round % 2 === 0 ? 80 : 50)),
    );

    const { peak } = cp.rssMb();
    let bytes: ControlPlaneBenchResult["bytesPerProxy"] | undefined;
    if (o.measureBytes) {
      const withoutSidecar = await freshProxyBytes(fleet, o.proxies, cp.xdsAddress, o.timeoutMs);
      const before = fleet.acked[0]!.get(TYPE_URL.cluster)!.version;
      await cp.post("/config/apply", sidecar);
      await fleet.until(
        () => fleet.acked[0]!.get(TYPE_URL.cluster)!.version !== before,
        "the Sidecar to be pushed",
        o.timeoutMs,
      );
      const withSidecar = await freshProxyBytes(fleet, o.proxies + 1, cp.xdsAddress, o.timeoutMs);
      bytes = { withoutSidecar, withSidecar, sidecarHosts: SIDECAR_HOSTS };
    }
    return {
      scenario: {
        proxies: o.proxies,
        clientProcesses: Math.ceil(o.proxies / o.perProcess),
        baselineTranslateMs: o.translatePerProxyMs * o.proxies,
        firstPushMs,
        firstPushPerProxyMs: { p50: percentile(perProxy, 0.5), p99: percentile(perProxy, 0.99) },
        firstPushCpuSeconds,
        idleRssMb,
        rssMb: rss,
        peakRssMb: peak,
        heapUsedMb: heap.heapUsed / MB,
        heapTotalMb: heap.heapTotal / MB,
        externalMb: heap.external / MB,
        endpointChange,
        virtualServiceChange,
      },
      ...(bytes ? { bytes } : {}),
    };
  } finally {
    await fleet.stop();
    await cp.stop();
  }
}

/** Connects one more proxy and sums the DiscoveryResponse bytes of its first full push. */
async function freshProxyBytes(
  fleet: Fleet,
  index: number,
  address: string,
  timeoutMs: number,
): Promise<XdsBytes> {
  const go = await fleet.add(index, 1, 1, address);
  go();
  await fleet.until(() => fleet.complete(index), `proxy ${index}'s first push`, timeoutMs);
  const byType: Record<string, number> = {};
  for (const typeUrl of TYPES) byType[SHORT[typeUrl]!] = fleet.bytes[index]!.get(typeUrl) ?? 0;
  return { total: Object.values(byType).reduce((a, b) => a + b, 0), byType };
}
