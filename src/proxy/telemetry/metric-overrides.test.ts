// The stats filter's metric overrides, by istio/proxy's istio_stats rules (MetricOverrides and
// overrideTags): drops, removed standard labels, replaced values in place, new labels appended,
// expressions evaluated per stream with errors written as `unknown`; and the recorder, the
// exposition and the sum over worker threads when one family holds differing label sets.
import { describe, expect, it } from "vitest";
import { httpStreamInfo, tcpStreamInfo } from "../access-log/testing.ts";
import { compileCelExpression } from "../cel/index.ts";
import {
  HTTP_LABELS,
  ISTIO_REQUEST_DURATION_MILLISECONDS,
  ISTIO_REQUEST_MESSAGES_TOTAL,
  ISTIO_REQUESTS_TOTAL,
  ISTIO_TCP_CONNECTIONS_OPENED_TOTAL,
  TCP_LABELS,
} from "./metric-definitions.ts";
import {
  compileMetricOverrides,
  KEEP,
  type MetricConfigEntry,
  NO_OVERRIDES,
  REMOVE,
} from "./metric-overrides.ts";
import { snapshotIstioMetrics, sumIstioMetrics } from "./metrics-snapshot.ts";
import { renderIstioMetrics } from "./prometheus-exposition.ts";
import { IstioMetrics, type StreamContext } from "./request-metrics.ts";
import {
  DestinationServiceCache,
  EMPTY_WORKLOAD,
  localWorkloadFromNode,
} from "./workload-labels.ts";

function entry(
  name: string,
  options: { dimensions?: Record<string, string>; remove?: string[]; drop?: boolean } = {},
): MetricConfigEntry {
  const dimensions = Object.entries(options.dimensions ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([tag, expression]) => {
      const compiled = compileCelExpression(expression);
      if (!compiled.ok) throw new Error(compiled.error);
      return [tag, compiled.program] as const;
    });
  return { name, dimensions, tagsToRemove: options.remove ?? [], drop: options.drop ?? false };
}

const at = (label: string) => HTTP_LABELS.indexOf(label as (typeof HTTP_LABELS)[number]);

describe("compileMetricOverrides", () => {
  it("drops only a metric named by its config", () => {
    const overrides = compileMetricOverrides([
      entry("requests_total", { drop: true }),
      // An empty name matches no metric for dropping; an unknown one none at all.
      entry("", { drop: true }),
      entry("no_such_metric", { drop: true }),
    ]);
    expect(overrides.plan(ISTIO_REQUESTS_TOTAL)).toBeUndefined();
    expect(overrides.plan(ISTIO_REQUEST_DURATION_MILLISECONDS)?.identity).toBe(true);
  });

  it("removes standard labels from the named metric, or from all with no name", () => {
    const overrides = compileMetricOverrides([
      entry("requests_total", { remove: ["response_flags", "not_a_label"] }),
      entry("", { remove: ["request_protocol"] }),
    ]);
    const requests = overrides.plan(ISTIO_REQUESTS_TOTAL)!;
    expect(requests.standard[at("response_flags")]).toBe(REMOVE);
    expect(requests.standard[at("request_protocol")]).toBe(REMOVE);
    expect(requests).toMatchObject({ added: [], dynamic: false, identity: false });
    const opened = overrides.plan(ISTIO_TCP_CONNECTIONS_OPENED_TOTAL)!;
    expect(opened.standard[TCP_LABELS.indexOf("request_protocol")]).toBe(REMOVE);
    expect(opened.standard[TCP_LABELS.indexOf("response_flags")]).toBe(KEEP);
    // The message counters have no request_protocol: nothing changes for them.
    expect(overrides.plan(ISTIO_REQUEST_MESSAGES_TOTAL)?.identity).toBe(true);
  });

  it("replaces a standard label where it stands and appends other labels, later configs winning", () => {
    const overrides = compileMetricOverrides([
      entry("requests_total", {
        dimensions: { zone: "'z'", request_protocol: "request.protocol", app_tier: "'web'" },
      }),
      entry("requests_total", { dimensions: { zone: "'z2'" }, remove: ["request_protocol"] }),
    ]);
    const plan = overrides.plan(ISTIO_REQUESTS_TOTAL)!;
    const names = (ids: readonly (readonly [string, number])[]) =>
      ids.map(([name, id]) => [name, overrides.expressions[id]!.expression]);
    // Sorted by label within a config; a label added again keeps its place, takes the new value.
    expect(names(plan.added)).toEqual([
      ["app_tier", "'web'"],
      ["zone", "'z2'"],
    ]);
    expect(plan.standard[at("request_protocol")]).toBe(REMOVE);
    expect(plan.dynamic).toBe(true);
  });

  it("does not add a standard label to a metric that lacks it", () => {
    const overrides = compileMetricOverrides([entry("", { dimensions: { response_code: "'x'" } })]);
    expect(overrides.plan(ISTIO_TCP_CONNECTIONS_OPENED_TOTAL)?.identity).toBe(true);
    expect(overrides.plan(ISTIO_REQUESTS_TOTAL)?.standard[at("response_code")]).toBe(0);
  });

  it("shares one expression between labels and writes label names Prometheus accepts", () => {
    const overrides = compileMetricOverrides([
      entry("", { dimensions: { "request.host": "request.host", "9lives": "request.host" } }),
    ]);
    expect(overrides.expressions).toHaveLength(1);
    expect(overrides.plan(ISTIO_REQUESTS_TOTAL)?.added).toEqual([
      ["_9lives", 0],
      ["request_host", 0],
    ]);
  });

  it("is the identity with no configs", () => {
    expect(compileMetricOverrides([])).toBe(NO_OVERRIDES);
  });
});

