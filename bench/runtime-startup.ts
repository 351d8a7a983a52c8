// Local runtime start-up: wall time from `crema up examples/coffee-shop --detach` to every pod
// ready and every proxy synced (the command returns then), against a baseline measured in the
// same run — starting as many bare Node processes as the demo has processes, all at once, until
// each has printed. Also the time `crema down` takes to stop it all.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { readRuntimeState } from "../src/runtime/runtime-state.ts";

/** The pod network of this benchmark (bench/proxy.ts uses 127.40, proxy-memory 127.42). */
const POD_CIDR = "127.43.0.0/16";

type Spread = { median: number; min: number; max: number };

export interface RuntimeStartupResult {
  pods: number;
  processes: number;
  upMs: Spread;
  /** `crema down` until the runtime and every pod have exited (the command returns then). */
  downMs: Spread;
  baselineMs: Spread;
  /** CPU time each process had used when `crema up` returned (Linux /proc). */
  cpuMs: { runtime: Spread; perSidecar: Spread; perApp: Spread; total: Spread };
  /** CPU time of one bare Node process that prints and exits. */
  baselineCpuMs: Spread;
}

interface PodCpu {
  name: string;
  pid?: number;
}

/** user + system CPU time of a running process, from /proc/PID/stat (clock ticks of 10 ms). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Linux's USER_HZ is 100 on every architecture Node supports. */
const TICK_MS = 10;

function crema(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["bin/crema.js", ...args],
      { timeout: 180_000 },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`crema ${args[0]} failed: ${stderr || error.message}`))
          : resolve(stdout),
    ),
  );
}

/** Starts `count` Node processes at once; each prints its own CPU time, and this resolves to them. */
function startNodeProcesses(count: number): Promise<number[]> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ["-e", "const c = process.cpuUsage(); console.log((c.user + c.system) / 1000)"],
            { stdio: ["ignore", "pipe", "ignore"] },
          );
          let out = "";
          child.stdout.on("data", (chunk: Buffer) => {
            out += chunk;
          });
          child.once("exit", (code) =>
            code === 0 ? resolve(Number(out)) : reject(new Error(`exit ${code}`)),
          );
        }),
    ),
  );
}

const spread = (values: number[]): Spread => {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
};

export async function benchRuntimeStartup(rounds: number): Promise<RuntimeStartupResult> {
  const up: number[] = [];
  const down: number[] = [];
  const baseline: number[] = [];
  const cpu = {
    runtime: [] as number[],
    perSidecar: [] as number[],
    perApp: [] as number[],
    total: [] as number[],
  };
  const baselineCpu: number[] = [];
  let pods = 0;
  let processes = 0;
  for (let round = 0; round < rounds; round++) {
    const stateDir = mkdtempSync(join(tmpdir(), "crema-bench-up-"));
    const args = ["--state-dir", stateDir];
    const start = performance.now();
    await crema([
      "up",
      "examples/coffee-shop",
      "--detach",
      ...args,
      "--ingress-port",
      "0",
      "--ingress-tls-port",
      "0",
      "--pod-cidr",
      POD_CIDR,
    ]);
    up.push(performance.now() - start);
    // Read before anything else asks the mesh for work.
    const runtimeCpu = cpuMsOf(readRuntimeState(stateDir).pid);
    const status = JSON.parse(await crema(["status", "-o", "json", ...args])) as {
      pods: Array<{ containers: PodCpu[] }>;
    };
    const containers = status.pods.flatMap((p) => p.containers);
    const cpuOf = (list: PodCpu[]) => list.map((c) => (c.pid ? cpuMsOf(c.pid) : 0));
    const sidecars = cpuOf(containers.filter((c) => c.name === "istio-proxy"));
    const apps = cpuOf(containers.filter((c) => c.name !== "istio-proxy"));
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    cpu.runtime.push(runtimeCpu);
    cpu.perSidecar.push(sum(sidecars) / sidecars.length);
    cpu.perApp.push(sum(apps) / apps.length);
    cpu.total.push(runtimeCpu + sum(sidecars) + sum(apps));
    pods = status.pods.length;
    processes = containers.length;
    const downStart = performance.now();
    await crema(["down", ...args]);
    down.push(performance.now() - downStart);
    rmSync(stateDir, { recursive: true, force: true });
    const baselineStart = performance.now();
    const bare = await startNodeProcesses(processes);
    baseline.push(performance.now() - baselineStart);
    baselineCpu.push(sum(bare) / bare.length);
  }
  return {
    pods,
    processes,
    upMs: spread(up),
    downMs: spread(down),
    baselineMs: spread(baseline),
    cpuMs: {
      runtime: spread(cpu.runtime),
      perSidecar: spread(cpu.perSidecar),
      perApp: spread(cpu.perApp),
      total: spread(cpu.total),
    },
    baselineCpuMs: spread(baselineCpu),
  };
}
