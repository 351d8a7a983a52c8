// Smoke test of the proxy benchmark: every path produces numbers (their values are the
// benchmark's business, not a test's). Needs wrk, nginx and HAProxy, which .ci/run installs.
import { describe, expect, it } from "vitest";
import { benchProxy, parseWrkOutput } from "../bench/proxy.ts";
import { benchProxyMemory } from "../bench/proxy-memory.ts";

const WRK_OUTPUT = `Running 2s test @ http://127.0.0.1:8080/
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   710.45us    1.20ms  18.51ms   96.10%
    Req/Sec    24.01k     1.93k   26.48k    80.00%
  Latency Distribution
     50%  452.00us
     75%  599.00us
     90%    0.93ms
     99%    1.20s
  47800 requests in 2.00s, 53.37MB read
Requests/sec:  23885.12
Transfer/sec:     26.67MB
`;

describe("proxy benchmark", () => {
  it("reads wrk's throughput and latency percentiles with their units", () => {
    expect(parseWrkOutput(WRK_OUTPUT)).toEqual({
      requestsPerSecond: 23885.12,
      requests: 47800,
      p50Ms: 0.452,
      p99Ms: 1200,
    });
  });

  it("refuses a run in which responses failed", () => {
    const failed = WRK_OUTPUT.replace(
      "Requests/sec",
      "  Non-2xx or 3xx responses: 12\nRequests/sec",
    );
    expect(() => parseWrkOutput(failed)).toThrow(/12 failed responses/);
  });

  it("measures direct, one sidecar, a sidecar pair (plain and mTLS), nginx and HAProxy in one run", async () => {
    const rows = await benchProxy({
      rounds: 1,
      durationSeconds: 1,
      connections: 4,
      fixedRate: 200,
    });
    expect(rows.map((r) => r.name)).toEqual([
      "direct (baseline)",
      "one sidecar (outbound only)",
      "one sidecar, 1 thread (outbound only)",
      "one sidecar without Istio metrics (outbound only)",
      "sidecar pair (outbound → inbound)",
      "sidecar pair with Istio mTLS",
      "nginx (1 worker, upstream keep-alive)",
      "HAProxy (1 thread)",
    ]);
    for (const row of rows) {
      expect(row.requestsPerSecond.median).toBeGreaterThan(0);
      expect(Number.isFinite(row.p99Ms.median)).toBe(true);
      expect(Number.isFinite(row.atRate.p90Ms.median)).toBe(true);
    }
    expect(rows[1]!.proxyCpuSecondsPer1k).toBeGreaterThan(0);
    expect(rows[2]!.proxyRssMb).toBeGreaterThan(0);
    expect(rows[4]!.proxyCpuSecondsPer1k).toBeGreaterThan(0);
  }, 120_000);

  it("measures an idle sidecar's memory with one and with many services", async () => {
    const [one, many] = await benchProxyMemory(20);
    expect(one!.services).toBe(1);
    expect(many!.services).toBe(20);
    for (const row of [one!, many!]) {
      expect(row.rssMb).toBeGreaterThan(0);
      expect(row.heapUsedMb).toBeGreaterThan(0);
    }
  }, 60_000);
});
