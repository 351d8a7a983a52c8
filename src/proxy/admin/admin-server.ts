// The proxy's admin server (Envoy's :15000): config dump, clusters, listeners, stats, server
// info and readiness to read; drain, quit and log levels to change (POST only, as Envoy).
// What it shows comes from an AdminSource the proxy assembles; nothing here holds proxy state.

import type { ServerResponse } from "node:http";
import { describeError } from "../../base/errors.ts";
import type { Logger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { withTemporaryRe2 } from "../routing/re2-pool.ts";
import {
  PROMETHEUS_CONTENT_TYPE,
  renderPrometheus,
  renderStatsJson,
  renderStatsText,
  selectStats,
} from "../stats/prometheus.ts";
import type { StatsStore } from "../stats/stats-store.ts";
import { appendIstioMetrics } from "../telemetry/prometheus-exposition.ts";
import type { IstioMetrics } from "../telemetry/request-metrics.ts";
import { type AdminCluster, renderClustersJson, renderClustersText } from "./clusters-view.ts";
import { buildConfigDump, parseConfigDumpQuery } from "./config-dump.ts";
import {
  type ListenAddress,
  listenHttp,
  type RunningHttpServer,
  splitTarget,
} from "./http-listen.ts";
import { type AdminListener, renderListenersJson, renderListenersText } from "./listeners-view.ts";
import type { ResourceRecorder } from "./resource-recorder.ts";

/** envoy.admin.v3.ServerInfo.State. */
export type ServerState = "PRE_INITIALIZING" | "INITIALIZING" | "LIVE" | "DRAINING";

/** Envoy's log level names, as `/logging?level=` takes them. */
export const ENVOY_LOG_LEVELS = [
  "trace",
  "debug",
  "info",
  "warning",
  "error",
  "critical",
  "off",
] as const;
export type EnvoyLogLevel = (typeof ENVOY_LOG_LEVELS)[number];

export interface DrainOptions {
  /** `?inboundonly`: only listeners with traffic_direction INBOUND. */
  readonly inboundOnly: boolean;
  /** `?graceful`: a drain period (--drain-time-s) before the listeners close. */
  readonly graceful: boolean;
  /** `?skip_exit` (with graceful): keep the listeners after the drain period. */
  readonly skipExit: boolean;
}

/** Everything the admin server shows or changes, supplied by the proxy. */
export interface AdminSource {
  /** Envoy's Node (proto3 JSON). */
  readonly node: JsonObject;
  /** Further Bootstrap fields for the config dump (admin, dynamic_resources …). */
  readonly bootstrap?: JsonObject;
  /** server_info.version (default "crema"). */
  readonly version?: string;
  /** Process start, epoch milliseconds. */
  readonly startTime: number;
  /** Epoch milliseconds (default Date.now); uptime is measured with it. */
  readonly now?: () => number;
  /** Worker count (--concurrency). */
  readonly concurrency: number;
  /** --drain-time-s, in milliseconds. */
  readonly drainTimeMs?: number;
  readonly recorder: ResourceRecorder;
  readonly stats: StatsStore;
  state(): ServerState;
  warmingClusters(): readonly string[];
  warmingListeners(): readonly string[];
  /** `describeClusters(clusterManager)`, or the bare `clusterManager.snapshot()`. */
  clusters(): readonly AdminCluster[];
  listeners(): readonly AdminListener[];
  drainListeners(options: DrainOptions): void | Promise<void>;
  /** Called once `/quitquitquit` has been answered. */
  quit(): void | Promise<void>;
  /** Sets every logger's level; false if the proxy cannot. */
  setLogLevel(level: EnvoyLogLevel): boolean;
  /** The current level of each logger, by name (Envoy's "active loggers"). */
  loggers(): Readonly<Record<string, string>>;
  /** Where failures of drain and quit are reported. */
  readonly logger?: Logger;
  /**
   * Runs before each request is answered: a proxy with worker threads waits until they serve
   * what the main thread accepted and gathers their stats, so answers cover every thread.
   */
  refresh?(): Promise<void>;
  /** Istio's standard metrics, appended to `/stats/prometheus`; absent: none. */
  istioMetrics?(): IstioMetrics;
}

const TEXT = "text/plain; charset=UTF-8";
const JSON_TYPE = "application/json";

interface Reply {
  status: number;
  body: string;
  type?: string;
  /** Runs once the reply has gone out. */
  after?: () => void;
}

interface Endpoint {
  readonly path: string;
  readonly help: string;
  /** Changes the server: POST only (Envoy's mutates_server_state). */
  readonly mutates?: boolean;
  readonly params?: readonly string[];
  handle(query: URLSearchParams, method: string): Reply;
}

const text = (body: string, status = 200): Reply => ({ status, body, type: TEXT });
const json = (value: unknown, status = 200): Reply => ({
  status,
  body: `${JSON.stringify(value, null, 1)}\n`,
  type: JSON_TYPE,
});

/**
 * Envoy's /memory shape (uint64 as strings, tcmalloc's names) filled from V8: `allocated` is what
 * the JS heap and external buffers hold, `heap_size` the heap V8 reserved, `total_physical_bytes`
 * the process's RSS; the page-heap and thread-cache figures have no V8 counterpart and stay 0.
 * The `v8` object adds what the mapping leaves out.
 */
export function memoryStats(usage: NodeJS.MemoryUsage): Record<string, unknown> {
  return {
    allocated: String(usage.heapUsed + usage.external),
    heap_size: String(usage.heapTotal),
    pageheap_unmapped: "0",
    pageheap_free: "0",
    total_thread_cache: "0",
    total_physical_bytes: String(usage.rss),
    v8: {
      heap_used: String(usage.heapUsed),
      external: String(usage.external),
      array_buffers: String(usage.arrayBuffers),
    },
  };
}

/** A Duration in proto3 JSON: whole seconds, or with the fraction. */
function duration(ms: number): string {
  return `${Math.max(0, ms) / 1000}s`;
}

function endpoints(source: AdminSource): Endpoint[] {
  const now = source.now ?? Date.now;
  const list: Endpoint[] = [
    { path: "/", help: "Admin home page", handle: () => text(help(list)) },
    {
      path: "/clusters",
      help: "upstream cluster status",
      params: ["format: text (default) or json"],
      handle: (q) =>
        q.get("format") === "json"
          ? json(renderClustersJson(source.clusters()))
          : text(renderClustersText(source.clusters())),
    },
    {
      path: "/config_dump",
      help: "dump current Envoy configs",
      params: [
        "resource: one repeated field, e.g. dynamic_active_clusters",
        "mask: field paths to keep, comma-separated",
        "name_regex: RE2 the resource names must match",
        "include_eds: add the endpoint configs",
      ],
      handle: (q) => {
        const result = buildConfigDump(
          {
            node: source.node,
            ...(source.bootstrap ? { bootstrap: source.bootstrap } : {}),
            startTime: source.startTime,
            recorder: source.recorder,
            warmingClusters: source.warmingClusters(),
            warmingListeners: source.warmingListeners(),
          },
          parseConfigDumpQuery(q),
        );
        return result.status === 200 ? json(result.body) : text(`${result.error}\n`, result.status);
      },
    },
    {
      path: "/drain_listeners",
      help: "drain listeners",
      mutates: true,
      params: ["inboundonly: inbound listeners only", "graceful", "skip_exit (with graceful)"],
      handle: (q) => {
        const options = {
          inboundOnly: q.has("inboundonly"),
          graceful: q.has("graceful"),
          skipExit: q.has("skip_exit"),
        };
        if (options.skipExit && !options.graceful)
          return text("skip_exit requires graceful\n", 400);
        settle(source, "drain_listeners", () => source.drainListeners(options));
        return text("OK\n");
      },
    },
    {
      path: "/help",
      help: "print out list of admin commands",
      handle: () => text(help(list)),
    },
    {
      path: "/listeners",
      help: "print listener info",
      params: ["format: text (default) or json"],
      handle: (q) =>
        q.get("format") === "json"
          ? json(renderListenersJson(source.listeners()))
          : text(renderListenersText(source.listeners())),
    },
    {
      path: "/logging",
      help: "query/change logging levels",
      params: [`level: one of ${ENVOY_LOG_LEVELS.join(", ")} (POST)`],
      handle: (q, method) => logging(source, q, method),
    },
    {
      path: "/quitquitquit",
      help: "exit the server",
      mutates: true,
      handle: () => ({
        ...text("OK\n"),
        after: () => settle(source, "quitquitquit", () => source.quit()),
      }),
    },
    {
      path: "/memory",
      help: "print current allocation/heap usage",
      handle: () => json(memoryStats(process.memoryUsage())),
    },
    {
      path: "/ready",
      help: "print server state, return 200 if LIVE, otherwise return 503",
      handle: () => {
        const state = source.state();
        return text(`${state}\n`, state === "LIVE" ? 200 : 503);
      },
    },
    {
      path: "/server_info",
      help: "print server version/status information",
      handle: () => json(serverInfo(source, now())),
    },
    {
      path: "/stats",
      help: "print server stats",
      params: [
        "filter: RE2 the stat names must contain",
        "usedonly",
        "format: text, json or prometheus",
      ],
      handle: (q) => stats(source, q, q.get("format") ?? "text"),
    },
    {
      path: "/stats/prometheus",
      help: "print server stats in prometheus format",
      params: ["filter: RE2 the stat names must contain", "usedonly"],
      handle: (q) => stats(source, q, "prometheus"),
    },
  ];
  return list;
}

function help(list: readonly Endpoint[]): string {
  let out = "admin commands are:\n";
  for (const e of list) {
    out += `  ${e.path}: ${e.help}\n`;
    for (const p of e.params ?? []) out += `      ${p}\n`;
  }
  return out;
}

/** Runs a drain/quit callback; a failure is logged, never thrown into the HTTP server. */
function settle(source: AdminSource, what: string, run: () => void | Promise<void>): void {
  const report = (error: unknown) => source.logger?.error({ err: error }, `admin ${what} failed`);
  try {
    const result = run();
    if (result) result.catch(report);
  } catch (error) {
    report(error);
  }
}

function stats(source: AdminSource, q: URLSearchParams, format: string): Reply {
  const store = source.stats;
  const filter = q.get("filter");
  const selected = selectStats(store, {
    ...(filter !== null ? { filter } : {}),
    usedOnly: q.has("usedonly"),
  });
  if (!selected.ok) return text(`${selected.reason}\n`, 400);
  switch (format) {
    case "text":
      return text(renderStatsText(selected.stats));
    case "json":
      return json(renderStatsJson(selected.stats));
    case "prometheus":
      return {
        status: 200,
        body: prometheusText(source, selected.stats, filter),
        type: PROMETHEUS_CONTENT_TYPE,
      };
    default:
      return text(`unknown format ${JSON.stringify(format)}: use text, json or prometheus\n`, 400);
  }
}

/** Envoy's exposition of the selected stats, then Istio's standard metrics (istio_*). */
function prometheusText(
  source: AdminSource,
  selected: Parameters<typeof renderPrometheus>[0],
  filter: string | null,
): string {
  const envoy = renderPrometheus(selected);
  const istio = source.istioMetrics?.();
  if (!istio) return envoy;
  if (filter === null || filter === "") return appendIstioMetrics(envoy, istio);
  // The filter compiled fine for the stats above.
  const filtered = withTemporaryRe2(filter, "u", (re) =>
    appendIstioMetrics(envoy, istio, { filter: (name) => re.test(name) }),
  );
  return filtered.ok ? filtered.value : envoy;
}

/** What `/stats/prometheus` answers, for the agent's merged endpoint (every thread's stats). */
export async function prometheusExposition(source: AdminSource): Promise<string> {
  await source.refresh?.();
  return stats(source, new URLSearchParams(), "prometheus").body;
}

/** `/stats/prometheus` alone, as Envoy's 15090 listener serves it. */
export function startPrometheusServer(
  source: AdminSource,
  address: ListenAddress,
): Promise<RunningHttpServer> {
  return listenHttp((req, res) => {
    const { path, query } = splitTarget(req.url);
    if (path !== "/stats/prometheus")
      return send(res, text("only /stats/prometheus is served here\n", 404));
    const answer = () => send(res, stats(source, query, "prometheus"));
    if (!source.refresh) return answer();
    source
      .refresh()
      .then(answer, (error: unknown) => send(res, text(`${describeError(error)}\n`, 500)));
  }, address);
}

function activeLoggers(source: AdminSource): string {
  let out = "active loggers:\n";
  for (const [name, level] of Object.entries(source.loggers())) out += `  ${name}: ${level}\n`;
  return out;
}

function loggingUsage(error: string): string {
  return `error: ${error}\n\nusage: /logging?level=<level> (change all levels)\nlevels: ${ENVOY_LOG_LEVELS.join(" ")}\n`;
}

/** GET lists the loggers (crema's addition); POST changes the level, as Envoy. */
function logging(source: AdminSource, q: URLSearchParams, method: string): Reply {
  const keys = [...q.keys()];
  if (keys.length === 0) return text(activeLoggers(source));
  if (method !== "POST") return notPost(method);
  const unknown = keys.find((k) => k !== "level");
  if (unknown !== undefined)
    return text(loggingUsage(`unsupported parameter ${JSON.stringify(unknown)}`), 404);
  const asked = q.get("level") ?? "";
  const level = asked === "warn" ? "warning" : asked;
  if (!(ENVOY_LOG_LEVELS as readonly string[]).includes(level))
    return text(loggingUsage(`unknown logger level ${JSON.stringify(asked)}`), 404);
  if (!source.setLogLevel(level as EnvoyLogLevel))
    return text(loggingUsage(`the proxy cannot set level ${level}`), 500);
  return text(activeLoggers(source));
}

function serverInfo(source: AdminSource, now: number): JsonObject {
  const node = source.node;
  const locality = node.locality;
  const zone =
    typeof locality === "object" && locality !== null && !Array.isArray(locality)
      ? locality.zone
      : undefined;
  const uptime = duration(Math.floor((now - source.startTime) / 1000) * 1000);
  return {
    version: source.version ?? "crema",
    state: source.state(),
    hot_restart_version: "disabled",
    command_line_options: {
      concurrency: source.concurrency,
      ...(source.drainTimeMs !== undefined ? { drain_time: duration(source.drainTimeMs) } : {}),
      drain_strategy: "Gradual",
      mode: "Serve",
      disable_hot_restart: true,
      restart_epoch: 0,
      ...(typeof node.cluster === "string" ? { service_cluster: node.cluster } : {}),
      ...(typeof node.id === "string" ? { service_node: node.id } : {}),
      ...(typeof zone === "string" && zone !== "" ? { service_zone: zone } : {}),
    },
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
    node,
  };
}

function notPost(method: string): Reply {
  return text(`Method ${method} not allowed, POST required.\n`, 405);
}

function send(res: ServerResponse, reply: Reply): void {
  if (reply.after) res.once("close", reply.after);
  res.writeHead(reply.status, {
    "content-type": reply.type ?? TEXT,
    "content-length": Buffer.byteLength(reply.body),
    "cache-control": "no-cache, max-age=0",
    "x-content-type-options": "nosniff",
  });
  res.end(reply.body);
}

export type RunningAdminServer = RunningHttpServer;

/** Starts the admin server on `address` (Envoy's 127.0.0.1:15000; port 0 picks one). */
export function startAdminServer(
  source: AdminSource,
  address: ListenAddress,
): Promise<RunningAdminServer> {
  const list = endpoints(source);
  const byPath = new Map(list.map((e) => [e.path, e]));
  return listenHttp((req, res) => {
    const { path, query } = splitTarget(req.url);
    const method = req.method ?? "GET";
    const endpoint = byPath.get(path);
    if (!endpoint) return send(res, text(`invalid path. ${help(list)}`, 404));
    if (endpoint.mutates && method !== "POST") return send(res, notPost(method));
    if (!source.refresh) return send(res, endpoint.handle(query, method));
    source.refresh().then(
      () => send(res, endpoint.handle(query, method)),
      (error: unknown) => send(res, text(`${describeError(error)}\n`, 500)),
    );
  }, address);
}
