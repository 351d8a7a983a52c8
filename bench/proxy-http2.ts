// The proxy benchmark's HTTP/2 and gRPC rows: h2load over cleartext HTTP/2 (h2c, prior knowledge)
// to a node:http2 backend answering 1 KiB and to a grpc-js server's unary method answering 1 KiB,
// each direct, through one crema sidecar (its outbound listener, single hop) and through a pair of
// sidecars (outbound → inbound, plaintext). The Services name their ports `http2` and `grpc`, so
// Istio's protocol selection makes them HTTP/2 services and the sidecars go upstream over HTTP/2
// (the backends speak nothing else). bench/proxy.ts starts the mesh, the backends and the
// sidecars; this file gives the mesh's config and runs the rows, alternating over rounds.
//
// gRPC load comes from h2load rather than a grpc-js client: h2load is the same C load generator as
// the HTTP/2 rows (a grpc-js client in Node would be slower than the paths it measures), and it
// posts a real length-prefixed gRPC message with gRPC's headers. It only checks HTTP statuses,
// though, and gRPC reports failures with status 200 and a grpc-status trailer (a proxy's own
// replies to gRPC requests too): so before the rounds each path gets h2load's exact request from
// node:http2, which must come back with grpc-status 0 and a decodable 1 KiB reply, and a call from
// a real grpc-js client; during each run through sidecars, the client sidecar's Istio metrics
// (istio_requests_total by grpc_response_status) must count every call as grpc-status 0; after the
// rounds the grpc-js call again. Any failure ends the benchmark.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, constants } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { podYaml, serviceYaml } from "../test/scenarios/support/mesh.ts";
import { startBackendProcess } from "./support/backend-process.ts";
import {
  checkUnaryCall,
  decodePayload,
  GRPC_REQUEST_HEADERS,
  grpcRequestBody,
  RESPONSE_BODY_BYTES,
  UNARY_PATH,
} from "./support/grpc-bench-service.ts";
import { type H2loadResult, requireH2load, runH2load } from "./support/h2load.ts";
import { cpuSeconds, rssMb } from "./support/process-usage.ts";
import { type Spread, spread } from "./support/spread.ts";

export type Http2Protocol = "HTTP/2" | "gRPC";

export interface Http2BenchOptions {
  rounds: number;
  durationSeconds: number;
  connections: number;
  /** Concurrent streams h2load keeps open on each connection (`-m`). */
  streams: number;
  /** Unmeasured load before each run (`--warm-up-time`): JIT and connection pools warm up. */
  warmUpSeconds: number;
}

export interface Http2BenchRow {
  protocol: Http2Protocol;
  name: string;
  requestsPerSecond: Spread;
  p50Ms: Spread;
  p99Ms: Spread;
  /** Median requests/s relative to the same protocol's direct connection. */
  throughputVsDirect: number;
  /** CPU seconds all proxies on the path spent per 1,000 requests (median). */
  proxyCpuSecondsPer1k?: number;
  /** Largest RSS of a proxy on the path after the scenario (median), MB. */
  proxyRssMb?: number;
}

export interface Http2Scenario {
  protocol: Http2Protocol;
  name: string;
  /** host:port h2load and the checks connect to. */
  address: string;
  /** `:authority` when it is not `address` (a sidecar's outbound listener routes on it). */
  authority?: string;
  proxies: number[];
  /** gRPC through sidecars: the client sidecar's admin and the Service its metrics name. */
  grpcMetrics?: { adminUrl: string; service: string };
}

/** An app behind its own sidecar: the Pod's IP is the sidecar's, the app listens at `appIp`. */
interface PairedPod {
  pod: string;
  app: string;
  ip: string;
  appIp: string;
}

type Ip = (host: number, n?: number) => string;

/**
 * The HTTP/2 and gRPC part of the benchmark's mesh on hosts 4–7 of bench/proxy.ts's pod network:
 * backends without a sidecar at .4.1 (HTTP/2) and .5.1 (gRPC), paired Pods at .6.1 and .7.1 with
 * their apps at .6.2 and .7.2.
 */
