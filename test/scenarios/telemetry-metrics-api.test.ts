// The Telemetry API's `metrics` section end to end: the real control plane turns Telemetry
// resources into Istio's `istio.stats` filters, real sidecars record (or do not record) Istio's
// metrics through them, and /stats/prometheus shows it after real requests. Config changes are
// applied live; each step waits until both proxies show the new stats config and have ACKed it.
//
// The proxies keep the series they already have, so each step looks at series only it can have
// made: the first runs before any request, the later ones ask the echo for their own status code.
// A changed filter chain serves the connections it already has until they drain (as Envoy's
// does), so after a change to the echo's listeners a step also waits until the sleep sidecar's
// pooled connections to the echo, made under the old chain, are gone.
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { telemetryYaml } from "../../src/control-plane/model/testing.ts";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  type ProxyProcess,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 73;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const ECHO = ip(1);
const SLEEP = ip(9);
let mesh: Mesh;
let echo: ProxyProcess;
let sleep: ProxyProcess;

const CONFIG = `${INJECTED_NAMESPACE_YAML}---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: ECHO, labels: { app: "echo", version: "v1" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: SLEEP, labels: { app: "sleep", version: "v1" } })}`;

/** A request from the sleep pod through its sidecar, on a connection of its own. */
function call(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: SLEEP, port: 15001, path: `http://echo${path}`, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function scrape(proxy: ProxyProcess): Promise<string> {
  const res = await fetch(`http://${proxy.ip}:15090/stats/prometheus`);
  expect(res.status).toBe(200);
  return res.text();
}

type Sample = { labels: Map<string, string>; value: number };

/** The samples of `metric` (exact name) whose labels include every `labels` pair. */
function samples(text: string, metric: string, labels: Record<string, string> = {}): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf("}");
    const found = new Map<string, string>();
    for (const m of line
      .slice(metric.length + 1, close)
      .matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      found.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v))
      out.push({ labels: found, value: Number(line.slice(close + 2)) });
  }
  return out;
}

const total = (list: Sample[]) => list.reduce((sum, s) => sum + s.value, 0);

/**
 * Polls `check` until it holds; on timeout the error shows the control plane's last logs. A step
 * waits twice (the push, then the drain) and a test makes up to three steps, so each wait is
 * bounded at 6 s.
 */
async function untilLogged(what: string, check: () => Promise<boolean>): Promise<void> {
  await until(what, check, {
    timeoutMs: 6_000,
    detail: () => mesh.controlPlane.logs().slice(-3000),
  });
}

const ECHO_CLUSTER = "outbound|80||echo.default.svc.cluster.local";

/** The sleep sidecar holds no connection to the echo (none made under an old filter chain). */
async function noPooledConnections(): Promise<boolean> {
  const text = await scrape(sleep);
  const active = samples(text, "envoy_cluster_upstream_cx_active", {
    cluster_name: ECHO_CLUSTER,
  });
  return total(active) === 0;
}

interface ProxySync {
  nodeId: string;
  types: Array<{ lastSent?: { nonce: string }; lastAck?: { nonce: string } }>;
}

/** Both proxies have ACKed the last response of every type they were sent. */
async function acked(): Promise<boolean> {
  const syncz = (await (
    await fetch(`${mesh.controlPlane.httpUrl}/debug/syncz`)
  ).json()) as ProxySync[];
  const ours = syncz.filter((p) => p.nodeId.includes(ECHO) || p.nodeId.includes(SLEEP));
  return (
    ours.length === 2 &&
    ours.every((p) => p.types.every((t) => !t.lastSent || t.lastAck?.nonce === t.lastSent.nonce))
  );
}

/**
 * Writes a config file, then waits until each proxy's own config_dump passes its check (it took
 * the new listeners) and both ACKed them (their worker threads applied them too).
 */
