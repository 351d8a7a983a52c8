// `npm run bench`: runs every benchmark and prints one table per area (and `--json FILE` for
// machines). Every figure stands next to a baseline measured in the same run.
// `npm run bench -- --only config,routes` runs a subset (config, routes, lb, control-plane, proxy,
// runtime);
// `--quick` shortens the proxy benchmark to a smoke run.
import { writeFileSync } from "node:fs";
import { benchConfigValidation } from "./config-validation.ts";
import { benchControlPlane } from "./control-plane.ts";
import { benchLoadBalancers } from "./load-balancers.ts";
import { benchProxy } from "./proxy.ts";
import { benchProxyMemory } from "./proxy-memory.ts";
import { benchRouteMatch } from "./route-match.ts";
import { benchRuntimeStartup } from "./runtime-startup.ts";

const argument = (flag: string) => {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const jsonFile = argument("--json");
const only = new Set(
  (argument("--only") ?? "config,routes,lb,control-plane,proxy,runtime").split(","),
);

function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  console.log(`\n${title}\n`);
  for (const row of [header, ...rows])
    console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join("  "));
}

const quick = process.argv.includes("--quick");
const results: Record<string, unknown> = {};

if (only.has("config")) {
  const count = 10_000;
  const config = benchConfigValidation(count);
  results.configValidation = config;
  table(
    `config validation: ${count} resources, 5 runs each (median, min–max)`,
    ["scenario", "total", "per 1,000", "vs baseline"],
    config.map((r) => [
      r.name,
      `${r.medianMs.toFixed(0)} ms (${r.minMs.toFixed(0)}–${r.maxMs.toFixed(0)})`,
      `${r.perThousandMs.toFixed(1)} ms`,
      `${r.ratioToBaseline.toFixed(2)}×`,
    ]),
  );
  const full = config.at(-1)!;
  console.log(
    `target: validate + analyze 1,000 resources well under 1 s — ${full.perThousandMs < 500 ? "met" : "not met"} (${full.perThousandMs.toFixed(1)} ms)`,
  );
}

if (only.has("routes")) {
  const routes = benchRouteMatch();
  results.routeMatch = routes;
  table(
    "proxy route matching: 1,000 virtual hosts × 10 routes",
    ["scenario", "ns/op", "vs Map.get"],
    routes.map((r) => [r.name, r.nsPerOp.toFixed(0), `${r.ratioToBaseline.toFixed(1)}×`]),
  );
}

if (only.has("lb")) {
  const lbs = await benchLoadBalancers();
  results.loadBalancers = lbs;
  table(
    "proxy load balancers: ns per pick",
    ["algorithm", "hosts", "ns/pick", "vs hosts[i % n]", "update() ms"],
    lbs.map((r) => [
      r.name,
      String(r.hosts),
      r.nsPerPick.toFixed(1),
      `${r.ratioToBaseline.toFixed(1)}×`,
      r.updateMs.toFixed(2),
    ]),
  );
}

if (only.has("control-plane")) {
  const cp = await benchControlPlane(1000, 10, 100);
  results.controlPlane = cp;
  table(
    `control plane: ${cp.services} services × ${cp.endpointsPerService} endpoints, ${cp.proxies} xDS clients in this process`,
    ["measure", "value", "vs baseline (translation only)"],
    [
      [
        "translation for all proxies (baseline)",
        `${cp.baselineTranslateMs.toFixed(0)} ms`,
        "1.00×",
      ],
      [
        "first full push, all proxies ACKed",
        `${cp.firstPushMs.toFixed(0)} ms`,
        `${(cp.firstPushMs / cp.baselineTranslateMs).toFixed(2)}×`,
      ],
      [
        "convergence after one VirtualService change",
        `${cp.convergenceMs.toFixed(0)} ms`,
        `${(cp.convergenceMs / cp.baselineTranslateMs).toFixed(2)}×`,
      ],
      [
        "memory after first push (RSS / heap)",
        `${cp.rssMb.toFixed(0)} MB / ${cp.heapMb.toFixed(0)} MB`,
        "-",
      ],
    ],
  );
}

