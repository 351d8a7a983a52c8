// Local runtime start-up: wall time from `crema up examples/coffee-shop --detach` to every pod
// ready (the command returns then), against a baseline measured in the same run — starting as
// many bare Node processes as the demo has processes, all at once, until each has printed.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

/** The pod network of this benchmark (bench/proxy.ts uses 127.40, proxy-memory 127.42). */
const POD_CIDR = "127.43.0.0/16";

export interface RuntimeStartupResult {
  pods: number;
  processes: number;
  upMs: { median: number; min: number; max: number };
  baselineMs: { median: number; min: number; max: number };
}

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

function startNodeProcesses(count: number): Promise<void> {
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ["-e", "console.log('up')"], {
            stdio: ["ignore", "pipe", "ignore"],
          });
          child.once("exit", (code) =>
            code === 0 ? resolve() : reject(new Error(`exit ${code}`)),
          );
        }),
    ),
  ).then(() => undefined);
}

const spread = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
};

export async function benchRuntimeStartup(rounds: number): Promise<RuntimeStartupResult> {
  const up: number[] = [];
  const baseline: number[] = [];
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
    const status = JSON.parse(await crema(["status", "-o", "json", ...args])) as {
      pods: Array<{ containers: unknown[] }>;
    };
    pods = status.pods.length;
    processes = status.pods.reduce((sum, p) => sum + p.containers.length, 0);
    await crema(["down", ...args]);
    rmSync(stateDir, { recursive: true, force: true });
    const baselineStart = performance.now();
    await startNodeProcesses(processes);
    baseline.push(performance.now() - baselineStart);
  }
  return { pods, processes, upMs: spread(up), baselineMs: spread(baseline) };
}
