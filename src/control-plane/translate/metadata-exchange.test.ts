// Istio's TCP metadata exchange in translated config: the `istio.metadata_exchange` network filter
// first on inbound TCP chains (and on gateway TCP servers terminating ISTIO_MUTUAL), the same
// filter on every outbound service cluster, `istio-peer-exchange` leading the ALPN of Istio mTLS
// clusters — and none of it for an upstream Envoy without Istio's extensions.
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { encodeResource } from "../../xds/resource-codec.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { decodeProxyNode, type ProxyNode } from "../model/proxy.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { translateProxy } from "./translate-proxy.ts";

const MESH = `
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Service
metadata: {name: payments, namespace: shop}
spec:
  clusterIP: 10.96.0.10
  selector: {app: payments}
  ports: [{name: http, port: 8080}, {name: tcp-ledger, port: 5432}, {name: grpc, port: 9090}]
---
apiVersion: v1
kind: Pod
metadata: {name: payments-1, namespace: shop, labels: {app: payments}}
spec:
  containers: [{name: app, ports: [{containerPort: 8080}, {containerPort: 5432}, {containerPort: 9090}]}]
status:
  podIP: 10.0.0.1
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: payments, namespace: shop}
spec:
  host: payments
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: mesh-gateway, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 15443, name: tls-mesh, protocol: TLS}
    hosts: ["*"]
    tls: {mode: ISTIO_MUTUAL}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ledger, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [mesh-gateway]
  tcp:
  - route: [{destination: {host: payments, port: {number: 5432}}}]
`;

const snapshot = snapshotFromYaml(MESH, { workloadCertificates: true });