export function http2Mesh(ip: Ip) {
  const plain = { h2: ip(4), grpc: ip(5) };
  const paired: Record<"h2" | "grpc", PairedPod> = {
    h2: { pod: "paired-h2-1", app: "paired-h2", ip: ip(6), appIp: ip(6, 2) },
    grpc: { pod: "paired-grpc-1", app: "paired-grpc", ip: ip(7), appIp: ip(7, 2) },
  };
  const http2Port = [{ name: "http2", port: 80, targetPort: 8080 }];
  const grpcPort = [{ name: "grpc", port: 80, targetPort: 8080 }];
  const noSidecar = { "sidecar.istio.io/inject": "false" };
  const plaintext = (host: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host}, namespace: default}
spec:
  host: ${host}
  trafficPolicy: {tls: {mode: DISABLE}}
`;
  const yaml = [
    serviceYaml("plain-h2", { ports: http2Port }),
    serviceYaml("plain-grpc", { ports: grpcPort }),
    serviceYaml("paired-h2", { ports: http2Port }),
    serviceYaml("paired-grpc", { ports: grpcPort }),
    podYaml({
      name: "plain-h2-1",
      ip: plain.h2,
      labels: { app: "plain-h2", ...noSidecar },
      ports: [8080],
    }),
    podYaml({
      name: "plain-grpc-1",
      ip: plain.grpc,
      labels: { app: "plain-grpc", ...noSidecar },
      ports: [8080],
    }),
    ...Object.values(paired).map((p) =>
      podYaml({ name: p.pod, ip: p.ip, labels: { app: p.app }, ports: [8080] }),
    ),
    // Plaintext between the sidecars, as bench/proxy.ts's "sidecar pair" row.
    plaintext("paired-h2"),
    plaintext("paired-grpc"),
  ].join("---\n");
  return {
    yaml,
    /** The paired Pods' sidecars, for `mesh.startProxy`. */
    sidecars: Object.values(paired).map((p) => ({
      pod: p.pod,
      ip: p.ip,
      labels: { app: p.app },
      appAddress: p.appIp,
    })),
    /** The backends, each starting in its own process. */
    startBackends(): Promise<ChildProcess>[] {
      return [
        startBackendProcess("bench/support/h2-backend.ts", plain.h2),
        startBackendProcess("bench/support/grpc-backend.ts", plain.grpc),
        startBackendProcess("bench/support/h2-backend.ts", paired.h2.appIp),
        startBackendProcess("bench/support/grpc-backend.ts", paired.grpc.appIp),
      ];
    },
    /** The rows' paths, given the client's sidecar and the paired Pods' (in `sidecars` order). */
    scenarios(
      client: { ip: string; pid: number; adminUrl: string },
      pairs: { pid: number }[],
    ): Http2Scenario[] {
      const outbound = `${client.ip}:15001`;
      const [h2Pair, grpcPair] = pairs;
      const metrics = (service: string) => ({
        grpcMetrics: { adminUrl: client.adminUrl, service },
      });
      return (["HTTP/2", "gRPC"] as const).flatMap((protocol): Http2Scenario[] => {
        const h2 = protocol === "HTTP/2";
        return [
          {
            protocol,
            name: "direct (baseline)",
            address: `${h2 ? plain.h2 : plain.grpc}:8080`,
            proxies: [],
          },
          {
            protocol,
            name: "one sidecar (outbound only)",
            address: outbound,
            authority: h2 ? "plain-h2" : "plain-grpc",
            proxies: [client.pid],
            ...(h2 ? {} : metrics("plain-grpc")),
          },
          {
            protocol,
            name: "sidecar pair (outbound → inbound)",
            address: outbound,
            authority: h2 ? "paired-h2" : "paired-grpc",
            proxies: [client.pid, (h2 ? h2Pair : grpcPair)!.pid],
            ...(h2 ? {} : metrics("paired-grpc")),
          },
        ];
      });
    },
  };
}

const pathOf = (scenario: Http2Scenario) => (scenario.protocol === "gRPC" ? UNARY_PATH : "/");

/**
 * One request as h2load sends it, from node:http2: 200 and 1 KiB for HTTP/2; for gRPC also
 * grpc-status 0 and a reply that decodes. The benchmark refuses to measure a path that fails.
 */
function probe(scenario: Http2Scenario): Promise<void> {
  const grpc = scenario.protocol === "gRPC";
  const fail = (why: string) =>
    new Error(`${scenario.protocol} ${scenario.name} (${scenario.address}): ${why}`);
  const session = connect(`http://${scenario.address}`);
  return new Promise<void>((resolve, reject) => {
    session.once("error", (error) => reject(fail(error.message)));
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: grpc ? "POST" : "GET",
      [constants.HTTP2_HEADER_PATH]: pathOf(scenario),
      [constants.HTTP2_HEADER_AUTHORITY]: scenario.authority ?? scenario.address,
      ...(grpc ? GRPC_REQUEST_HEADERS : {}),
    });
    let status = 0;
    let grpcStatus: string | undefined;
    const chunks: Buffer[] = [];
    stream.on("response", (headers) => {
      status = Number(headers[constants.HTTP2_HEADER_STATUS]);
      // A trailers-only response carries grpc-status in its headers.
      grpcStatus ??= headers["grpc-status"] as string | undefined;
    });
    stream.on("trailers", (trailers) => {
      grpcStatus = trailers["grpc-status"] as string | undefined;
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("error", (error) => reject(fail(error.message)));
    stream.once("end", () => {
      const body = Buffer.concat(chunks);
      if (status !== 200) return reject(fail(`answered ${status}`));
      if (!grpc)
        return body.length === RESPONSE_BODY_BYTES
          ? resolve()
          : reject(fail(`a ${body.length}-byte body`));
      if (grpcStatus !== "0") return reject(fail(`grpc-status ${grpcStatus ?? "missing"}`));
      try {
        const reply = decodePayload(body.subarray(5, 5 + body.readUInt32BE(1)));
        if (reply.length !== RESPONSE_BODY_BYTES) throw new Error(`a ${reply.length}-byte reply`);
      } catch (error) {
        return reject(fail(`unreadable gRPC reply: ${(error as Error).message}`));
      }
      resolve();
    });
    stream.end(grpc ? grpcRequestBody() : undefined);
  }).finally(() => session.destroy());
}

