import { request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import {
  type AdminSource,
  type DrainOptions,
  type EnvoyLogLevel,
  type RunningAdminServer,
  type ServerState,
  startAdminServer,
} from "./admin-server.ts";
import type { AdminCluster } from "./clusters-view.ts";
import { ResourceRecorder } from "./resource-recorder.ts";

const REVIEWS = "outbound|9080||reviews.default.svc.cluster.local";
const START = Date.parse("2024-05-01T10:00:00.000Z");
const NODE = {
  id: "sidecar~10.0.0.1~web.default~default.svc.cluster.local",
  cluster: "web.default",
  locality: { region: "eu", zone: "eu-1" },
};

const running: RunningAdminServer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

function fakeSource() {
  const calls = {
    drains: [] as DrainOptions[],
    levels: [] as EnvoyLogLevel[],
    quit: undefined as (() => void) | undefined,
  };
  const quitCalled = new Promise<void>((resolve) => {
    calls.quit = resolve;
  });
  const recorder = new ResourceRecorder({ now: () => START });
  const added = new Map([[REVIEWS, { name: REVIEWS, type: "EDS" }]]);
  const update: ResourceUpdate = {
    added,
    removed: [],
    full: true,
    version: "v1",
    versions: new Map([[REVIEWS, "v1"]]),
  };
  recorder.wrap(TYPE_URL.cluster, { apply: () => ({ errors: [] }) }).apply(update);
  const stats = new StatsStore();
  clusterStats(stats, REVIEWS).upstreamRqTotal.inc(5);
  stats.gauge("server.live").set(1);
  let state: ServerState = "LIVE";
  let level = "info";
  const clusters: AdminCluster[] = [
    {
      name: REVIEWS,
      type: "EDS",
      warming: false,
      hosts: [
        {
          address: "10.0.0.7:9080",
          health: "HEALTHY",
          ejected: true,
          activeRequests: 1,
          outlierEjections: 1,
        },
      ],
    },
  ];
  const source: AdminSource = {
    node: NODE,
    version: "crema/0.1.0",
    startTime: START,
    now: () => START + 65_500,
    concurrency: 2,
    drainTimeMs: 45_000,
    recorder,
    stats,
    state: () => state,
    warmingClusters: () => [],
    warmingListeners: () => [],
    clusters: () => clusters,
    listeners: () => [{ name: "virtualOutbound", address: "0.0.0.0:15001" }],
    drainListeners: (options) => {
      calls.drains.push(options);
    },
    quit: () => calls.quit?.(),
    setLogLevel: (l) => {
      calls.levels.push(l);
      level = l;
      return true;
    },
    loggers: () => ({ proxy: level, xds: level }),
  };
  return { source, calls, quitCalled, setState: (s: ServerState) => (state = s) };
}

async function start() {
  const fake = fakeSource();
  const server = await startAdminServer(fake.source, { host: "127.0.0.1", port: 0 });
  running.push(server);
  const call = async (path: string, method = "GET") => {
    const res = await fetch(`${server.url}${path}`, { method });
    return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
  };
  return { ...fake, server, call };
}

/** Sends raw bytes and returns whatever comes back before the server closes or answers. */
function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(bytes));
    let out = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      out += chunk;
    });
    socket.on("close", () => resolve(out));
    socket.on("error", reject);
  });
}

