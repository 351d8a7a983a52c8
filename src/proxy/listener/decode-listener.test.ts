// decodeListener over every listener crema's control plane emits, and error collection with paths.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { decodeListener } from "./decode-listener.ts";

const DIR = join(import.meta.dirname, "../../../testdata/translate");

function goldenListeners(): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".golden.yaml"))) {
    const doc = parse(readFileSync(join(DIR, file), "utf8")) as Record<
      string,
      { listeners?: unknown[] }
    >;
    for (const [proxy, resources] of Object.entries(doc)) {
      for (const l of resources.listeners ?? []) {
        out.push([`${file} ${proxy} ${(l as { name: string }).name}`, l]);
      }
    }
  }
  return out;
}

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
const ROUTER = {
  name: "envoy.filters.http.router",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};

function listener(chains: unknown[], extra: Record<string, unknown> = {}) {
  return {
    name: "l",
    address: { socket_address: { address: "0.0.0.0", port_value: 80 } },
    filter_chains: chains,
    ...extra,
  };
}

function hcm(config: Record<string, unknown>) {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: { "@type": HCM, stat_prefix: "s", ...config },
  };
}

describe("decodeListener on golden control-plane output", () => {
  const all = goldenListeners();
  it("finds listeners", () => expect(all.length).toBeGreaterThan(20));
  it.each(all)("%s decodes", (name, json) => {
    const result = decodeListener(json, { proxyless: name.startsWith("proxyless-grpc") });
    expect(result.ok ? [] : result.errors).toEqual([]);
  });

  it("keeps the details the proxy needs", () => {
    const outbound = all.find(([n]) => n.includes("sidecar-basic") && n.endsWith(" 0.0.0.0_8000"));
    const r = decodeListener(outbound?.[1]);
    if (!r.ok) throw new Error(r.errors.join("\n"));
    expect(r.value.bindToPort).toBe(false);
    const f = r.value.filterChains[0]?.filters[0];
    expect(f?.kind).toBe("http_connection_manager");
    if (f?.kind !== "http_connection_manager") return;
    expect(f.config.routes).toEqual({ kind: "rds", routeConfigName: "8000" });
    expect(f.config.httpFilters.map((h) => h.name).at(-1)).toBe("envoy.filters.http.router");
    expect(f.config.normalizePath).toBe(true);
  });
});

describe("decodeListener defaults and shapes", () => {
  it("applies Envoy defaults", () => {
    const r = decodeListener(
      listener([
        {
          filters: [{ name: "t", typed_config: { "@type": TCP, stat_prefix: "x", cluster: "c" } }],
        },
      ]),
    );
    if (!r.ok) throw new Error(r.errors.join("\n"));
    expect(r.value.bindToPort).toBe(true);
    expect(r.value.listenerFiltersTimeoutMs).toBe(15_000);
    const tcp = r.value.filterChains[0]?.filters[0];
    expect(tcp?.kind === "tcp_proxy" && tcp.config.idleTimeoutMs).toBe(3_600_000);
  });

  it("decodes Istio's metadata exchange before a tcp_proxy, and refuses it before an HCM", () => {
    const MX = "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange";
    const exchange = {
      name: "istio.metadata_exchange",
      typed_config: { "@type": MX, protocol: "istio-peer-exchange" },
    };
    const tcp = { name: "t", typed_config: { "@type": TCP, stat_prefix: "x", cluster: "c" } };
    const r = decodeListener(listener([{ filters: [exchange, tcp] }]));
    if (!r.ok) throw new Error(r.errors.join("\n"));
    expect(r.value.filterChains[0]?.filters[0]).toEqual({
      kind: "metadata_exchange",
      name: "istio.metadata_exchange",
      config: { protocol: "istio-peer-exchange" },
    });
    const bad = decodeListener(
      listener([
        { filters: [exchange, hcm({ route_config: { name: "r" }, http_filters: [ROUTER] })] },
        {
          filter_chain_match: { destination_port: 81 },
          filters: [
            { name: "istio.metadata_exchange", typed_config: { "@type": MX, protocol: "", x: 1 } },
            { name: "istio.metadata_exchange" },
            tcp,
          ],
        },
      ]),
    );
    expect(bad.ok ? [] : bad.errors).toEqual([
      "filter_chains[0].filters[0]: istio.metadata_exchange is supported only on a chain ending in tcp_proxy",
      "filter_chains[1].filters[0].typed_config.protocol: must be at least 1 character(s)",
      "filter_chains[1].filters[0].typed_config.x: unknown field",
      'filter_chains[1].filters[1]: unsupported network filter "istio.metadata_exchange"',
    ]);
  });

  it("decodes HCM defaults and an inline route table", () => {
    const routeConfig = {
      name: "r",
      virtual_hosts: [
        {
          name: "v",
          domains: ["*"],
          routes: [{ match: { prefix: "/" }, route: { cluster: "c" } }],
        },
      ],
    };
    const r = decodeListener(
      listener([{ filters: [hcm({ route_config: routeConfig, http_filters: [ROUTER] })] }]),
    );
    if (!r.ok) throw new Error(r.errors.join("\n"));
    const f = r.value.filterChains[0]?.filters[0];
    if (f?.kind !== "http_connection_manager") throw new Error("not hcm");
    expect(f.config.routes).toEqual({ kind: "inline", routeConfig });
    expect(f.config.streamIdleTimeoutMs).toBe(300_000);
    expect(f.config.idleTimeoutMs).toBe(3_600_000);
    expect(f.config.maxRequestHeadersKb).toBe(60);
    expect(f.config.serverName).toBe("envoy");
    // Envoy takes absolute-form requests unless told not to (Http1ProtocolOptions'
    // allow_absolute_url defaults to true), also with options set that leave it out.
    expect(f.config.allowAbsoluteUrl).toBe(true);
    const absoluteUrl = (options: Record<string, unknown>) => {
      const decoded = decodeListener(
        listener([
          {
            filters: [
              hcm({
                route_config: routeConfig,
                http_filters: [ROUTER],
                http_protocol_options: options,
              }),
            ],
          },
        ]),
      );
      if (!decoded.ok) throw new Error(decoded.errors.join("\n"));
      const filter = decoded.value.filterChains[0]?.filters[0];
      return filter?.kind === "http_connection_manager" && filter.config.allowAbsoluteUrl;
    };
    expect(absoluteUrl({})).toBe(true);
    expect(absoluteUrl({ allow_absolute_url: false })).toBe(false);
  });

  it("injects a TLS inspector when chains match on SNI", () => {
    const tcp = { name: "t", typed_config: { "@type": TCP, stat_prefix: "x", cluster: "c" } };
    const r = decodeListener(
      listener([{ filter_chain_match: { server_names: ["a.com"] }, filters: [tcp] }]),
    );
    expect(r.ok && r.value.listenerFilters.map((f) => [f.kind, f.injected])).toEqual([
      ["tls_inspector", true],
    ]);
  });

  it("skips optional unknown HTTP filters", () => {
    const opt = {
      name: "x",
      is_optional: true,
      typed_config: { "@type": "type.googleapis.com/x.Y" },
    };
    const r = decodeListener(
      listener([
        {
          filters: [
            hcm({
              rds: { config_source: { ads: {} }, route_config_name: "r" },
              http_filters: [opt, ROUTER],
            }),
          ],
        },
      ]),
    );
    expect(r.ok).toBe(true);
  });
});

