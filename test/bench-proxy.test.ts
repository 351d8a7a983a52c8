// Smoke test of the proxy benchmark: every path produces numbers (their values are the
// benchmark's business, not a test's). Needs wrk, h2load, nginx and HAProxy, which .ci/run
// installs.
import { describe, expect, it } from "vitest";
import { benchProxy, parseWrkOutput } from "../bench/proxy.ts";
import { benchProxyMemory } from "../bench/proxy-memory.ts";
import { grpcRequestBody } from "../bench/support/grpc-bench-service.ts";
import {
  h2loadArgs,
  h2loadResult,
  parseH2loadLog,
  parseH2loadOutput,
} from "../bench/support/h2load.ts";

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

// Captured from h2load 1.52.0 (Debian's nghttp2-client) against bench/support/h2-backend.ts:
// `h2load -t1 -c2 -m2 -D 1 --warm-up-time=200ms --log-file=LOG http://127.40.4.1:8080/`.
const H2LOAD_OUTPUT = `starting benchmark...
spawning thread #0: 2 total client(s). Timing-based test with 0.2s of warm-up time and 1s of main duration for measurements.
Warm-up started for thread #0.
progress: 50% of clients started
progress: 100% of clients started
Application protocol: h2c
Warm-up phase is over for thread #0.
Main benchmark duration is started for thread #0.
Main benchmark duration is over for thread #0. Stopping all clients.
Stopped all clients for thread #0

finished in 1.20s, 9990.00 req/s, 10.10MB/s
requests: 9990 total, 9990 started, 9990 done, 9990 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 9988 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 10.10MB (10587344) total, 97.21KB (99540) headers (space savings 89.14%), 10.79MB (11313152) data
                     min         max         mean         sd        +/- sd
time for request:       79us     50.86ms       389us      1.43ms    97.70%
time for connect:        0us         0us         0us         0us     0.00%
time to 1st byte:        0us         0us         0us         0us     0.00%
req/s           :    4950.76     5036.63     4993.70       60.72   100.00%
`;
// The first lines of its log: two requests whose responses began in the warm-up (status 0).
const H2LOAD_LOG =
  "1796651975425486\t0\t4019\n1796651975425487\t0\t4062\n1796651975425523\t200\t4042\n1796651975425523\t200\t4043\n1796651975429591\t200\t386\n1796651975429591\t200\t388\n";
// Against a server answering every other request 503: `h2load -t1 -c1 -m1 -n6 --log-file=LOG URL`.
const H2LOAD_FAILED_OUTPUT = `starting benchmark...
spawning thread #0: 1 total client(s). 6 total requests
Application protocol: h2c
progress: 16% done
progress: 33% done
progress: 50% done
progress: 66% done
progress: 83% done
progress: 100% done

finished in 75.86ms, 79.09 req/s, 2.90KB/s
requests: 6 total, 6 started, 6 done, 3 succeeded, 3 failed, 0 errored, 0 timeout
status codes: 3 2xx, 0 3xx, 0 4xx, 3 5xx
traffic: 225B (225) total, 39B (39) headers (space savings 84.88%), 6B (6) data
                     min         max         mean         sd        +/- sd
time for request:      276us     33.63ms      8.88ms     14.00ms    83.33%
time for connect:      244us       244us       244us         0us   100.00%
time to 1st byte:    32.90ms     32.90ms     32.90ms         0us   100.00%
req/s           :     111.24      111.24      111.24        0.00   100.00%
`;
const H2LOAD_FAILED_LOG =
  "1796651976597911\t200\t33630\n1796651976631614\t503\t17903\n1796651976649567\t200\t630\n1796651976650218\t503\t478\n1796651976650857\t200\t331\n1796651976651204\t503\t276\n";