/** A real grpc-js client's unary call over the same path (grpc-status 0, 1 KiB reply). */
async function checkGrpc(scenarios: Http2Scenario[]): Promise<void> {
  for (const s of scenarios)
    if (s.protocol === "gRPC")
      await checkUnaryCall(s.address, s.authority).catch((error: Error) => {
        throw new Error(`gRPC ${s.name}: ${error.message}`);
      });
}

interface GrpcCalls {
  /** grpc-status 0. */
  ok: number;
  /**
   * grpc-status 2 (UNKNOWN): what Envoy's and crema's metrics record for a call whose response
   * headers (200) came but whose trailers never did, as for the streams h2load resets when its
   * duration ends (those reset before their headers count with no status at all).
   */
  unknown: number;
  /** Any other grpc-status. */
  failed: number;
}

/** gRPC calls to `service` the sidecar has counted (istio_requests_total, reporter=source). */
async function grpcCalls(metrics: { adminUrl: string; service: string }): Promise<GrpcCalls> {
  const text = await (await fetch(`${metrics.adminUrl}/stats/prometheus`)).text();
  const calls = { ok: 0, unknown: 0, failed: 0 };
  for (const line of text.split("\n")) {
    if (
      !line.startsWith("istio_requests_total{") ||
      !line.includes('request_protocol="grpc"') ||
      !line.includes(`destination_service_name="${metrics.service}"`)
    )
      continue;
    const status = /grpc_response_status="([^"]*)"/.exec(line)?.[1] ?? "";
    const count = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (status === "0") calls.ok += count;
    else if (status === "2") calls.unknown += count;
    else if (status !== "") calls.failed += count;
  }
  return calls;
}