describe("decodeListener errors", () => {
  it("collects every problem with its path", () => {
    const r = decodeListener({
      name: "",
      address: { socket_address: { address: "nope", port_value: 70000 } },
      listener_filters: [{ name: "envoy.filters.listener.proxy_protocol" }],
      filter_chains: [
        {
          filter_chain_match: {
            destination_port: 0,
            server_names: ["*w.example.com"],
            prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 33 }],
          },
          filters: [
            {
              name: "envoy.filters.network.redis_proxy",
              typed_config: {
                "@type":
                  "type.googleapis.com/envoy.extensions.filters.network.redis_proxy.v3.RedisProxy",
              },
            },
            hcm({
              http_filters: [
                ROUTER,
                {
                  name: "envoy.filters.http.lua",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                  },
                },
                { name: "envoy.filters.http.fault" },
              ],
              stream_idle_timeout: "5m",
            }),
          ],
        },
        {
          filters: [
            {
              name: "t",
              typed_config: { "@type": TCP, cluster: "c", weighted_clusters: { clusters: [] } },
            },
          ],
          bogus: 1,
        },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.errors.join("\n");
    for (const path of [
      "name:",
      "address.socket_address.address:",
      "address.socket_address.port_value:",
      "listener_filters[0]:",
      "filter_chains[0].filter_chain_match.destination_port:",
      "filter_chains[0].filter_chain_match.server_names[0]: partial wildcards",
      "filter_chains[0].filter_chain_match.prefix_ranges[0]:",
      "filter_chains[0].filters[0]: unsupported network filter",
      "filter_chains[0].filters[1].typed_config: one of rds, route_config is required",
      "filter_chains[0].filters[1].typed_config.http_filters[0]: terminal filter",
      "filter_chains[0].filters[1].typed_config.http_filters[1]: unsupported HTTP filter",
      "filter_chains[0].filters[1].typed_config.http_filters[2]: non-terminal filter",
      "filter_chains[0].filters[1].typed_config.stream_idle_timeout:",
      "filter_chains[1].filters[0].typed_config.stat_prefix:",
      "filter_chains[1].filters[0].typed_config: only one of cluster, weighted_clusters",
      "filter_chains[1].bogus: unknown field",
    ]) {
      expect(text).toContain(path);
    }
  });

  it("reports invalid inline route tables under route_config", () => {
    const r = decodeListener(
      listener([
        {
          filters: [
            hcm({
              route_config: {
                virtual_hosts: [
                  { name: "v", domains: ["*"], routes: [{ match: { prefix: "/" } }] },
                ],
              },
              http_filters: [ROUTER],
            }),
          ],
        },
      ]),
    );
    expect(r.ok ? [] : r.errors).toEqual([
      expect.stringMatching(
        /^filter_chains\[0\]\.filters\[0\]\.typed_config\.route_config\.virtual_hosts\[0\]\.routes\[0\]/,
      ),
    ]);
  });

  it("rejects chains with identical match rules and listeners without chains", () => {
    const tcp = { name: "t", typed_config: { "@type": TCP, stat_prefix: "x", cluster: "c" } };
    const dup = decodeListener(
      listener([
        { filter_chain_match: { destination_port: 80 }, filters: [tcp] },
        { filter_chain_match: { destination_port: 80 }, filters: [tcp] },
      ]),
    );
    expect(dup.ok ? [] : dup.errors).toEqual([
      expect.stringContaining(
        "filter_chains[1]: multiple filter chains with the same matching rules",
      ),
    ]);
    const none = decodeListener(listener([]));
    expect(none.ok ? [] : none.errors).toEqual(["filter_chains: no filter chains specified"]);
    expect(decodeListener("x")).toEqual({ ok: false, errors: ["(root): expected an object"] });
  });
});
