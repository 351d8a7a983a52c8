import { describe, expect, it } from "vitest";
import { renderPrometheus, selectStats } from "../stats/prometheus.ts";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import { HTTP_LABELS, PEER_LABELS, TCP_LABELS } from "./metric-definitions.ts";
import { appendIstioMetrics, renderIstioMetrics } from "./prometheus-exposition.ts";
import { IstioMetrics } from "./request-metrics.ts";
import {
  EMPTY_WORKLOAD,
  localWorkloadFromNode,
  resolveDestinationService,
  type WorkloadMetadata,
} from "./workload-labels.ts";

const LOCAL = localWorkloadFromNode({
  id: "sidecar~10.0.0.7~reviews-v1-7c9f4d6b8d-x2kqz.default~default.svc.cluster.local",
  metadata: {
    NAMESPACE: "default",
    WORKLOAD_NAME: "reviews-v1",
    CLUSTER_ID: "Kubernetes",
    LABELS: { app: "reviews", version: "v1" },
  },
});

const PRODUCTPAGE: WorkloadMetadata = {
  ...EMPTY_WORKLOAD,
  namespace: "default",
  workloadName: "productpage-v1",
  canonicalName: "productpage",
  canonicalRevision: "v1",
  app: "productpage",
  version: "v1",
  clusterId: "Kubernetes",
};

const REVIEWS = resolveDestinationService({
  cluster: {
    name: "inbound|9080||",
    metadata: {
      istio: {
        services: [
          { host: "reviews.default.svc.cluster.local", name: "reviews", namespace: "default" },
        ],
      },
    },
  },
});

const L =
  'reporter="destination",source_workload="productpage-v1",source_canonical_service="productpage",' +
  'source_canonical_revision="v1",source_workload_namespace="default",source_principal="unknown",' +
  'source_app="productpage",source_version="v1",source_cluster="Kubernetes",' +
  'destination_workload="reviews-v1",destination_workload_namespace="default",' +
  'destination_principal="unknown",destination_app="reviews",destination_version="v1",' +
  'destination_service="reviews.default.svc.cluster.local",destination_canonical_service="reviews",' +
  'destination_canonical_revision="v1",destination_service_name="reviews",' +
  'destination_service_namespace="default",destination_cluster="Kubernetes",' +
  'request_protocol="http",response_code="200",grpc_response_status="",response_flags="-",' +
  'connection_security_policy="none"';

interface Sample {
  name: string;
  labels: [string, string][];
  value: number;
}
interface Family {
  name: string;
  type: string;
  samples: Sample[];
}

