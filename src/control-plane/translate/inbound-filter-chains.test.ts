// Inbound filter-chain options per mTLS mode (Istio's filterchain_options.go) and the listener
// filters they require.
import { describe, expect, it } from "vitest";
import { inboundListenerFilters, matchOptions } from "./inbound-filter-chains.ts";
import type { ChainOptions } from "./listener-common.ts";

const shape = (o: ReturnType<typeof matchOptions>[number]) =>
  `${o.http ? "http" : "tcp"}/${o.transportProtocol}/${(o.applicationProtocols ?? []).join("+")}${o.tls ? "/terminate" : ""}`;

describe("matchOptions", () => {
  it("plaintext only when mTLS is disabled", () => {
    expect(matchOptions("DISABLE", "HTTP").map(shape)).toEqual(["http/raw_buffer/"]);
    expect(matchOptions("DISABLE", "TCP").map(shape)).toEqual(["tcp/raw_buffer/"]);
    expect(matchOptions("DISABLE", "UNSUPPORTED").map(shape)).toEqual([
      "http/raw_buffer/http/1.1+h2c",
      "tcp/raw_buffer/",
    ]);
  });

  it("mTLS and plaintext chains when PERMISSIVE", () => {
    expect(matchOptions("PERMISSIVE", "HTTP").map(shape)).toEqual([
      "http/tls/istio+istio-peer-exchange+istio-http/1.0+istio-http/1.1+istio-h2/terminate",
      "http/raw_buffer/",
    ]);
    expect(matchOptions("PERMISSIVE", "TCP").map(shape)).toEqual([
      "tcp/tls/istio+istio-peer-exchange+istio-http/1.0+istio-http/1.1+istio-h2/terminate",
      "tcp/raw_buffer/",
      "tcp/tls/",
    ]);
  });

  it("only terminating TLS chains when STRICT", () => {
    expect(matchOptions("STRICT", "GRPC").map(shape)).toEqual(["http/tls//terminate"]);
    expect(matchOptions("STRICT", "UNSUPPORTED").map(shape)).toEqual([
      "http/tls/istio-http/1.0+istio-http/1.1+istio-h2/terminate",
      "tcp/tls//terminate",
    ]);
  });
});

describe("inboundListenerFilters", () => {
  const chain = (c: Partial<ChainOptions>): ChainOptions => ({ filters: [], ...c });

  it("adds original_dst when captured and inspectors only for the ports that need them", () => {
    const filters = inboundListenerFilters(
      [
        chain({ destinationPort: 15006 }),
        chain({ transportProtocol: "raw_buffer", applicationProtocols: ["http/1.1", "h2c"] }),
        chain({ destinationPort: 8080, transportProtocol: "tls" }),
        chain({ destinationPort: 9090, transportProtocol: "raw_buffer" }),
      ],
      false,
    );
    expect(filters.map((f) => f.name)).toEqual([
      "envoy.filters.listener.original_dst",
      "envoy.filters.listener.tls_inspector",
      "envoy.filters.listener.http_inspector",
    ]);
    expect(filters[1]!.filter_disabled).toEqual({
      not_match: { destination_port_range: { start: 8080, end: 8081 } },
    });
    expect(filters[2]!.filter_disabled).toEqual({
      or_match: {
        rules: [8080, 9090, 15006].map((p) => ({
          destination_port_range: { start: p, end: p + 1 },
        })),
      },
    });
  });

  it("needs nothing on a bound plaintext listener", () => {
    expect(
      inboundListenerFilters(
        [chain({ destinationPort: 80, transportProtocol: "raw_buffer" })],
        true,
      ),
    ).toEqual([]);
  });
});