describe("admin server", () => {
  it("lists its endpoints at / and answers unknown paths with 404 and the list", async () => {
    const { call } = await start();
    const index = await call("/");
    expect(index.status).toBe(200);
    expect(index.body).toMatch(/^admin commands are:\n/);
    for (const path of ["/config_dump", "/clusters", "/stats/prometheus", "/quitquitquit"])
      expect(index.body).toContain(`  ${path}: `);
    const missing = await call("/nope?x=1");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatch(/^invalid path\. admin commands are:/);
  });

  it("reports memory in Envoy's /memory shape", async () => {
    const { call } = await start();
    const reply = await call("/memory");
    expect(reply.status).toBe(200);
    const body = JSON.parse(reply.body);
    expect(Number(body.total_physical_bytes)).toBeGreaterThan(0);
    expect(Number(body.allocated)).toBeGreaterThan(0);
    expect(Number(body.heap_size)).toBeGreaterThan(0);
    expect(Number(body.allocated)).toBe(Number(body.v8.heap_used) + Number(body.v8.external));
  });

  it("serves the config dump with its query parameters", async () => {
    const { call } = await start();
    const dump = await call("/config_dump");
    expect(dump.status).toBe(200);
    expect(dump.type).toBe("application/json");
    const configs = JSON.parse(dump.body).configs;
    expect(configs[0]).toMatchObject({ bootstrap: { node: NODE } });
    expect(configs[1].dynamic_active_clusters[0].cluster).toEqual({
      "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
      name: REVIEWS,
      type: "EDS",
    });
    const names = await call("/config_dump?resource=dynamic_active_clusters&mask=cluster.name");
    expect(JSON.parse(names.body).configs).toEqual([
      {
        "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster",
        cluster: { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster", name: REVIEWS },
      },
    ]);
    expect((await call("/config_dump?resource=nothing")).status).toBe(404);
    expect((await call("/config_dump?resource=version_info")).status).toBe(400);
    expect((await call("/config_dump?name_regex=(")).status).toBe(400);
  });

  it("serves /clusters as text and JSON", async () => {
    const { call } = await start();
    const textual = await call("/clusters");
    expect(textual.type).toContain("text/plain");
    expect(textual.body).toContain(
      `${REVIEWS}::10.0.0.7:9080::health_flags::/failed_outlier_check\n`,
    );
    expect(textual.body).toContain(`${REVIEWS}::10.0.0.7:9080::rq_active::1\n`);
    const structured = JSON.parse((await call("/clusters?format=json")).body);
    expect(structured.cluster_statuses[0].host_statuses[0].health_status).toEqual({
      eds_health_status: "HEALTHY",
      failed_outlier_check: true,
    });
  });

  it("serves /listeners as text and JSON", async () => {
    const { call } = await start();
    expect((await call("/listeners")).body).toBe("virtualOutbound::0.0.0.0:15001\n");
    expect(JSON.parse((await call("/listeners?format=json")).body)).toEqual({
      listener_statuses: [
        {
          name: "virtualOutbound",
          local_address: { socket_address: { address: "0.0.0.0", port_value: 15001 } },
        },
      ],
    });
  });

  it("serves stats as text, JSON and Prometheus, filtered", async () => {
    const { call } = await start();
    const all = await call("/stats?filter=rq_total|live");
    expect(all.body).toBe(`cluster.${REVIEWS}.upstream_rq_total: 5\nserver.live: 1\n`);
    expect(JSON.parse((await call("/stats?format=json&filter=^server")).body)).toEqual({
      stats: [{ name: "server.live", value: 1 }],
    });
    const prom = await call("/stats/prometheus?filter=upstream_rq_total");
    expect(prom.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(prom.body).toBe(
      `# TYPE envoy_cluster_upstream_rq_total counter\nenvoy_cluster_upstream_rq_total{cluster_name="${REVIEWS}"} 5\n`,
    );
    expect((await call("/stats?format=prometheus&usedonly")).body).toContain("envoy_server_live 1");
    expect((await call("/stats?filter=(")).status).toBe(400);
    expect((await call("/stats?format=html")).status).toBe(400);
  });

  it("reports server info and readiness", async () => {
    const { call, setState } = await start();
    const info = JSON.parse((await call("/server_info")).body);
    expect(info).toEqual({
      version: "crema/0.1.0",
      state: "LIVE",
      hot_restart_version: "disabled",
      command_line_options: {
        concurrency: 2,
        drain_time: "45s",
        drain_strategy: "Gradual",
        mode: "Serve",
        disable_hot_restart: true,
        restart_epoch: 0,
        service_cluster: "web.default",
        service_node: NODE.id,
        service_zone: "eu-1",
      },
      uptime_current_epoch: "65s",
      uptime_all_epochs: "65s",
      node: NODE,
    });
    expect(await call("/ready")).toMatchObject({ status: 200, body: "LIVE\n" });
    setState("INITIALIZING");
    expect(await call("/ready")).toMatchObject({ status: 503, body: "INITIALIZING\n" });
  });

  it("refuses GET on mutating endpoints with Envoy's 405", async () => {
    const { call, calls } = await start();
    for (const path of ["/drain_listeners", "/quitquitquit", "/logging?level=debug"]) {
      const res = await call(path);
      expect(res.status, path).toBe(405);
      expect(res.body).toBe("Method GET not allowed, POST required.\n");
    }
    expect(calls.drains).toEqual([]);
    expect(calls.levels).toEqual([]);
  });

  it("drains listeners on POST with Envoy's options", async () => {
    const { call, calls } = await start();
    expect(await call("/drain_listeners?inboundonly&graceful", "POST")).toMatchObject({
      status: 200,
      body: "OK\n",
    });
    expect(await call("/drain_listeners?skip_exit", "POST")).toMatchObject({ status: 400 });
    expect(await call("/drain_listeners", "POST")).toMatchObject({ status: 200 });
    expect(calls.drains).toEqual([
      { inboundOnly: true, graceful: true, skipExit: false },
      { inboundOnly: false, graceful: false, skipExit: false },
    ]);
  });

  it("answers /quitquitquit before quitting", async () => {
    const { call, quitCalled } = await start();
    expect(await call("/quitquitquit", "POST")).toMatchObject({ status: 200, body: "OK\n" });
    await quitCalled;
  });

  it("lists and changes log levels", async () => {
    const { call, calls } = await start();
    expect((await call("/logging")).body).toBe("active loggers:\n  proxy: info\n  xds: info\n");
    const changed = await call("/logging?level=debug", "POST");
    expect(changed).toMatchObject({
      status: 200,
      body: "active loggers:\n  proxy: debug\n  xds: debug\n",
    });
    expect((await call("/logging?level=warn", "POST")).status).toBe(200);
    expect(calls.levels).toEqual(["debug", "warning"]);
    const bad = await call("/logging?level=loud", "POST");
    expect(bad.status).toBe(404);
    expect(bad.body).toContain("levels: trace debug info warning error critical off");
    expect((await call("/logging?upstream=debug", "POST")).status).toBe(404);
    expect((await call("/logging", "POST")).status).toBe(200);
  });

  it("survives odd requests and a failing source", async () => {
    const { server, source, call } = await start();
    source.clusters = () => {
      throw new Error("snapshot broke");
    };
    source.drainListeners = () => Promise.reject(new Error("async failure"));
    expect((await call("/clusters")).status).toBe(500);
    expect((await call("/drain_listeners", "POST")).status).toBe(200);
    expect((await call("/stats?filter=%ZZ&format=%")).status).toBe(400);
    expect((await call("/config_dump?resource=&mask=,,.")).status).toBe(200);

    const huge = await new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/stats?filter=${"a".repeat(100_000)}`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(huge).toBe(431);

    const garbage = await raw(server.port, "NOT HTTP AT ALL\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);
    const absolute = await raw(
      server.port,
      "GET http://x/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    expect(absolute).toMatch(/^HTTP\/1\.1 404/);
    expect(await call("/ready")).toMatchObject({ status: 200 });
  });
});