const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseLabels(block: string): [string, string][] {
  const labels: [string, string][] = [];
  let rest = block.slice(1, -1);
  while (rest !== "") {
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad label block at ${JSON.stringify(rest.slice(0, 40))}`);
    labels.push([m[1]!, unescapeLabel(m[2]!)]);
    rest = rest.slice(m[0].length);
    if (rest.startsWith(",")) rest = rest.slice(1);
    else if (rest !== "") throw new Error(`expected , at ${JSON.stringify(rest.slice(0, 40))}`);
  }
  return labels;
}

/** A small parser of the text format that throws on anything Prometheus would reject. */
function parseExposition(text: string): Family[] {
  const families: Family[] = [];
  const seen = new Set<string>();
  if (text !== "" && !text.endsWith("\n")) throw new Error("no final newline");
  for (const line of text.split("\n").slice(0, -1)) {
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice(7).split(" ");
      if (!name || !type || !["counter", "gauge", "histogram"].includes(type))
        throw new Error(`bad TYPE line ${line}`);
      if (seen.has(name)) throw new Error(`family ${name} appears twice`);
      seen.add(name);
      families.push({ name, type, samples: [] });
      continue;
    }
    const m = SAMPLE.exec(line);
    const family = families.at(-1);
    if (!m || !family) throw new Error(`bad sample line ${line.slice(0, 80)}`);
    const name = m[1]!;
    const allowed =
      family.type === "histogram"
        ? [`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`]
        : [family.name];
    if (!allowed.includes(name)) throw new Error(`${name} outside its family ${family.name}`);
    const value = m[3] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[3]);
    if (Number.isNaN(value)) throw new Error(`bad value ${m[3]}`);
    family.samples.push({ name, labels: m[2] ? parseLabels(m[2]) : [], value });
  }
  return families;
}

function checkHistograms(families: Family[]): void {
  for (const family of families.filter((f) => f.type === "histogram")) {
    const byLabels = new Map<string, Sample[]>();
    for (const s of family.samples) {
      const key = JSON.stringify(s.labels.filter(([k]) => k !== "le"));
      byLabels.set(key, [...(byLabels.get(key) ?? []), s]);
    }
    for (const samples of byLabels.values()) {
      const buckets = samples.filter((s) => s.name.endsWith("_bucket"));
      const les = buckets.map((s) => s.labels.at(-1)!);
      expect(les.every(([k]) => k === "le")).toBe(true);
      expect(les.at(-1)![1]).toBe("+Inf");
      const bounds = les.map(([, v]) => (v === "+Inf" ? Number.POSITIVE_INFINITY : Number(v)));
      const counts = buckets.map((s) => s.value);
      for (let i = 1; i < buckets.length; i++) {
        expect(bounds[i]!).toBeGreaterThan(bounds[i - 1]!);
        expect(counts[i]!).toBeGreaterThanOrEqual(counts[i - 1]!);
      }
      const count = samples.find((s) => s.name.endsWith("_count"))!;
      expect(counts.at(-1)).toBe(count.value);
    }
  }
}

function oneRequest(): IstioMetrics {
  const metrics = new IstioMetrics(LOCAL);
  metrics
    .forStream({
      reporter: "destination",
      peer: PRODUCTPAGE,
      destinationService: REVIEWS,
      requestProtocol: "http",
    })
    .record({ responseCode: 200, durationMs: 12.7, requestBytes: 150, responseBytes: 320 });
  return metrics;
}

describe("renderIstioMetrics", () => {
  it("writes one request exactly as Envoy's /stats/prometheus would", () => {
    const expected = [
      "# TYPE istio_requests_total counter",
      `istio_requests_total{${L}} 1`,
      "# TYPE istio_request_bytes histogram",
      `istio_request_bytes_bucket{${L},le="0.5"} 0`,
      `istio_request_bytes_bucket{${L},le="1"} 0`,
      `istio_request_bytes_bucket{${L},le="5"} 0`,
      `istio_request_bytes_bucket{${L},le="10"} 0`,
      `istio_request_bytes_bucket{${L},le="25"} 0`,
      `istio_request_bytes_bucket{${L},le="50"} 0`,
      `istio_request_bytes_bucket{${L},le="100"} 0`,
      `istio_request_bytes_bucket{${L},le="250"} 1`,
      `istio_request_bytes_bucket{${L},le="500"} 1`,
      `istio_request_bytes_bucket{${L},le="1000"} 1`,
      `istio_request_bytes_bucket{${L},le="2500"} 1`,
      `istio_request_bytes_bucket{${L},le="5000"} 1`,
      `istio_request_bytes_bucket{${L},le="10000"} 1`,
      `istio_request_bytes_bucket{${L},le="30000"} 1`,
      `istio_request_bytes_bucket{${L},le="60000"} 1`,
      `istio_request_bytes_bucket{${L},le="300000"} 1`,
      `istio_request_bytes_bucket{${L},le="600000"} 1`,
      `istio_request_bytes_bucket{${L},le="1800000"} 1`,
      `istio_request_bytes_bucket{${L},le="3600000"} 1`,
      `istio_request_bytes_bucket{${L},le="+Inf"} 1`,
      `istio_request_bytes_sum{${L}} 150`,
      `istio_request_bytes_count{${L}} 1`,
      "# TYPE istio_request_duration_milliseconds histogram",
      `istio_request_duration_milliseconds_bucket{${L},le="0.5"} 0`,
      `istio_request_duration_milliseconds_bucket{${L},le="1"} 0`,
      `istio_request_duration_milliseconds_bucket{${L},le="5"} 0`,
      `istio_request_duration_milliseconds_bucket{${L},le="10"} 0`,
      `istio_request_duration_milliseconds_bucket{${L},le="25"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="50"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="100"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="250"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="500"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="1000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="2500"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="5000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="10000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="30000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="60000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="300000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="600000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="1800000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="3600000"} 1`,
      `istio_request_duration_milliseconds_bucket{${L},le="+Inf"} 1`,
      `istio_request_duration_milliseconds_sum{${L}} 12`,
      `istio_request_duration_milliseconds_count{${L}} 1`,
      "# TYPE istio_response_bytes histogram",
      `istio_response_bytes_bucket{${L},le="0.5"} 0`,
      `istio_response_bytes_bucket{${L},le="1"} 0`,
      `istio_response_bytes_bucket{${L},le="5"} 0`,
      `istio_response_bytes_bucket{${L},le="10"} 0`,
      `istio_response_bytes_bucket{${L},le="25"} 0`,
      `istio_response_bytes_bucket{${L},le="50"} 0`,
      `istio_response_bytes_bucket{${L},le="100"} 0`,
      `istio_response_bytes_bucket{${L},le="250"} 0`,
      `istio_response_bytes_bucket{${L},le="500"} 1`,
      `istio_response_bytes_bucket{${L},le="1000"} 1`,
      `istio_response_bytes_bucket{${L},le="2500"} 1`,
      `istio_response_bytes_bucket{${L},le="5000"} 1`,
      `istio_response_bytes_bucket{${L},le="10000"} 1`,
      `istio_response_bytes_bucket{${L},le="30000"} 1`,
      `istio_response_bytes_bucket{${L},le="60000"} 1`,
      `istio_response_bytes_bucket{${L},le="300000"} 1`,
      `istio_response_bytes_bucket{${L},le="600000"} 1`,
      `istio_response_bytes_bucket{${L},le="1800000"} 1`,
      `istio_response_bytes_bucket{${L},le="3600000"} 1`,
      `istio_response_bytes_bucket{${L},le="+Inf"} 1`,
      `istio_response_bytes_sum{${L}} 320`,
      `istio_response_bytes_count{${L}} 1`,
    ].join("\n");
    expect(renderIstioMetrics(oneRequest())).toBe(`${expected}\n`);
  });

  it("writes nothing before anything was recorded", () => {
    expect(renderIstioMetrics(new IstioMetrics(LOCAL))).toBe("");
  });

  it("puts counters before histograms, each sorted, with the labels in Istio's order", () => {
    const metrics = oneRequest();
    const ctx = {
      reporter: "source" as const,
      peer: PRODUCTPAGE,
      destinationService: REVIEWS,
    };
    const grpc = metrics.forStream({ ...ctx, requestProtocol: "grpc" });
    grpc.record({ responseCode: 200, grpcStatus: 0, requestBytes: 5, responseBytes: 7 });
    grpc.addMessages(2, 3);
    const conn = metrics.forConnection(ctx);
    conn.opened();
    conn.addBytes(100, 40);
    conn.closed();
    const families = parseExposition(renderIstioMetrics(metrics));
    expect(families.map((f) => [f.name, f.type])).toEqual([
      ["istio_request_messages_total", "counter"],
      ["istio_requests_total", "counter"],
      ["istio_response_messages_total", "counter"],
      ["istio_tcp_connections_closed_total", "counter"],
      ["istio_tcp_connections_opened_total", "counter"],
      ["istio_tcp_received_bytes_total", "counter"],
      ["istio_tcp_sent_bytes_total", "counter"],
      ["istio_request_bytes", "histogram"],
      ["istio_request_duration_milliseconds", "histogram"],
      ["istio_response_bytes", "histogram"],
    ]);
    checkHistograms(families);
    const labelNames = (f: Family, s: Sample) =>
      s.labels.map(([k]) => k).filter((k) => f.type !== "histogram" || k !== "le");
    for (const family of families) {
      const expected = family.name.endsWith("_messages_total")
        ? PEER_LABELS
        : family.name.startsWith("istio_tcp_")
          ? TCP_LABELS
          : HTTP_LABELS;
      for (const s of family.samples) expect(labelNames(family, s)).toEqual([...expected]);
    }
    const value = (name: string) => families.find((f) => f.name === name)!.samples[0]!.value;
    expect(value("istio_request_messages_total")).toBe(2);
    expect(value("istio_response_messages_total")).toBe(3);
    expect(value("istio_tcp_sent_bytes_total")).toBe(100);
    expect(value("istio_tcp_received_bytes_total")).toBe(40);
    // The gRPC stream recorded no duration, so it has no duration series (as in Envoy).
    expect(
      families.find((f) => f.name === "istio_request_duration_milliseconds")!.samples,
    ).toHaveLength(22);
  });

  it("escapes label values so they parse back unchanged", () => {
    const metrics = new IstioMetrics(LOCAL);
    const host = 'we"ird\\host\nname';
    metrics
      .forStream({
        reporter: "source",
        destinationService: resolveDestinationService({ host }),
        requestProtocol: "http",
      })
      .record({ responseCode: 404, responseFlags: "NR", requestBytes: 0, responseBytes: 0 });
    const [requests] = parseExposition(renderIstioMetrics(metrics));
    const labels = new Map(requests!.samples[0]!.labels);
    expect(labels.get("destination_service")).toBe(host);
    expect(labels.get("destination_service_name")).toBe(host);
    expect(labels.get("response_flags")).toBe("NR");
  });

  it("keeps only the families the filter passes", () => {
    const text = renderIstioMetrics(oneRequest(), {
      filter: (name) => name === "istio_requests_total",
    });
    expect(parseExposition(text).map((f) => f.name)).toEqual(["istio_requests_total"]);
  });
});

describe("appendIstioMetrics", () => {
  it("follows the proxy's envoy_* families and the whole stays valid", () => {
    const store = new StatsStore();
    clusterStats(store, "outbound|9080||reviews.default.svc.cluster.local").upstreamRqTotal.inc(4);
    const selected = selectStats(store);
    if (!selected.ok) throw new Error(selected.reason);
    const envoy = renderPrometheus(selected.stats);
    const text = appendIstioMetrics(envoy, oneRequest());
    expect(text.startsWith(envoy)).toBe(true);
    const families = parseExposition(text);
    const names = families.map((f) => f.name);
    expect(names).toContain("envoy_cluster_upstream_rq_total");
    expect(names.findLastIndex((n) => n.startsWith("envoy_"))).toBeLessThan(
      names.indexOf("istio_requests_total"),
    );
    checkHistograms(families);
  });

  it("adds a newline where the Envoy text lacks one, and nothing when there is nothing", () => {
    const istio = renderIstioMetrics(oneRequest());
    expect(appendIstioMetrics("x 1", oneRequest())).toBe(`x 1\n${istio}`);
    expect(appendIstioMetrics("x 1\n", new IstioMetrics(LOCAL))).toBe("x 1\n");
  });
});
