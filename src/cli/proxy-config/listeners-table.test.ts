import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeConfigDump } from "./config-dump.ts";
import {
  buildListenerRows,
  describeChainDestination,
  describeChainMatch,
  listenerType,
  renderListenersTable,
} from "./listeners-table.ts";

const dumpOf = (name: string) =>
  decodeConfigDump(
    JSON.parse(readFileSync(new URL(`./testdata/${name}`, import.meta.url), "utf8")),
    name,
  );
const sleep = dumpOf("sleep-config-dump.json");
const echo = dumpOf("echo-config-dump.json");

describe("proxy-config listeners", () => {
  it("prints one row per filter chain, by port, with istioctl's match and destination words", () => {
    expect(renderListenersTable(buildListenerRows(sleep.listeners))).toBe(
      [
        "ADDRESSES  PORT  MATCH                                DESTINATION",
        "0.0.0.0    80    Trans: raw_buffer; App: http/1.1,h2c Route: 80",
        "0.0.0.0    80    ALL                                  PassthroughCluster",
        "0.0.0.0    5432  ALL                                  Cluster: outbound|5432||db.default.svc.cluster.local",
        "127.45.9.1 15001 ALL                                  Route: 15001",
        "127.45.9.1 15006 Addr: *:15006                        Non-HTTP/Non-TCP",
        "127.45.9.1 15006 Trans: raw_buffer; App: http/1.1,h2c InboundPassthroughCluster",
        "127.45.9.1 15006 Trans: raw_buffer                    InboundPassthroughCluster",
        "",
      ].join("\n"),
    );
  });

  it("shows an injected pod's inbound listener going to its inbound cluster", () => {
    const rows = buildListenerRows(echo.listeners, { port: 8080 });
    expect(rows).toEqual([
      {
        addresses: "127.45.1.1",
        port: 8080,
        match: "Trans: raw_buffer; Addr: *:8080",
        destination: "Cluster: inbound|8080||",
      },
    ]);
  });

  it("filters on address, port and type (HTTP, TCP, HTTP+TCP)", () => {
    const ports = (filter: Parameters<typeof buildListenerRows>[1]) => [
      ...new Set(buildListenerRows(sleep.listeners, filter).map((r) => r.port)),
    ];
    expect(ports({ type: "tcp" })).toEqual([5432]);
    expect(ports({ type: "HTTP+TCP" })).toEqual([80, 15006]);
    expect(ports({ type: "HTTP" })).toEqual([15001]);
    expect(ports({ address: "127.45.9.1" })).toEqual([15001, 15006]);
    expect(ports({ address: "0.0.0.0", port: 80 })).toEqual([80]);
    expect(sleep.listeners.map(listenerType)).toEqual(["TCP", "HTTP+TCP", "HTTP+TCP", "HTTP"]);
  });

  it("describes SNI, ALPN lists Istio writes, and address ranges", () => {
    expect(
      describeChainMatch({
        server_names: ["a.example.com", "b.example.com"],
        transport_protocol: "tls",
        application_protocols: ["istio-peer-exchange", "istio"],
      }),
    ).toBe("SNI: a.example.com,b.example.com; Trans: tls; App: TCP TLS");
    expect(
      describeChainMatch({
        prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 8 }],
        destination_port: 443,
      }),
    ).toBe("Addr: 10.0.0.0/8:443");
    expect(describeChainMatch({ application_protocols: ["http/1.0", "http/1.1", "h2c"] })).toBe(
      "App: HTTP",
    );
    expect(describeChainMatch(undefined)).toBe("ALL");
  });

  it("describes inline routes: one catch-all route by its cluster, others by domains and matches", () => {
    const hcm = (routeConfig: unknown) => [
      {
        name: "envoy.filters.network.http_connection_manager",
        typed_config: { route_config: routeConfig },
      },
    ];
    expect(
      describeChainDestination(
        hcm({
          virtual_hosts: [
            { domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "agent" } }] },
          ],
        }) as never,
      ),
    ).toBe("Cluster: agent");
    expect(
      describeChainDestination(
        hcm({
          virtual_hosts: [
            {
              domains: ["*"],
              routes: [{ match: { path: "/stats/prometheus" } }, { match: { prefix: "/healthz" } }],
            },
            { domains: ["a", "b"], routes: [{ match: { safe_regex: { regex: "/x.*" } } }] },
          ],
        }) as never,
      ),
    ).toBe("Inline Route: /stats/prometheus, /healthz*; a/b regex /x.*");
    expect(
      describeChainDestination([
        {
          name: "envoy.filters.network.http_connection_manager",
          typed_config: {},
        },
      ]),
    ).toBe("HTTP");
  });
});
