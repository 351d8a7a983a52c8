// Micro-benchmark: ns per pick of each load balancer (10 and 1,000 hosts) vs `hosts[i % n]`.
import { performance } from "node:perf_hooks";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { Host } from "../src/proxy/upstream/lb/host-set.ts";
import {
  createLoadBalancer,
  LB_POLICIES,
  type LbPolicy,
  type LoadBalancer,
  type PickContext,
} from "../src/proxy/upstream/lb/load-balancer.ts";
import { seededRandomSource } from "../src/proxy/upstream/lb/random-source.ts";
import { makeHosts, seededHashes } from "../src/proxy/upstream/lb/testing.ts";

export interface LoadBalancerBenchResult {
  name: string;
  hosts: number;
  nsPerPick: number;
  /** ns per pick of `hosts[i % n]`, measured in the same worker. */
  baselineNs: number;
  ratioToBaseline: number;
  /** Time to build schedules/tables for the host set (median, after a warm-up). */
  updateMs: number;
}

interface Variant {
  kind: "lb-bench";
  name: string;
  policy: LbPolicy;
  hosts: number;
  weighted: boolean;
  picks: number;
  runs: number;
}

/** Median over `runs` of the ns per iteration of `body(picks)`, after a warm-up. */
function nsPer(picks: number, runs: number, body: (picks: number) => unknown): number {
  body(picks);
  const samples: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    body(picks);
    samples.push(((performance.now() - start) * 1e6) / picks);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

function baseline(hosts: readonly Host[]): (picks: number) => number {
  return (picks) => {
    let sink = 0;
    const n = hosts.length;
    for (let i = 0; i < picks; i++) sink += hosts[i % n]!.port;
    return sink;
  };
}

function picker(lb: LoadBalancer, contexts: readonly PickContext[] | undefined) {
  return (picks: number) => {
    let sink = 0;
    for (let i = 0; i < picks; i++) sink += lb.pick(contexts?.[i & 4095])?.port ?? 0;
    return sink;
  };
}

function measure(variant: Variant): LoadBalancerBenchResult {
  const hosts = makeHosts(variant.hosts, (i) => ({ weight: variant.weighted ? 1 + (i % 5) : 1 }));
  const hashed = variant.policy === "RING_HASH" || variant.policy === "MAGLEV";
  const contexts = hashed ? seededHashes(4096, 1).map((hash) => ({ hash })) : undefined;
  const lb = createLoadBalancer(variant.policy, { randomSource: seededRandomSource(7) });
  const updateMs = nsPer(1, variant.runs, () => lb.update({ hosts })) / 1e6;
  const baselineNs = nsPer(variant.picks, variant.runs, baseline(hosts));
  const nsPerPick = nsPer(variant.picks, variant.runs, picker(lb, contexts));
  return {
    name: variant.name,
    hosts: variant.hosts,
    nsPerPick,
    baselineNs,
    ratioToBaseline: nsPerPick / baselineNs,
    updateMs,
  };
}

function inWorker(variant: Variant): Promise<LoadBalancerBenchResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: variant });
    worker.once("message", resolve);
    worker.once("error", reject);
  });
}

/**
 * Each measurement runs in a fresh worker so earlier algorithms don't skew the JIT's view of
 * later ones; update() is timed too. Run alone with `node bench/load-balancers.ts`.
 */
export async function benchLoadBalancers(
  options: { picks?: number; runs?: number } = {},
): Promise<LoadBalancerBenchResult[]> {
  const picks = options.picks ?? 1_000_000;
  const runs = options.runs ?? 5;
  const variants: Variant[] = [10, 1_000].flatMap((hosts) =>
    LB_POLICIES.flatMap((policy) => {
      const weightedToo = policy === "ROUND_ROBIN" || policy === "LEAST_REQUEST";
      return [false, ...(weightedToo ? [true] : [])].map((weighted) => ({
        kind: "lb-bench" as const,
        name: weighted ? `${policy} (weighted: EDF)` : policy,
        policy,
        hosts,
        weighted,
        picks,
        runs,
      }));
    }),
  );
  const results: LoadBalancerBenchResult[] = [];
  for (const variant of variants) results.push(await inWorker(variant));
  return results;
}

if (!isMainThread && (workerData as Variant | undefined)?.kind === "lb-bench") {
  parentPort?.postMessage(measure(workerData as Variant));
} else if (import.meta.main) {
  console.log("load balancers: ns per pick, median of 5 runs of 1,000,000 picks\n");
  const rows = (await benchLoadBalancers()).map((r) => [
    r.name,
    String(r.hosts),
    `${r.nsPerPick.toFixed(1)} ns`,
    `${r.baselineNs.toFixed(1)} ns`,
    `${r.ratioToBaseline.toFixed(1)}×`,
    `${r.updateMs.toFixed(2)} ms`,
  ]);
  const header = ["algorithm", "hosts", "per pick", "hosts[i % n]", "vs baseline", "update()"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  for (const row of [header, ...rows])
    console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  "));
}