/** Every path answers h2load's request as it should, and a grpc-js call: or the run stops here. */
export async function probeHttp2(scenarios: Http2Scenario[]): Promise<void> {
  for (const scenario of scenarios) await probe(scenario);
  await checkGrpc(scenarios);
}

/** h2load over every path in turn, `rounds` times (probeHttp2 first). */
export async function benchHttp2(
  scenarios: Http2Scenario[],
  options: Http2BenchOptions,
): Promise<Http2BenchRow[]> {
  requireH2load();
  const dir = mkdtempSync(join(tmpdir(), "crema-bench-grpc-"));
  const grpcRequest = join(dir, "unary-request.bin");
  writeFileSync(grpcRequest, grpcRequestBody());
  const samples = new Map<
    Http2Scenario,
    { h2load: H2loadResult; cpuPer1k: number; rss: number }[]
  >();
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const scenario of scenarios) {
        const grpc = scenario.protocol === "gRPC";
        const callsBefore = scenario.grpcMetrics && (await grpcCalls(scenario.grpcMetrics));
        // CPU over the measured duration only, as h2load counts its requests.
        let cpuBefore: number[] = [];
        let cpu = 0;
        const h2load = await runH2load(
          {
            url: `http://${scenario.address}${pathOf(scenario)}`,
            ...(scenario.authority ? { authority: scenario.authority } : {}),
            ...(grpc ? { dataFile: grpcRequest, headers: GRPC_REQUEST_HEADERS } : {}),
          },
          options,
          {
            measuring: () => {
              cpuBefore = scenario.proxies.map(cpuSeconds);
            },
            measured: () => {
              cpu = scenario.proxies.reduce(
                (sum, pid, i) => sum + cpuSeconds(pid) - cpuBefore[i]!,
                0,
              );
            },
          },
        ).catch((error: Error) => {
          throw new Error(`${scenario.protocol} ${scenario.name}: ${error.message}`);
        });
        const rss = Math.max(0, ...scenario.proxies.map(rssMb));
        if (scenario.grpcMetrics && callsBefore) {
          const after = await grpcCalls(scenario.grpcMetrics);
          const ok = after.ok - callsBefore.ok;
          const unknown = after.unknown - callsBefore.unknown;
          const failed = after.failed - callsBefore.failed;
          // At most every open stream is cut off at the end; more UNKNOWNs are failures.
          if (failed > 0 || unknown > options.connections * options.streams || ok < h2load.requests)
            throw new Error(
              `gRPC ${scenario.name}: h2load counted ${h2load.requests} successes, but the client sidecar's istio_requests_total counted ${ok} calls with grpc-status 0, ${unknown} with 2 (UNKNOWN; up to ${options.connections * options.streams} are the streams h2load cuts off) and ${failed} with another grpc-status`,
            );
        }
        const list = samples.get(scenario) ?? [];
        list.push({ h2load, cpuPer1k: (cpu / h2load.requests) * 1000, rss });
        samples.set(scenario, list);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Still grpc-status 0 after the load.
  await checkGrpc(scenarios);
  const medianRps = (scenario: Http2Scenario) =>
    spread(samples.get(scenario)!.map((s) => s.h2load.requestsPerSecond)).median;
  return scenarios.map((scenario) => {
    const list = samples.get(scenario)!;
    const direct = scenarios.find((s) => s.protocol === scenario.protocol && !s.proxies.length);
    return {
      protocol: scenario.protocol,
      name: scenario.name,
      requestsPerSecond: spread(list.map((s) => s.h2load.requestsPerSecond)),
      p50Ms: spread(list.map((s) => s.h2load.p50Ms)),
      p99Ms: spread(list.map((s) => s.h2load.p99Ms)),
      throughputVsDirect: direct ? medianRps(scenario) / medianRps(direct) : Number.NaN,
      ...(scenario.proxies.length
        ? {
            proxyCpuSecondsPer1k: spread(list.map((s) => s.cpuPer1k)).median,
            proxyRssMb: spread(list.map((s) => s.rss)).median,
          }
        : {}),
    };
  });
}
