import { describe, expect, it } from "vitest";
import {
  escapeLabelValue,
  extractTags,
  renderPrometheus,
  renderStatsJson,
  renderStatsText,
  selectStats,
} from "./prometheus.ts";
import { clusterStats, countStatusClass, StatsStore } from "./stats-store.ts";

const ISTIO_CLUSTER = "outbound|80||reviews.default.svc.cluster.local";

function selected(store: StatsStore, query = {}) {
  const result = selectStats(store, query);
  if (!result.ok) throw new Error(result.reason);
  return result.stats;
}

describe("selectStats and the /stats text and JSON", () => {
  it("lists counters and gauges together, sorted by name", () => {
    const store = new StatsStore();
    store.counter("server.b").inc(2);
    store.gauge("server.a").set(7);
    store.counter("cluster.x.upstream_rq_total");
    expect(renderStatsText(selected(store))).toBe(
      "cluster.x.upstream_rq_total: 0\nserver.a: 7\nserver.b: 2\n",
    );
    expect(renderStatsJson(selected(store))).toEqual({
      stats: [
        { name: "cluster.x.upstream_rq_total", value: 0 },
        { name: "server.a", value: 7 },
        { name: "server.b", value: 2 },
      ],
    });
  });

  it("filters with RE2 matched anywhere in the name, and anchored when asked", () => {
    const store = new StatsStore();
    store.counter("server.live");
    store.counter("cluster.server.x");
    expect(selected(store, { filter: "server" }).map((s) => s.name)).toEqual([
      "cluster.server.x",
      "server.live",
    ]);
    expect(selected(store, { filter: "^server\\.live$" }).map((s) => s.name)).toEqual([
      "server.live",
    ]);
  });

  it("reports an invalid regex instead of throwing", () => {
    const result = selectStats(new StatsStore(), { filter: "(" });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain("invalid re2 regex");
  });

  it("keeps only stats that moved with usedOnly", () => {
    const store = new StatsStore();
    store.counter("a").inc();
    store.counter("b");
    store.gauge("c");
    expect(selected(store, { usedOnly: true }).map((s) => s.name)).toEqual(["a"]);
  });
});

describe("extractTags", () => {
  it("uses the tags recorded by clusterStats, so dots and | in cluster names stay whole", () => {
    const store = new StatsStore();
    clusterStats(store, ISTIO_CLUSTER);
    const name = `cluster.${ISTIO_CLUSTER}.upstream_rq_total`;
    expect(extractTags(name, store.tags(name))).toEqual({
      extractedName: "cluster.upstream_rq_total",
      tags: [["cluster_name", ISTIO_CLUSTER]],
    });
  });

  it("adds the response code class to recorded tags", () => {
    const store = new StatsStore();
    clusterStats(store, "xds-grpc");
    const name = "cluster.xds-grpc.upstream_rq_2xx";
    expect(extractTags(name, store.tags(name))).toEqual({
      extractedName: "cluster.upstream_rq_xx",
      tags: [
        ["cluster_name", "xds-grpc"],
        ["envoy_response_code_class", "2"],
      ],
    });
  });

  it.each([
    [
      `cluster.${ISTIO_CLUSTER}.upstream_cx_total`,
      "cluster.upstream_cx_total",
      [["cluster_name", ISTIO_CLUSTER]],
    ],
    [
      "cluster.BlackHoleCluster.upstream_cx_total",
      "cluster.upstream_cx_total",
      [["cluster_name", "BlackHoleCluster"]],
    ],
    [
      "listener.0.0.0.0_15001.downstream_cx_total",
      "listener.downstream_cx_total",
      [["envoy_listener_address", "0.0.0.0_15001"]],
    ],
    ["listener.admin.downstream_cx_total", "listener.admin.downstream_cx_total", []],
    [
      "http.inbound_0.0.0.0_8080.downstream_rq_total",
      "http.0.0.0_8080.downstream_rq_total",
      [["envoy_http_conn_manager_prefix", "inbound_0"]],
    ],
    [
      "http.outbound.downstream_rq_503",
      "http.downstream_rq",
      [
        ["envoy_response_code", "503"],
        ["envoy_http_conn_manager_prefix", "outbound"],
      ],
    ],
    [
      "tcp.outbound|443||api.example.com.downstream_cx_total",
      "tcp.downstream_cx_total",
      [["envoy_tcp_prefix", "outbound|443||api.example.com"]],
    ],
    ["server.live", "server.live", []],
  ])("falls back to Envoy's default specifiers for %s", (name, extractedName, tags) => {
    expect(extractTags(name)).toEqual({ extractedName, tags });
  });
});

describe("renderPrometheus", () => {
  it("writes one TYPE line per family, envoy_ names and labels from the tags", () => {
    const store = new StatsStore();
    const reviews = clusterStats(store, ISTIO_CLUSTER);
    const xds = clusterStats(store, "xds-grpc");
    reviews.upstreamRqTotal.inc(3);
    countStatusClass(reviews, 200);
    countStatusClass(reviews, 503);
    xds.upstreamRqTotal.inc();
    reviews.upstreamCxActive.set(2);
    store.gauge("server.live").set(1);
    const text = renderPrometheus(
      selected(store, { filter: "rq_total|rq_2xx|rq_5xx|cx_active|live" }),
    );
    expect(text).toBe(
      [
        "# TYPE envoy_cluster_upstream_cx_active gauge",
        `envoy_cluster_upstream_cx_active{cluster_name="${ISTIO_CLUSTER}"} 2`,
        'envoy_cluster_upstream_cx_active{cluster_name="xds-grpc"} 0',
        "# TYPE envoy_cluster_upstream_rq_total counter",
        `envoy_cluster_upstream_rq_total{cluster_name="${ISTIO_CLUSTER}"} 3`,
        'envoy_cluster_upstream_rq_total{cluster_name="xds-grpc"} 1',
        "# TYPE envoy_cluster_upstream_rq_xx counter",
        `envoy_cluster_upstream_rq_xx{cluster_name="${ISTIO_CLUSTER}",envoy_response_code_class="2"} 1`,
        `envoy_cluster_upstream_rq_xx{cluster_name="${ISTIO_CLUSTER}",envoy_response_code_class="5"} 1`,
        'envoy_cluster_upstream_rq_xx{cluster_name="xds-grpc",envoy_response_code_class="2"} 0',
        'envoy_cluster_upstream_rq_xx{cluster_name="xds-grpc",envoy_response_code_class="5"} 0',
        "# TYPE envoy_server_live gauge",
        "envoy_server_live 1",
        "",
      ].join("\n"),
    );
  });

  it("escapes label values and replaces invalid name characters", () => {
    const store = new StatsStore();
    store.counter('cluster.we"ird\\name.x-y', {
      extractedName: "cluster.x-y",
      tags: [["cluster_name", 'we"ird\\na\nme']],
    });
    expect(renderPrometheus(selected(store))).toBe(
      '# TYPE envoy_cluster_x_y counter\nenvoy_cluster_x_y{cluster_name="we\\"ird\\\\na\\nme"} 0\n',
    );
    expect(escapeLabelValue('a"b')).toBe('a\\"b');
  });

  it("never mixes a counter and a gauge in one family", () => {
    const store = new StatsStore();
    store.counter("server.a.b");
    store.gauge("server.a_b");
    expect(renderPrometheus(selected(store))).toBe(
      "# TYPE envoy_server_a_b counter\nenvoy_server_a_b 0\n",
    );
  });
});
