// h2load (nghttp2's HTTP/2 load generator, Debian's nghttp2-client) for the proxy benchmark's
// HTTP/2 and gRPC rows: runs it for a fixed duration over cleartext HTTP/2 with prior knowledge
// (h2c), and reads its summary (throughput, request counts, status classes) and its per-request
// log. h2load's summary gives only min/mean/max request times, so p50 and p99 come from
// `--log-file`, which records every completed request's status and time to the end of its response.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface H2loadSummary {
  requestsPerSecond: number;
  /** Requests that completed with a 2xx or 3xx status. */
  succeeded: number;
  /** Requests that failed, HTTP-level failures (non-2xx/3xx) included. */
  failed: number;
  /** Requests that failed other than by their status (stream reset, connection lost). */
  errored: number;
  timedOut: number;
  /** Responses by status class, as h2load counts them (also for streams cut off at the end). */
  status: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
}

export interface H2loadLatency {
  /** Completed requests in the log. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

export interface H2loadResult {
  requestsPerSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

export interface H2loadRequest {
  /** Where h2load connects, and the request's `:path` (`http://host:port/path`). */
  url: string;
  /** `:authority` instead of the URL's host:port (what a sidecar's outbound listener routes on). */
  authority?: string;
  /** POSTs this file's bytes instead of a GET. */
  dataFile?: string;
  headers?: Record<string, string>;
}

export interface H2loadLoad {
  /** h2load clients: one connection each. */
  connections: number;
  /** Concurrent streams per connection (`-m`). */
  streams: number;
  durationSeconds: number;
  /** Load before the measured `durationSeconds` (`--warm-up-time`), not counted. */
  warmUpSeconds?: number;
}

export function requireH2load(): void {
  if (spawnSync("h2load", ["--version"]).error)
    throw new Error(
      "the proxy benchmark needs h2load on the PATH (Debian: apt-get install nghttp2-client)",
    );
}

/** The summary h2load prints when it finishes. */
export function parseH2loadOutput(output: string): H2loadSummary {
  const finished = /^finished in [\d.]+(?:us|ms|s), ([\d.]+) req\/s/m.exec(output);
  const requests =
    /^requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/m.exec(
      output,
    );
  const status = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(output);
  if (!finished || !requests || !status) throw new Error(`unreadable h2load output:\n${output}`);
  return {
    requestsPerSecond: Number(finished[1]),
    succeeded: Number(requests[1]),
    failed: Number(requests[2]),
    errored: Number(requests[3]),
    timedOut: Number(requests[4]),
    status: {
      "2xx": Number(status[1]),
      "3xx": Number(status[2]),
      "4xx": Number(status[3]),
      "5xx": Number(status[4]),
    },
  };
}

/**
 * Percentiles from h2load's `--log-file`: one tab-separated line per request completed in the
 * measured duration (start in µs since the epoch, HTTP status, µs to the end of the response).
 * Only 2xx lines count: status -1 is a failed stream, and 0 one whose response began during the
 * warm-up (h2load logs it without its status).
 */
export function parseH2loadLog(log: string): H2loadLatency {
  const micros: number[] = [];
  for (const line of log.split("\n")) {
    if (line === "") continue;
    const [, status, elapsed] = line.split("\t");
    const code = Number(status);
    if (code >= 200 && code < 300) micros.push(Number(elapsed));
  }
  micros.sort((a, b) => a - b);
  const percentile = (p: number) =>
    micros.length === 0
      ? Number.NaN
      : micros[Math.min(micros.length - 1, Math.floor((p / 100) * micros.length))]! / 1000;
  return { requests: micros.length, p50Ms: percentile(50), p99Ms: percentile(99) };
}

/** A run's figures; refuses one in which any request failed or none succeeded. */
export function h2loadResult(output: string, log: string): H2loadResult {
  const summary = parseH2loadOutput(output);
  const bad = summary.status["4xx"] + summary.status["5xx"];
  if (summary.failed > 0 || summary.errored > 0 || summary.timedOut > 0 || bad > 0)
    throw new Error(
      `h2load saw ${summary.failed} failed requests (${summary.errored} errored, ${summary.timedOut} timed out, ${bad} with a 4xx/5xx status):\n${output}`,
    );
  if (summary.succeeded === 0) throw new Error(`h2load completed no request:\n${output}`);
  const latency = parseH2loadLog(log);
  return {
    requestsPerSecond: summary.requestsPerSecond,
    requests: summary.succeeded,
    p50Ms: latency.p50Ms,
    p99Ms: latency.p99Ms,
  };
}

const ms = (seconds: number) => `${Math.round(seconds * 1000)}ms`;

export function h2loadArgs(request: H2loadRequest, load: H2loadLoad, logFile: string): string[] {
  return [
    "-t1",
    `-c${load.connections}`,
    `-m${load.streams}`,
    "-D",
    ms(load.durationSeconds),
    ...(load.warmUpSeconds ? [`--warm-up-time=${ms(load.warmUpSeconds)}`] : []),
    `--log-file=${logFile}`,
    ...(request.authority ? ["-H", `:authority: ${request.authority}`] : []),
    ...Object.entries(request.headers ?? {}).flatMap(([name, value]) => [
      "-H",
      `${name}: ${value}`,
    ]),
    ...(request.dataFile ? ["-d", request.dataFile] : []),
    request.url,
  ];
}

/** h2load announces its phases on stdout as they happen (it flushes each line). */
const MEASURING = "Main benchmark duration is started";
const MEASURED = "Main benchmark duration is over";

/** Called as the measured duration starts and ends: the warm-up's costs are not the run's. */
export interface H2loadPhases {
  measuring(): void;
  measured(): void;
}

export function runH2load(
  request: H2loadRequest,
  load: H2loadLoad,
  phases?: H2loadPhases,
): Promise<H2loadResult> {
  const dir = mkdtempSync(join(tmpdir(), "crema-bench-h2load-"));
  const logFile = join(dir, "requests.log");
  return new Promise<H2loadResult>((resolve, reject) => {
    const child = spawn("h2load", h2loadArgs(request, load, logFile), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    let phase: "warm-up" | "measuring" | "measured" = "warm-up";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (phase === "warm-up" && output.includes(MEASURING)) {
        phase = "measuring";
        phases?.measuring();
      }
      if (phase === "measuring" && output.includes(MEASURED)) {
        phase = "measured";
        phases?.measured();
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", reject);
    // "close": its output is all read.
    child.once("close", (code) => {
      if (code !== 0) return reject(new Error(`h2load exited with ${code}:\n${output}`));
      if (phases && phase !== "measured")
        return reject(new Error(`h2load did not announce its measured duration:\n${output}`));
      try {
        resolve(h2loadResult(output, readFileSync(logFile, "utf8")));
      } catch (error) {
        reject(error);
      }
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