const LOCAL = localWorkloadFromNode({
  id: "sidecar~10.0.0.7~reviews-v1-7c9f4d6b8d-x2kqz.default~default.svc.cluster.local",
  metadata: {
    NAMESPACE: "default",
    WORKLOAD_NAME: "reviews-v1",
    CLUSTER_ID: "Kubernetes",
    LABELS: { app: "reviews", version: "v1" },
  },
});

function stream(): StreamContext {
  return {
    reporter: "source",
    peer: { ...EMPTY_WORKLOAD, workloadName: "ratings-v1", namespace: "default" },
    destinationService: new DestinationServiceCache().resolve(undefined, "", "ratings"),
    requestProtocol: "http",
  };
}

const OK = { responseCode: 200, durationMs: 4, requestBytes: 10, responseBytes: 20 };

/** Sample lines of a family as label maps → value. */
function samples(text: string, name: string): Array<[Record<string, string>, number]> {
  const out: Array<[Record<string, string>, number]> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf("}");
    const labels: Record<string, string> = {};
    for (const m of line
      .slice(name.length + 1, close)
      .matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[m[1]!] = m[2]!;
    out.push([labels, Number(line.slice(close + 2))]);
  }
  return out;
}

describe("recording through overrides", () => {
  const overrides = compileMetricOverrides([
    entry("requests_total", {
      remove: ["request_protocol"],
      dimensions: { request_host: "request.host", source_app: "'web'" },
    }),
    entry("request_bytes", { drop: true }),
    entry("response_bytes", { dimensions: { missing: "request.headers['x-missing']" } }),
  ]);

  it("writes each metric its way: dropped, labels removed, replaced and added", () => {
    const metrics = new IstioMetrics(LOCAL);
    metrics.scope(overrides).forStream(stream()).record(OK, httpStreamInfo());
    const text = renderIstioMetrics(metrics);
    const [[requests, count]] = samples(text, "istio_requests_total") as [
      [Record<string, string>, number],
    ];
    expect(count).toBe(1);
    expect(requests).not.toHaveProperty("request_protocol");
    expect(requests.source_app).toBe("web");
    expect(requests.request_host).toBe("shop.example.com");
    // The added label comes after every standard one; the replaced one stays in place.
    const names = Object.keys(requests);
    expect(names.at(-1)).toBe("request_host");
    expect(names.indexOf("source_app")).toBe(at("source_app"));
    expect(text).not.toContain("istio_request_bytes");
    // Another metric of the same stream keeps every standard label.
    const [[duration]] = samples(text, "istio_request_duration_milliseconds_count") as [
      [Record<string, string>, number],
    ];
    expect(Object.keys(duration)).toEqual([...HTTP_LABELS]);
    // An expression that errors (no such header) is written as `unknown`, as Istio's filter does.
    const [[response]] = samples(text, "istio_response_bytes_count") as [
      [Record<string, string>, number],
    ];
    expect(response.missing).toBe("unknown");
  });

  it("evaluates per stream: different values, different series", () => {
    const metrics = new IstioMetrics(LOCAL);
    const key = metrics.scope(overrides).forStream(stream());
    key.record(OK, httpStreamInfo());
    key.record(OK, httpStreamInfo());
    key.record(OK, httpStreamInfo({ requestHeaders: { ":authority": "other.example.com" } }));
    const hosts = samples(renderIstioMetrics(metrics), "istio_requests_total").map(
      ([labels, value]) => [labels.request_host, value],
    );
    expect(hosts).toEqual([
      ["shop.example.com", 2],
      ["other.example.com", 1],
    ]);
  });

  it("keeps the shared fast path for a config without expressions", () => {
    const metrics = new IstioMetrics(LOCAL);
    const removeOnly = compileMetricOverrides([entry("", { remove: ["source_principal"] })]);
    const key = metrics.scope(removeOnly).forStream(stream());
    key.record(OK, httpStreamInfo());
    const before = metrics.counters();
    for (let i = 0; i < 1000; i++) metrics.scope(removeOnly).forStream(stream()).record(OK);
    // forStream builds peer labels for each fresh context object; record builds nothing.
    expect(metrics.counters().series).toBe(before.series);
    expect(samples(renderIstioMetrics(metrics), "istio_requests_total")[0]![1]).toBe(1001);
  });

  it("evaluates a TCP connection's expressions once, when its open is counted", () => {
    const metrics = new IstioMetrics(LOCAL);
    const tcp = compileMetricOverrides([
      entry("tcp_connections_opened_total", { dimensions: { peer: "source.address" } }),
    ]);
    const conn = metrics
      .scope(tcp)
      .forConnection({ ...stream(), responseFlags: "-" }, tcpStreamInfo());
    conn.opened();
    conn.closed();
    const text = renderIstioMetrics(metrics);
    expect(samples(text, "istio_tcp_connections_opened_total")[0]![0].peer).toBe("10.0.0.1:40001");
    expect(samples(text, "istio_tcp_connections_closed_total")[0]![0]).not.toHaveProperty("peer");
  });
});

