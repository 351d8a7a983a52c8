// The authorization filters in the listeners translateProxy builds: inbound HTTP chains carry the
// RBAC HTTP filters before fault/cors/router, inbound TCP chains the network RBAC filters before
// tcp_proxy, gateways the same, outbound listeners none.
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../../xds/proto-json.ts";
import { decodeProxyNode, type ProxyNode } from "../../model/proxy.ts";
import { snapshotFromYaml } from "../../model/testing.ts";
import { translateProxy } from "../translate-proxy.ts";
import { authzApplies, buildAuthzHttpFilters, buildAuthzNetworkFilters } from "./authz-filters.ts";

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
  ports: [{name: http, port: 8080}, {name: tcp-ledger, port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: payments-1, namespace: shop, labels: {app: payments}}
spec:
  containers: [{name: app, ports: [{containerPort: 8080}, {containerPort: 5432}]}]
status:
  podIP: 10.0.0.1
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: v1
kind: Pod
metadata: {name: ingress-1, namespace: istio-system, labels: {istio: ingressgateway}}
spec:
  containers: [{name: istio-proxy}]
status:
  podIP: 10.0.1.1
  conditions: [{type: Ready, status: "True"}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: shop-gateway, namespace: shop}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ledger, namespace: shop}
spec:
  hosts: ["*"]
  gateways: [shop-gateway]
  tcp:
  - route: [{destination: {host: payments, port: {number: 5432}}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-orders, namespace: shop}
spec:
  selector:
    matchLabels: {app: payments}
  rules:
  - from: [{source: {principals: [cluster.local/ns/shop/sa/orders]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-all-ingress, namespace: istio-system}
spec:
  selector:
    matchLabels: {istio: ingressgateway}
  action: DENY
  rules: [{}]
`;

function proxy(type: "sidecar" | "router", ip: string, name: string, ns: string, labels: object) {
  const decoded = decodeProxyNode({
    id: `${type}~${ip}~${name}.${ns}~${ns}.svc.cluster.local`,
    metadata: { NAMESPACE: ns, NAME: name, LABELS: labels as JsonObject },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.proxy;
}

const snapshot = snapshotFromYaml(MESH, { workloadCertificates: true });
const sidecar: ProxyNode = proxy("sidecar", "10.0.0.1", "payments-1", "shop", { app: "payments" });
const gateway: ProxyNode = proxy("router", "10.0.1.1", "ingress-1", "istio-system", {
  istio: "ingressgateway",
});

type Chain = { name?: string; filter_chain_match?: JsonObject; filters: JsonObject[] };
const chainsOf = (listener: JsonObject | undefined) => (listener?.filter_chains ?? []) as Chain[];
const names = (filters: JsonObject[]) => filters.map((f) => f.name);
const httpFilterNames = (chain: Chain) => {
  const hcm = chain.filters.find((f) => f.name === "envoy.filters.network.http_connection_manager");
  const config = (hcm?.typed_config ?? {}) as JsonObject;
  return names((config.http_filters ?? []) as JsonObject[]);
};

describe("authorization in translated listeners", () => {
  const resources = translateProxy(snapshot, sidecar);
  const inbound = resources.listeners.get("virtualInbound");

  it("puts the RBAC HTTP filter on inbound HTTP chains, before grpc_stats, fault, cors, stats and router", () => {
    const http = chainsOf(inbound).filter((c) => c.filter_chain_match?.destination_port === 8080);
    expect(http.length).toBeGreaterThan(0);
    for (const chain of http.filter((c) => httpFilterNames(c).length > 0)) {
      expect(httpFilterNames(chain)).toEqual([
        "envoy.filters.http.rbac",
        "envoy.filters.http.grpc_stats",
        "envoy.filters.http.fault",
        "envoy.filters.http.cors",
        "istio.stats",
        "envoy.filters.http.router",
      ]);
    }
  });

  it("puts the network RBAC filter before the stats filter and tcp_proxy on inbound TCP chains", () => {
    const tcp = chainsOf(inbound).filter((c) => c.filter_chain_match?.destination_port === 5432);
    expect(tcp.length).toBeGreaterThan(0);
    for (const chain of tcp) {
      // The metadata exchange goes first, so that RBAC could read the peer (istio/istio#41066).
      expect(names(chain.filters)).toEqual([
        "istio.metadata_exchange",
        "envoy.filters.network.rbac",
        "istio.stats",
        "envoy.filters.network.tcp_proxy",
      ]);
    }
  });

  it("gives outbound listeners no authorization", () => {
    const text = JSON.stringify(
      [...resources.listeners.entries()].filter(([name]) => name !== "virtualInbound"),
    );
    expect(text).not.toContain("rbac");
  });

  it("puts authorization on gateway HTTP and TCP chains", () => {
    const listeners = translateProxy(snapshot, gateway).listeners;
    const http = chainsOf(listeners.get("0.0.0.0_80"));
    expect(httpFilterNames(http[0]!)[0]).toBe("envoy.filters.http.rbac");
    const tcp = chainsOf(listeners.get("0.0.0.0_31400"));
    expect(names(tcp[0]!.filters)).toEqual([
      "envoy.filters.network.rbac",
      "istio.stats",
      "envoy.filters.network.tcp_proxy",
    ]);
  });
});

describe("buildAuthzHttpFilters", () => {
  it("applies to inbound and gateway listener classes only", () => {
    expect(authzApplies("sidecar-inbound")).toBe(true);
    expect(authzApplies("gateway")).toBe(true);
    expect(authzApplies("sidecar-outbound")).toBe(false);
    expect(buildAuthzHttpFilters({ snapshot, proxy: sidecar }, "sidecar-outbound")).toEqual([]);
  });

  it("builds nothing for a workload no policy selects", () => {
    const other = proxy("sidecar", "10.0.0.9", "web-1", "shop", { app: "web" });
    expect(buildAuthzHttpFilters({ snapshot, proxy: other }, "sidecar-inbound")).toEqual([]);
    expect(buildAuthzNetworkFilters({ snapshot, proxy: other })).toEqual([]);
  });
});