async function applyAndWait(
  file: string,
  yaml: string | undefined,
  expected: { echo: (dump: string) => boolean; sleep: (dump: string) => boolean },
): Promise<void> {
  const dump = async (proxy: ProxyProcess) => (await fetch(`${proxy.adminUrl}/config_dump`)).text();
  const echoBefore = await dump(echo);
  if (yaml === undefined) mesh.remove(file);
  else mesh.apply(file, yaml);
  let echoAfter = echoBefore;
  await untilLogged(`${file} is in both proxies, ACKed`, async () => {
    const [echoDump, sleepDump] = await Promise.all([dump(echo), dump(sleep)]);
    echoAfter = echoDump;
    return expected.echo(echoDump) && expected.sleep(sleepDump) && (await acked());
  });
  if (echoAfter !== echoBefore)
    await untilLogged("the echo's old filter chains drain", noPooledConnections);
}

const hasStats = (dump: string) => dump.includes('"istio.stats"');

beforeAll(async () => {
  mesh = await startMesh(SUBNET, CONFIG);
  await mesh.startEcho({ pod: "echo-1", ip: ip(1, 2) });
  echo = await mesh.startProxy({
    pod: "echo-1",
    ip: ECHO,
    labels: { app: "echo", version: "v1" },
    appAddress: ip(1, 2),
  });
  sleep = await mesh.startProxy({
    pod: "sleep",
    ip: SLEEP,
    labels: { app: "sleep", version: "v1" },
  });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
});