// With no server listening (`-D 1`, its summary): nothing completes, and h2load still exits with 0.
const H2LOAD_NOTHING_OUTPUT = `finished in 1.00s, 0.00 req/s, 0B/s
requests: 0 total, 0 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 0B (0) total, 0B (0) headers (space savings 0.00%), 0B (0) data
                     min         max         mean         sd        +/- sd
time for request:        0us         0us         0us         0us     0.00%
time for connect:        0us         0us         0us         0us     0.00%
time to 1st byte:        0us         0us         0us         0us     0.00%
req/s           :       0.00        0.00        0.00        0.00   100.00%
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

  it("reads h2load's summary: throughput, request counts and status classes", () => {
    expect(parseH2loadOutput(H2LOAD_OUTPUT)).toEqual({
      requestsPerSecond: 9990,
      succeeded: 9990,
      failed: 0,
      errored: 0,
      timedOut: 0,
      status: { "2xx": 9988, "3xx": 0, "4xx": 0, "5xx": 0 },
    });
    expect(parseH2loadOutput(H2LOAD_FAILED_OUTPUT)).toMatchObject({
      requestsPerSecond: 79.09,
      succeeded: 3,
      failed: 3,
      status: { "2xx": 3, "5xx": 3 },
    });
    expect(() => parseH2loadOutput("h2load: connection refused\n")).toThrow(/unreadable/);
  });

  it("takes p50 and p99 from h2load's per-request log, 2xx only", () => {
    // 200s at 4042, 4043, 386 and 388 µs; the two warm-up stragglers (status 0) do not count.
    expect(parseH2loadLog(H2LOAD_LOG)).toEqual({ requests: 4, p50Ms: 4.042, p99Ms: 4.043 });
    // 200s at 33630, 630 and 331 µs; the 503s do not count.
    expect(parseH2loadLog(H2LOAD_FAILED_LOG)).toEqual({ requests: 3, p50Ms: 0.63, p99Ms: 33.63 });
    expect(parseH2loadLog("").p99Ms).toBeNaN();
  });

  it("refuses an h2load run in which requests failed or none completed", () => {
    expect(h2loadResult(H2LOAD_OUTPUT, H2LOAD_LOG)).toEqual({
      requestsPerSecond: 9990,
      requests: 9990,
      p50Ms: 4.042,
      p99Ms: 4.043,
    });
    expect(() => h2loadResult(H2LOAD_FAILED_OUTPUT, H2LOAD_FAILED_LOG)).toThrow(
      /3 failed requests .*3 with a 4xx\/5xx status/,
    );
    expect(() => h2loadResult(H2LOAD_NOTHING_OUTPUT, "")).toThrow(/no request/);
  });

  it("posts gRPC to h2load as one length-prefixed message with gRPC's headers", () => {
    const body = grpcRequestBody();
    expect(body[0]).toBe(0);
    expect(body.readUInt32BE(1)).toBe(body.length - 5);
    expect(
      h2loadArgs(
        {
          url: "http://127.40.9.1:15001/bench.Bench/Unary",
          authority: "plain-grpc",
          dataFile: "/tmp/req.bin",
          headers: { "content-type": "application/grpc", te: "trailers" },
        },
        { connections: 16, streams: 4, durationSeconds: 5, warmUpSeconds: 0.5 },
        "/tmp/log",
      ),
    ).toEqual([
      "-t1",
      "-c16",
      "-m4",
      "-D",
      "5000ms",
      "--warm-up-time=500ms",
      "--log-file=/tmp/log",
      "-H",
      ":authority: plain-grpc",
      "-H",
      "content-type: application/grpc",
      "-H",
      "te: trailers",
      "-d",
      "/tmp/req.bin",
      "http://127.40.9.1:15001/bench.Bench/Unary",
    ]);
  });

  it("measures direct, one sidecar, a sidecar pair (plain and mTLS), nginx and HAProxy in one run, and HTTP/2 and gRPC direct, through one sidecar and a pair", async () => {
    const { rows, http2Rows } = await benchProxy({
      rounds: 1,
      durationSeconds: 1,
      connections: 4,
      fixedRate: 200,
      http2: { streamsPerConnection: 2, durationSeconds: 1, warmUpSeconds: 0 },
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
    expect(http2Rows.map((r) => `${r.protocol} ${r.name}`)).toEqual([
      "HTTP/2 direct (baseline)",
      "HTTP/2 one sidecar (outbound only)",
      "HTTP/2 sidecar pair (outbound → inbound)",
      "gRPC direct (baseline)",
      "gRPC one sidecar (outbound only)",
      "gRPC sidecar pair (outbound → inbound)",
    ]);
    for (const row of http2Rows) {
      expect(row.requestsPerSecond.median).toBeGreaterThan(0);
      expect(Number.isFinite(row.p50Ms.median)).toBe(true);
      expect(Number.isFinite(row.p99Ms.median)).toBe(true);
      expect(row.throughputVsDirect).toBeGreaterThan(0);
    }
    for (const row of http2Rows.filter((r) => r.name !== "direct (baseline)")) {
      expect(row.proxyCpuSecondsPer1k).toBeGreaterThan(0);
      expect(row.proxyRssMb).toBeGreaterThan(0);
    }
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