describe("one family, differing label sets", () => {
  it("is one TYPE line in a valid exposition, and threads sum series by their labels", () => {
    const thread = () => new IstioMetrics(LOCAL);
    const plain = thread();
    plain.forStream(stream()).record(OK);
    const trimmed = thread();
    const removeAll = compileMetricOverrides([
      entry("requests_total", { remove: [...HTTP_LABELS] }),
    ]);
    trimmed.scope(removeAll).forStream(stream()).record(OK);
    trimmed.scope(removeAll).forStream(stream()).record(OK);
    trimmed.forStream(stream()).record(OK);
    const sum = sumIstioMetrics(plain, [snapshotIstioMetrics(trimmed)]);
    const text = renderIstioMetrics(sum);
    expect(text.match(/^# TYPE istio_requests_total counter$/gm)).toHaveLength(1);
    expect(text).toContain("istio_requests_total{} 2\n");
    const full = samples(text, "istio_requests_total").filter(([l]) => Object.keys(l).length > 0);
    expect(full.map(([, v]) => v)).toEqual([2]);
    // Every sample line parses, the label-less histogram ones included.
    const all = compileMetricOverrides([entry("", { remove: [...HTTP_LABELS] })]);
    sum.scope(all).forStream(stream()).record(OK);
    for (const line of renderIstioMetrics(sum)
      .split("\n")
      .filter((l) => l && !l.startsWith("#")))
      expect(line).toMatch(
        /^[a-z_]+\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"(?:,|(?=\})))*\} \S+$/,
      );
    expect(renderIstioMetrics(sum)).toContain('istio_request_bytes_bucket{le="+Inf"} 1\n');
  });
});
