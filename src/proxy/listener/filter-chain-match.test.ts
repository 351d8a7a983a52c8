// selectFilterChain against Envoy's precedence rules: most specific per level, no backtracking,
// ties by client ALPN order, wildcards, source type, and the default chain.
import { describe, expect, it } from "vitest";
import { decodeListener } from "./decode-listener.ts";
import { selectFilterChain } from "./filter-chain-match.ts";
import { needsHttpInspector, needsTlsInspector } from "./inspection.ts";
import type { ConnectionInfo, ListenerConfig } from "./types.ts";

const TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

function build(
  chains: Record<string, object>,
  extra: Record<string, unknown> = {},
): ListenerConfig {
  const chain = (name: string, match?: object) => ({
    name,
    ...(match ? { filter_chain_match: match } : {}),
    filters: [{ name: "t", typed_config: { "@type": TCP, stat_prefix: name, cluster: name } }],
  });
  const r = decodeListener({
    name: "l",
    address: { socket_address: { address: "0.0.0.0", port_value: 15001 } },
    filter_chains: Object.entries(chains).map(([n, m]) => chain(n, m)),
    ...extra,
    ...(extra.default_filter_chain ? { default_filter_chain: chain("default") } : {}),
  });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.value;
}

function conn(c: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    destinationIp: "10.0.0.1",
    destinationPort: 80,
    transportProtocol: "raw_buffer",
    applicationProtocols: [],
    sourceIp: "10.1.0.1",
    sourcePort: 40000,
    ...c,
  };
}

const pick = (l: ListenerConfig, c: Partial<ConnectionInfo>) => selectFilterChain(l, conn(c))?.name;

describe("selectFilterChain", () => {
  const sni = build({
    exact: { server_names: ["www.example.com"] },
    wild: { server_names: ["*.example.com"] },
    tld: { server_names: ["*.com"] },
    none: {},
  });
  it.each([
    ["www.example.com", "exact"],
    ["WWW.Example.com", "exact"],
    ["api.example.com", "wild"],
    ["a.b.example.com", "wild"],
    ["example.com", "tld"],
    ["example.org", "none"],
    [undefined, "none"],
  ])("server name %s → %s", (serverName, expected) => {
    expect(pick(sni, serverName ? { serverName, transportProtocol: "tls" } : {})).toBe(expected);
  });

  it("prefers an exact destination port, then chains without one; no fallback afterwards", () => {
    const l = build(
      { p80tls: { destination_port: 80, transport_protocol: "tls" }, any: {} },
      { default_filter_chain: true },
    );
    expect(pick(l, { transportProtocol: "tls" })).toBe("p80tls");
    // Port 80 matched most specifically, so its failed transport match is final: the default chain.
    expect(pick(l, {})).toBe("default");
    expect(pick(l, { destinationPort: 81 })).toBe("any");
  });

  it("uses the longest destination prefix, without backtracking", () => {
    const l = build({
      wide: { prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 8 }] },
      narrow: {
        prefix_ranges: [{ address_prefix: "10.0.0.0", prefix_len: 24 }],
        source_ports: [1],
      },
      v6: { prefix_ranges: [{ address_prefix: "fd00::", prefix_len: 8 }] },
      any: {},
    });
    expect(pick(l, { destinationIp: "10.0.0.9", sourcePort: 1 })).toBe("narrow");
    expect(pick(l, { destinationIp: "10.0.0.9" })).toBeUndefined();
    expect(pick(l, { destinationIp: "10.9.0.9" })).toBe("wide");
    expect(pick(l, { destinationIp: "::ffff:10.9.0.9" })).toBe("wide");
    expect(pick(l, { destinationIp: "fd12::1" })).toBe("v6");
    expect(pick(l, { destinationIp: "192.168.0.1" })).toBe("any");
  });

  it("matches server names before transport protocol", () => {
    const l = build({
      sniRaw: { server_names: ["a.com"], transport_protocol: "raw_buffer" },
      tls: { transport_protocol: "tls" },
    });
    expect(pick(l, { serverName: "a.com", transportProtocol: "tls" })).toBeUndefined();
    expect(pick(l, { serverName: "b.com", transportProtocol: "tls" })).toBe("tls");
  });

  it("picks the first of the client's ALPN values that a chain names", () => {
    const l = build({
      h2: { application_protocols: ["h2"] },
      h11: { application_protocols: ["http/1.1", "h2c"] },
      any: {},
    });
    expect(pick(l, { applicationProtocols: ["http/1.1", "h2"] })).toBe("h11");
    expect(pick(l, { applicationProtocols: ["h2", "http/1.1"] })).toBe("h2");
    expect(pick(l, { applicationProtocols: ["h2c"] })).toBe("h11");
    expect(pick(l, { applicationProtocols: ["spdy"] })).toBe("any");
  });

  it("matches direct source, source type, source prefix and source port in order", () => {
    const l = build({
      direct: { direct_source_prefix_ranges: [{ address_prefix: "192.168.0.0", prefix_len: 16 }] },
      local: { source_type: "SAME_IP_OR_LOOPBACK" },
      srcNet: { source_prefix_ranges: [{ address_prefix: "10.1.0.0", prefix_len: 16 }] },
      srcPort: {
        source_prefix_ranges: [{ address_prefix: "10.1.0.0", prefix_len: 16 }],
        source_ports: [5000],
      },
      any: {},
    });
    expect(pick(l, { directSourceIp: "192.168.1.1", sourceIp: "127.0.0.1" })).toBe("direct");
    expect(pick(l, { sourceIp: "127.0.0.1" })).toBe("local");
    expect(pick(l, { sourceIp: "10.0.0.1" })).toBe("local");
    expect(pick(l, { sourceIp: "10.1.2.3", sourcePort: 5000 })).toBe("srcPort");
    expect(pick(l, { sourceIp: "10.1.2.3" })).toBe("srcNet");
    expect(pick(l, { sourceIp: "172.16.0.1" })).toBe("any");
  });

  it("serves unmatched connections from the default chain", () => {
    const l = build({ tls: { transport_protocol: "tls" } }, { default_filter_chain: true });
    expect(pick(l, {})).toBe("default");
    expect(pick(build({ tls: { transport_protocol: "tls" } }), {})).toBeUndefined();
  });
});

describe("inspection", () => {
  it("honours filter_disabled port ranges and injected inspectors", () => {
    const l = build(
      { a: {} },
      {
        listener_filters: [
          {
            name: "envoy.filters.listener.http_inspector",
            filter_disabled: { destination_port_range: { start: 15006, end: 15007 } },
          },
        ],
      },
    );
    expect(needsHttpInspector(l, 80)).toBe(true);
    expect(needsHttpInspector(l, 15006)).toBe(false);
    expect(needsHttpInspector(l, 15007)).toBe(true);
    expect(needsTlsInspector(l, 80)).toBe(false);
    expect(needsTlsInspector(build({ a: { application_protocols: ["h2"] } }))).toBe(true);
  });
});
