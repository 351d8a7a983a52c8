// stats.PluginConfig decoding: what istiod sends is read, what crema cannot honour is an error
// naming the field, and a listener carrying such a filter (HTTP or network) is NACKed.
import { describe, expect, it } from "vitest";
import { decodeListener } from "../listener/decode-listener.ts";
import { ISTIO_REQUESTS_TOTAL, ISTIO_TCP_SENT_BYTES_TOTAL } from "./metric-definitions.ts";
import { NO_OVERRIDES } from "./metric-overrides.ts";
import { decodeStatsFilterConfig } from "./stats-filter-config.ts";

const STATS = "type.googleapis.com/stats.PluginConfig";

describe("decodeStatsFilterConfig", () => {
  it("gives the filter's defaults for an empty config", () => {
    const decoded = decodeStatsFilterConfig({ "@type": STATS });
    expect(decoded).toEqual({
      ok: true,
      config: {
        disableHostHeaderFallback: false,
        tcpReportingDurationMs: 5000,
        overrides: NO_OVERRIDES,
      },
    });
  });

  it("reads istiod's fields, in proto or JSON spelling", () => {
    const decoded = decodeStatsFilterConfig({
      "@type": STATS,
      disable_host_header_fallback: true,
      tcpReportingDuration: "15s",
      graceful_deletion_interval: "300s",
      metrics: [
        {
          name: "requests_total",
          dimensions: { request_host: "request.host" },
          tags_to_remove: ["request_protocol"],
          match: "",
        },
        { name: "tcp_sent_bytes_total", drop: true },
      ],
    });
    if (!decoded.ok) throw new Error(decoded.errors.join("\n"));
    const { config } = decoded;
    expect(config.disableHostHeaderFallback).toBe(true);
    expect(config.tcpReportingDurationMs).toBe(15_000);
    expect(config.overrides.expressions.map((e) => e.expression)).toEqual(["request.host"]);
    expect(config.overrides.plan(ISTIO_REQUESTS_TOTAL)?.added).toEqual([["request_host", 0]]);
    expect(config.overrides.plan(ISTIO_TCP_SENT_BYTES_TOTAL)).toBeUndefined();
  });

  it("names the field of everything it cannot honour", () => {
    const decoded = decodeStatsFilterConfig({
      "@type": STATS,
      metrics: [
        { name: "requests_total", dimensions: { broken: "request.host +", nope: "request.nope" } },
        { tags_to_remove: "request_protocol", dimensions: { n: 3 } },
      ],
      definitions: [{ name: "my_metric", value: "1" }],
      reporter: "SERVER_GATEWAY",
      rotation_interval: "60s",
      tcp_reporting_duration: "soon",
      extra: true,
    });
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.errors).toEqual([
      'tcp_reporting_duration: "soon" is not a non-negative duration such as "1.5s"',
      expect.stringMatching(
        /^metrics\[0\]\.dimensions\["broken"\]: CEL expression "request\.host \+": /,
      ),
      expect.stringMatching(
        /^metrics\[0\]\.dimensions\["nope"\]: CEL expression "request\.nope": attribute request\.nope .*not supported/,
      ),
      "metrics[1].tags_to_remove: expected a list",
      'metrics[1].dimensions["n"]: expected a string (a CEL expression)',
      "definitions: custom metric definitions are not supported by crema's proxy",
      "reporter: the SERVER_GATEWAY (waypoint) reporter is not supported by crema's proxy",
      "rotation_interval: rotating the metrics scope is not supported by crema's proxy",
      "extra: unknown field",
    ]);
  });
});

describe("a listener with istio.stats", () => {
  const HCM =
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
  const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
  const stats = (config: Record<string, unknown>) => ({
    name: "istio.stats",
    typed_config: { "@type": STATS, ...config },
  });
  const listener = (filters: unknown[]) => ({
    name: "l",
    address: { socket_address: { address: "0.0.0.0", port_value: 80 } },
    filter_chains: [{ filters }],
  });
  const httpChain = (filter: unknown) => [
    {
      name: "envoy.filters.network.http_connection_manager",
      typed_config: {
        "@type": HCM,
        stat_prefix: "s",
        rds: { config_source: { ads: {} }, route_config_name: "r" },
        http_filters: [
          filter,
          {
            name: "envoy.filters.http.router",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
            },
          },
        ],
      },
    },
  ];
  const tcpChain = (filter: unknown) => [
    filter,
    {
      name: "envoy.filters.network.tcp_proxy",
      typed_config: { "@type": TCP, stat_prefix: "t", cluster: "c" },
    },
  ];

  it("decodes as an HTTP filter and as a network filter", () => {
    const ok = stats({ metrics: [{ name: "requests_total", tags_to_remove: ["source_app"] }] });
    expect(decodeListener(listener(httpChain(ok))).ok).toBe(true);
    const tcp = decodeListener(listener(tcpChain(ok)));
    if (!tcp.ok) throw new Error(tcp.errors.join("\n"));
    expect(tcp.value.filterChains[0]!.filters.map((f) => f.kind)).toEqual([
      "istio_stats",
      "tcp_proxy",
    ]);
  });

  it("is NACKed with the field's path when its config is invalid", () => {
    const bad = stats({ metrics: [{ dimensions: { host: "request.host ==" } }] });
    const http = decodeListener(listener(httpChain(bad)));
    expect(http.ok ? [] : http.errors).toEqual([
      expect.stringMatching(
        /^filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters\[0\]\.typed_config\.metrics\[0\]\.dimensions\["host"\]: CEL expression/,
      ),
    ]);
    const tcp = decodeListener(listener(tcpChain(bad)));
    expect(tcp.ok ? [] : tcp.errors).toEqual([
      expect.stringMatching(
        /^filter_chains\[0\]\.filters\[0\]\.typed_config\.metrics\[0\]\.dimensions\["host"\]: CEL expression/,
      ),
    ]);
  });
});
