// Smoke test of `npm run bench -- --quick` for the areas without a smoke test of their own
// (bench-proxy.test.ts and bench-control-plane.test.ts cover theirs): the driver runs end to
// end and every scenario produced numbers. Their values are the benchmark's business.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RuntimeStartupResult } from "../bench/runtime-startup.ts";

interface QuickResults {
  configValidation: Array<{ name: string; medianMs: number; perThousandMs: number }>;
  routeMatch: Array<{ name: string; nsPerOp: number }>;
  loadBalancers: Array<{ name: string; hosts: number; nsPerPick: number; updateMs: number }>;
  runtimeStartup: RuntimeStartupResult;
}

function runBench(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      ["bench/run.ts", ...args],
      { timeout: 110_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

describe("npm run bench -- --quick", () => {
  it("measures configuration validation, route matching, load balancers and the demo's start-up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "crema-bench-quick-"));
    try {
      const json = join(dir, "results.json");
      const printed = await runBench([
        "--quick",
        "--only",
        "config,routes,lb,runtime",
        "--json",
        json,
      ]);
      const results = JSON.parse(readFileSync(json, "utf8")) as QuickResults;
      expect(results.configValidation.map((r) => r.name)).toHaveLength(3);
      for (const row of results.configValidation) expect(row.perThousandMs).toBeGreaterThan(0);
      expect(results.routeMatch.length).toBeGreaterThanOrEqual(6);
      for (const row of results.routeMatch) expect(row.nsPerOp).toBeGreaterThan(0);
      expect(new Set(results.loadBalancers.map((r) => r.hosts))).toEqual(new Set([10, 1000]));
      for (const row of results.loadBalancers) expect(row.nsPerPick).toBeGreaterThan(0);
      expect(results.runtimeStartup.pods).toBeGreaterThanOrEqual(10);
      expect(results.runtimeStartup.upMs.median).toBeGreaterThan(0);
      expect(results.runtimeStartup.downMs.median).toBeGreaterThan(0);
      expect(results.runtimeStartup.baselineMs.median).toBeGreaterThan(0);
      expect(results.runtimeStartup.cpuMs.perSidecar.median).toBeGreaterThan(0);
      expect(results.runtimeStartup.cpuMs.runtime.median).toBeGreaterThan(0);
      expect(results.runtimeStartup.baselineCpuMs.median).toBeGreaterThan(0);
      expect(printed).toContain("crema up --detach until every pod is ready and synced");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