if (only.has("proxy")) {
  const options = quick
    ? { rounds: 1, durationSeconds: 2, connections: 16, fixedRate: 1000 }
    : { rounds: 5, durationSeconds: 5, connections: 16, fixedRate: 1000 };
  const rows = await benchProxy(options);
  results.proxy = { options, rows };
  const range = (s: { median: number; min: number; max: number }, digits: number) =>
    `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
  table(
    `proxy: wrk, ${options.connections} connections, ${options.durationSeconds} s × ${options.rounds} rounds, 1 KiB responses (median, min–max)`,
    ["path", "requests/s", "vs direct", "p50 ms", "p99 ms", "CPU s / 1k req", "proxy RSS MB"],
    rows.map((r) => [
      r.name,
      range(r.requestsPerSecond, 0),
      `${r.throughputVsDirect.toFixed(2)}×`,
      range(r.p50Ms, 2),
      range(r.p99Ms, 2),
      r.proxyCpuSecondsPer1k === undefined ? "-" : r.proxyCpuSecondsPer1k.toFixed(3),
      r.proxyRssMb === undefined ? "-" : r.proxyRssMb.toFixed(0),
    ]),
  );
  table(
    `proxy latency at a fixed ${options.fixedRate} req/s over ${options.connections} connections (from when each request was due; median, min–max)`,
    ["path", "p50 ms", "p90 ms", "p99 ms", "added p90 vs direct"],
    rows.map((r) => [
      r.name,
      range(r.atRate.p50Ms, 2),
      range(r.atRate.p90Ms, 2),
      range(r.atRate.p99Ms, 2),
      `${r.addedP90AtRateMs.toFixed(2)} ms`,
    ]),
  );
  const row = (prefix: string) => rows.find((r) => r.name.startsWith(prefix));
  const hop = row("one sidecar");
  const nginx = row("nginx");
  const pair = row("sidecar pair");
  const met = (ok: boolean) => (ok ? "met" : "not met");
  if (hop && nginx) {
    const throughput = hop.requestsPerSecond.median / nginx.requestsPerSecond.median;
    const p99 = hop.p99Ms.median / nginx.p99Ms.median;
    console.log(
      `target: single hop throughput ≥ 0.8 × nginx's — ${met(throughput >= 0.8)} (${throughput.toFixed(2)}×)`,
    );
    console.log(`target: single hop p99 ≤ 1.5 × nginx's — ${met(p99 <= 1.5)} (${p99.toFixed(2)}×)`);
  }
  if (pair)
    console.log(
      `target: sidecar pair p90 added latency at ${options.fixedRate} req/s ≤ 1.0 ms — ${met(pair.addedP90AtRateMs <= 1)} (${pair.addedP90AtRateMs.toFixed(2)} ms)`,
    );
  const mtls = row("sidecar pair with Istio mTLS");
  if (mtls)
    console.log(
      `target: sidecar pair with mTLS p90 added latency at ${options.fixedRate} req/s ≤ 1.3 ms — ${met(mtls.addedP90AtRateMs <= 1.3)} (${mtls.addedP90AtRateMs.toFixed(2)} ms)`,
    );
  if (hop?.proxyCpuSecondsPer1k !== undefined)
    console.log(
      `target: proxy CPU ≤ 0.25 vCPU per 1,000 req/s (0.25 s per 1,000 requests) — ${met(hop.proxyCpuSecondsPer1k <= 0.25)} (${hop.proxyCpuSecondsPer1k.toFixed(3)} s)`,
    );
  if (pair?.proxyRssMb !== undefined)
    console.log(
      `target: proxy RSS ≤ 80 MB under load — ${met(pair.proxyRssMb <= 80)} (${pair.proxyRssMb.toFixed(0)} MB)`,
    );
  const services = quick ? 100 : 1000;
  const memory = await benchProxyMemory(services);
  results.proxyMemory = memory;
  table(
    "idle sidecar memory by configuration size (one ready Pod per Service, no Sidecar resource)",
    ["services", "RSS MB", "V8 heap used MB", "RSS vs 1 service"],
    memory.map((m) => [
      String(m.services),
      m.rssMb.toFixed(0),
      m.heapUsedMb.toFixed(0),
      `${(m.rssMb / memory[0]!.rssMb).toFixed(2)}×`,
    ]),
  );
  const idle = memory[0]!;
  const large = memory.at(-1)!;
  console.log(
    `target: proxy RSS ≤ 60 MB idle — ${met(idle.rssMb <= 60)} (${idle.rssMb.toFixed(0)} MB)`,
  );
  if (large.services >= 1000)
    console.log(
      `target: proxy RSS ≤ 80 MB with 1,000 services — ${met(large.rssMb <= 80)} (${large.rssMb.toFixed(0)} MB)`,
    );
}

if (only.has("runtime")) {
  const startup = await benchRuntimeStartup(quick ? 1 : 3);
  results.runtimeStartup = startup;
  const ms = (s: { median: number; min: number; max: number }) =>
    `${(s.median / 1000).toFixed(2)} s (${(s.min / 1000).toFixed(2)}–${(s.max / 1000).toFixed(2)})`;
  table(
    `local runtime: the coffee-shop demo, ${startup.pods} pods / ${startup.processes} processes (median, min–max)`,
    ["measure", "time", "vs baseline"],
    [
      [
        `start ${startup.processes} bare Node processes at once (baseline)`,
        ms(startup.baselineMs),
        "1.00×",
      ],
      [
        "crema up --detach until every pod is ready",
        ms(startup.upMs),
        `${(startup.upMs.median / startup.baselineMs.median).toFixed(2)}×`,
      ],
    ],
  );
}

if (jsonFile) writeFileSync(jsonFile, `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
