// Inbound filter-chain options per mTLS mode (Istio's filterchain_options.go) and the listener
// filters they require.
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { expectEncodable, proxyNode } from "./clusters-testing.ts";
import {
  inboundListenerFilters,
  inboundMtlsMode,
  inboundMtlsTransportSocket,
  matchOptions,
  passthroughMtlsPorts,
} from "./inbound-filter-chains.ts";
import type { ChainOptions, ListenerContext } from "./listener-common.ts";
import { scopeFor } from "./sidecar-scope.ts";

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

describe("inbound mTLS from PeerAuthentication", () => {
  const STRICT_MESH = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  portLevelMtls: {9080: {mode: PERMISSIVE}, 15020: {mode: DISABLE}}
`;
  const context = (workloadCertificates: boolean): ListenerContext => {
    const snapshot = snapshotFromYaml(STRICT_MESH, { workloadCertificates });
    const proxy = proxyNode({ labels: { app: "reviews" } });
    return { snapshot, proxy, scope: scopeFor(snapshot, proxy), mode: "standard" };
  };

  it("follows PeerAuthentication per workload port once proxies have workload certificates", () => {
    const ctx = context(true);
    expect(inboundMtlsMode(ctx, 9080)).toBe("PERMISSIVE");
    expect(inboundMtlsMode(ctx, 15020)).toBe("DISABLE");
    expect(inboundMtlsMode(ctx, 0)).toBe("STRICT");
    expect(passthroughMtlsPorts(ctx, [9080])).toEqual([15020]);
  });

  it("is plaintext everywhere without workload certificates", () => {
    const ctx = context(false);
    expect(inboundMtlsMode(ctx, 9080)).toBe("DISABLE");
    expect(inboundMtlsMode(ctx, 0)).toBe("DISABLE");
    expect(passthroughMtlsPorts(ctx, [])).toEqual([]);
    expect(inboundMtlsTransportSocket(ctx, true)).toBeUndefined();
  });

  it("terminates Istio mTLS with the workload certificate, requiring a mesh client certificate", () => {
    const http = inboundMtlsTransportSocket(context(true), true)!;
    const tcp = inboundMtlsTransportSocket(context(true), false)!;
    expect(http.name).toBe("envoy.transport_sockets.tls");
    const typed = http.typed_config as JsonObject;
    expect(typed.require_client_certificate).toBe(true);
    const common = typed.common_tls_context as JsonObject;
    expect(common.alpn_protocols).toEqual(["h2", "http/1.1"]);
    expect((tcp.typed_config as JsonObject).common_tls_context).toMatchObject({
      alpn_protocols: ["istio-peer-exchange", "h2", "http/1.1"],
    });
    expect(common.combined_validation_context).toMatchObject({
      default_validation_context: {
        match_subject_alt_names: [{ prefix: "spiffe://cluster.local/" }],
      },
      validation_context_sds_secret_config: { name: "ROOTCA" },
    });
    expect(common.tls_certificate_sds_secret_configs).toMatchObject([{ name: "default" }]);
    expectEncodable(
      [
        {
          name: "l",
          address: { socket_address: { address: "0.0.0.0", port_value: 1 } },
          filter_chains: [{ transport_socket: http }, { transport_socket: tcp }],
        },
      ],
      TYPE_URL.listener,
    );
  });
});