describe("Telemetry API metrics", () => {
  // Three steps of two waits of up to 6 s each.
  it("(d) records nothing when ALL_METRICS is disabled mesh-wide, and again once a namespace overrides", async () => {
    try {
      await applyAndWait(
        "10-mesh.yaml",
        telemetryYaml(
          "mesh-default",
          "istio-system",
          "metrics: [{overrides: [{match: {metric: ALL_METRICS}, disabled: true}]}]",
        ),
        { echo: (d) => !hasStats(d), sleep: (d) => !hasStats(d) },
      );
      for (let i = 0; i < 5; i++) expect(await call("/hello")).toBe(200);
      for (const proxy of [sleep, echo]) {
        const text = await scrape(proxy);
        // The proxy's own stats are there; Istio's are not, not even as families.
        expect(text).toContain("envoy_");
        expect(text).not.toMatch(/^(# TYPE )?istio_/m);
      }

      // A namespace Telemetry that overrides anything turns metrics back on beneath the root's.
      await applyAndWait(
        "11-namespace.yaml",
        telemetryYaml(
          "default-ns",
          "default",
          `metrics:
- overrides:
  - match: {metric: REQUEST_COUNT}
    tagOverrides: {mesh_step: {value: "'re-enabled'"}}`,
        ),
        { echo: (d) => d.includes("mesh_step"), sleep: (d) => d.includes("mesh_step") },
      );
      for (let i = 0; i < 5; i++) expect(await call("/hello")).toBe(200);
      for (const [proxy, reporter] of [
        [sleep, "source"],
        [echo, "destination"],
      ] as const) {
        const text = await scrape(proxy);
        const requests = samples(text, "istio_requests_total", { reporter });
        expect(requests.map((s) => [s.labels.get("mesh_step"), s.value])).toEqual([
          ["re-enabled", 5],
        ]);
        const duration = samples(text, "istio_request_duration_milliseconds_count", { reporter });
        expect(total(duration)).toBe(5);
      }
    } finally {
      // The later steps start from the default: the prometheus provider, no overrides.
      mesh.remove("11-namespace.yaml");
      await applyAndWait("10-mesh.yaml", undefined, {
        echo: (d) => hasStats(d) && !d.includes("mesh_step"),
        sleep: (d) => hasStats(d) && !d.includes("mesh_step"),
      });
    }
  }, 60_000);

  it("(a) reports istio_requests_total at the source and the destination by default", async () => {
    // The default metrics provider (prometheus) puts Istio's stats filter on both sidecars; the
    // destination's never takes the service from the Host header.
    const dump = async (proxy: ProxyProcess) =>
      (await fetch(`${proxy.adminUrl}/config_dump`)).text();
    for (const text of [await dump(sleep), await dump(echo)])
      expect(text).toMatch(/"@type":\s*"type\.googleapis\.com\/stats\.PluginConfig"/);
    expect(await dump(echo)).toMatch(/"disable_host_header_fallback":\s*true/);
    for (let i = 0; i < 3; i++) expect(await call("/status/201")).toBe(201);
    const pair = { source_workload: "sleep", destination_workload: "echo-1", response_code: "201" };
    const fromSleep = await scrape(sleep);
    const atEcho = await scrape(echo);
    expect(total(samples(fromSleep, "istio_requests_total", { ...pair, reporter: "source" }))).toBe(
      3,
    );
    expect(
      total(samples(atEcho, "istio_requests_total", { ...pair, reporter: "destination" })),
    ).toBe(3);
  });

  it("(b) drops the client's REQUEST_COUNT for a workload, keeping its other metrics and the server's", async () => {
    await applyAndWait(
      "12-sleep.yaml",
      telemetryYaml(
        "sleep-metrics",
        "default",
        `selector: {matchLabels: {app: sleep}}
metrics:
- overrides:
  - match: {metric: REQUEST_COUNT, mode: CLIENT}
    disabled: true`,
      ),
      { echo: (d) => !d.includes('"drop"'), sleep: (d) => d.includes('"drop"') },
    );
    for (let i = 0; i < 4; i++) expect(await call("/status/202")).toBe(202);
    const code = { response_code: "202" };
    const fromSleep = await scrape(sleep);
    expect(samples(fromSleep, "istio_requests_total", code)).toEqual([]);
    expect(
      total(
        samples(fromSleep, "istio_request_duration_milliseconds_count", {
          ...code,
          reporter: "source",
        }),
      ),
    ).toBe(4);
    const atEcho = await scrape(echo);
    expect(
      total(samples(atEcho, "istio_requests_total", { ...code, reporter: "destination" })),
    ).toBe(4);
    await applyAndWait("12-sleep.yaml", undefined, {
      echo: (d) => !d.includes('"drop"'),
      sleep: (d) => !d.includes('"drop"'),
    });
  });

  it("(c) removes and adds labels through tag overrides", async () => {
    await applyAndWait(
      "13-tags.yaml",
      telemetryYaml(
        "default-tags",
        "default",
        `metrics:
- overrides:
  - match: {metric: REQUEST_COUNT}
    tagOverrides:
      request_protocol: {operation: REMOVE}
      request_host: {value: request.host}`,
      ),
      { echo: (d) => d.includes("request_host"), sleep: (d) => d.includes("request_host") },
    );
    for (let i = 0; i < 2; i++) expect(await call("/status/203")).toBe(203);
    for (const [proxy, reporter] of [
      [sleep, "source"],
      [echo, "destination"],
    ] as const) {
      const text = await scrape(proxy);
      const [requests, ...more] = samples(text, "istio_requests_total", {
        reporter,
        response_code: "203",
      });
      expect(more).toEqual([]);
      expect(requests!.value).toBe(2);
      expect(requests!.labels.has("request_protocol")).toBe(false);
      expect(requests!.labels.get("request_host")).toBe("echo");
      // The new label comes after Istio's own; other metrics keep theirs unchanged.
      expect([...requests!.labels.keys()].at(-1)).toBe("request_host");
      const [duration] = samples(text, "istio_request_duration_milliseconds_count", {
        reporter,
        response_code: "203",
      });
      expect(duration!.labels.get("request_protocol")).toBe("http");
      expect(duration!.labels.has("request_host")).toBe(false);
      // One TYPE line per family, whatever label sets its series have.
      expect(text.match(/^# TYPE istio_requests_total counter$/gm)).toHaveLength(1);
    }
  });
});