function proxy(type: "sidecar" | "router", labels: JsonObject, extra: JsonObject = {}): ProxyNode {
  const decoded = decodeProxyNode({
    id: `${type}~10.0.0.1~payments-1.shop~shop.svc.cluster.local`,
    metadata: { NAMESPACE: "shop", NAME: "payments-1", LABELS: labels },
    ...extra,
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

const SIDECAR = proxy("sidecar", { app: "payments" });
const GATEWAY = proxy("router", { istio: "ingressgateway" });
/** An upstream Envoy: it says so, and lists no istio.stats among its extensions. */
const ENVOY = proxy("sidecar", { app: "payments" }, { user_agent_name: "envoy" });

const MX = {
  name: "istio.metadata_exchange",
  typed_config: {
    "@type": "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
    protocol: "istio-peer-exchange",
  },
};

type Chain = {
  filter_chain_match?: JsonObject;
  filters: JsonObject[];
  transport_socket?: JsonObject;
};
const chainsOf = (listener: JsonObject | undefined) => (listener?.filter_chains ?? []) as Chain[];
const names = (filters: readonly JsonObject[]) => filters.map((f) => f.name);

/** Every ALPN list among a cluster's transport sockets (plain and per-endpoint matches). */
function clusterAlpn(cluster: JsonObject): unknown[] {
  const sockets = [
    cluster.transport_socket,
    ...((cluster.transport_socket_matches ?? []) as JsonObject[]).map((m) => m.transport_socket),
  ] as (JsonObject | undefined)[];
  return sockets
    .map(
      (s) =>
        ((s?.typed_config as JsonObject | undefined)?.common_tls_context as JsonObject)
          ?.alpn_protocols,
    )
    .filter((a) => a !== undefined);
}

describe("the TCP metadata exchange in translated config", () => {
  it("puts the filter first on every inbound TCP chain, never on HTTP ones", () => {
    const inbound = translateProxy(snapshot, SIDECAR).listeners.get("virtualInbound");
    const chains = chainsOf(inbound);
    const tcp = chains.filter((c) => c.filters.at(-1)?.name === "envoy.filters.network.tcp_proxy");
    // The TCP port's chains and the passthrough ones, but not the blackhole chain's stats only.
    const withProxy = tcp.filter((c) => c.filter_chain_match?.destination_port !== 15006);
    expect(withProxy.length).toBeGreaterThan(0);
    for (const chain of withProxy) {
      expect(chain.filters[0]).toEqual(MX);
      expect(names(chain.filters)).toEqual([
        "istio.metadata_exchange",
        "istio.stats",
        "envoy.filters.network.tcp_proxy",
      ]);
    }
    const http = chains.filter(
      (c) => c.filters.at(-1)?.name === "envoy.filters.network.http_connection_manager",
    );
    expect(http.length).toBeGreaterThan(0);
    for (const chain of http) expect(names(chain.filters)).not.toContain("istio.metadata_exchange");
    // The TCP chains' mTLS accepts the exchange's ALPN.
    const mtlsTcp = withProxy.find((c) => c.filter_chain_match?.destination_port === 5432);
    const tls = mtlsTcp?.transport_socket?.typed_config as JsonObject | undefined;
    expect((tls?.common_tls_context as JsonObject)?.alpn_protocols).toEqual([
      "istio-peer-exchange",
      "h2",
      "http/1.1",
    ]);
  });

  it("gives every outbound service cluster the filter and offers its ALPN under Istio mTLS", () => {
    const clusters = translateProxy(snapshot, SIDECAR).clusters;
    const services = [...clusters.keys()].filter((n) => n.startsWith("outbound|"));
    expect(services).toContain("outbound|5432|v1|payments.shop.svc.cluster.local");
    for (const name of services) expect(clusters.get(name)?.filters, name).toEqual([MX]);
    for (const name of ["BlackHoleCluster", "PassthroughCluster"])
      expect(clusters.get(name)?.filters).toBeUndefined();
    const inbound = [...clusters.keys()].filter((n) => n.startsWith("inbound|"));
    for (const name of inbound) expect(clusters.get(name)?.filters).toBeUndefined();
    expect(clusterAlpn(clusters.get("outbound|5432||payments.shop.svc.cluster.local")!)).toEqual([
      ["istio-peer-exchange", "istio"],
    ]);
    expect(clusterAlpn(clusters.get("outbound|9090||payments.shop.svc.cluster.local")!)).toEqual([
      ["istio-peer-exchange", "istio", "h2"],
    ]);
  });

  it("reads the client's exchange first on a gateway's TCP server terminating ISTIO_MUTUAL", () => {
    const listener = translateProxy(snapshot, GATEWAY).listeners.get("0.0.0.0_15443");
    const [chain] = chainsOf(listener);
    expect(names(chain!.filters)).toEqual([
      "istio.metadata_exchange",
      "istio.stats",
      "envoy.filters.network.tcp_proxy",
    ]);
    const tls = chain!.transport_socket?.typed_config as JsonObject;
    expect((tls.common_tls_context as JsonObject).alpn_protocols).toEqual([
      "istio-peer-exchange",
      "h2",
      "http/1.1",
    ]);
  });

  it("leaves the filter and its ALPN out for an upstream Envoy without Istio's extensions", () => {
    const resources = translateProxy(snapshot, ENVOY);
    const text = JSON.stringify([...resources.listeners.values(), ...resources.clusters.values()]);
    expect(text).not.toContain("metadata_exchange");
    // Chains still match an Istio client's ALPN; the Envoy just never negotiates the exchange.
    const offered = [...text.matchAll(/"alpn_protocols":(\[[^\]]*\])/g)].map((m) => m[1]);
    expect(offered.length).toBeGreaterThan(0);
    for (const list of offered) expect(list).not.toContain("istio-peer-exchange");
    expect(
      clusterAlpn(resources.clusters.get("outbound|5432||payments.shop.svc.cluster.local")!),
    ).toEqual([["istio"]]);
    expect(
      clusterAlpn(resources.clusters.get("outbound|9090||payments.shop.svc.cluster.local")!),
    ).toEqual([["istio", "h2"]]);
  });

  it("encodes as Envoy's protos, the typed config as istio/proxy's MetadataExchange", () => {
    const resources = translateProxy(snapshot, SIDECAR);
    for (const cluster of resources.clusters.values())
      expect(() => encodeResource(TYPE_URL.cluster, cluster)).not.toThrow();
    for (const listener of resources.listeners.values())
      expect(() => encodeResource(TYPE_URL.listener, listener)).not.toThrow();
  });
});
