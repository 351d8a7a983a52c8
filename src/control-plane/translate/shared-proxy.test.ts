// Shared translations: proxies that differ only in IPs share outbound resources, never more.
import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { MeshConfig } from "../model/mesh-config.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import {
  at,
  destinationRuleYaml,
  podYaml,
  proxyNode,
  REVIEWS,
  REVIEWS_SERVICE,
} from "./clusters-testing.ts";
import type { ProxyResources } from "./proxy-resources.ts";
import type { SharedTranslationCache } from "./shared-proxy.ts";
import { translateProxy } from "./translate-proxy.ts";

const PODS =
  podYaml("reviews-v1", "10.0.0.1", { labels: "app: reviews, version: v1", locality: "us.a.x" }) +
  podYaml("reviews-v2", "10.0.0.2", { labels: "app: reviews, version: v2", locality: "us.b.x" });
const OUTBOUND = `outbound|9080||${REVIEWS}`;
const LOCAL = { CREMA_LOCAL_RUNTIME: "true" };

const proxy = (options: Parameters<typeof proxyNode>[0], metadata = {}): ProxyNode => ({
  ...proxyNode(options),
  metadata,
});

/** Translates each proxy with one shared cache, checking each result against a cache-less one. */
function translateAll(yaml: string, proxies: ProxyNode[], meshConfig?: Partial<MeshConfig>) {
  const snapshot = snapshotFromYaml(yaml, meshConfig);
  const cache: SharedTranslationCache = new Map();
  const results = proxies.map((p) => {
    const shared = translateProxy(snapshot, p, { sharedCache: cache });
    expect(shared).toEqual(translateProxy(snapshot, p));
    return shared;
  });
  return { results, cache };
}

const routes = (r: ProxyResources) => JSON.stringify([...r.routes.values()]);

describe("shared translations", () => {
  it("keep the metadata the outbound HCMs' Istio tracing tags read (MESH_ID, WORKLOAD_NAME)", () => {
    const collector = `apiVersion: v1
kind: Service
metadata: {name: otel, namespace: observability}
spec:
  ports: [{name: grpc-otlp, port: 4317}]
---
`;
    const tracing: Partial<MeshConfig> = {
      extensionProviders: [
        {
          name: "otel",
          opentelemetry: { service: "otel.observability.svc.cluster.local", port: 4317 },
        },
      ],
      defaultTracingProviders: ["otel"],
    };
    const p = proxy({ ip: "10.0.0.1" }, { MESH_ID: "mesh-a", WORKLOAD_NAME: "reviews-v1" });
    const [r] = translateAll(collector + REVIEWS_SERVICE + PODS, [p], tracing).results as [
      ProxyResources,
    ];
    const listener = JSON.stringify(r.listeners.get("0.0.0.0_9080"));
    expect(listener).toMatch(/"tag":"istio.mesh_id","literal":\{"value":"mesh-a"\}/);
  });

  it("share outbound resources between proxies that differ only in IPs, not inbound ones", () => {
    const a = { ...proxy({ ip: "10.0.0.1" }, LOCAL), podName: "a", id: "sidecar~10.0.0.1~a" };
    const b = { ...proxy({ ip: "10.0.0.2" }, LOCAL), podName: "b", id: "sidecar~10.0.0.2~b" };
    const { results, cache } = translateAll(REVIEWS_SERVICE + PODS, [a, b]);
    const [ra, rb] = results as [ProxyResources, ProxyResources];
    expect(cache.size).toBe(1);
    expect(ra.clusters.get(OUTBOUND)).toBeDefined();
    expect(ra.clusters.get(OUTBOUND)).toBe(rb.clusters.get(OUTBOUND));
    expect(ra.endpoints).toBe(rb.endpoints);
    expect(ra.routes).toBe(rb.routes);
    expect(ra.listeners.get("0.0.0.0_9080")).toBe(rb.listeners.get("0.0.0.0_9080"));
    // The bound HTTP proxy and inbound listeners are each proxy's own.
    const boundA = at(ra.listeners.get("virtualOutbound"), "address.socket_address.address");
    const boundB = at(rb.listeners.get("virtualOutbound"), "address.socket_address.address");
    expect([boundA, boundB]).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(ra.listeners.has("10.0.0.1_9080")).toBe(true);
    expect(rb.listeners.has("10.0.0.1_9080")).toBe(false);
    expect(rb.listeners.has("10.0.0.2_9080")).toBe(true);
  });

  it("gives different outbound routes to proxies whose labels a sourceLabels match selects", () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - match: [{sourceLabels: {app: special}}]
    route: [{destination: {host: reviews}}]
    timeout: 3s
  - route: [{destination: {host: reviews}}]
---
`;
    const { results, cache } = translateAll(REVIEWS_SERVICE + PODS + vs, [
      proxy({ ip: "10.9.0.1" }),
      proxy({ ip: "10.9.0.2", labels: { app: "special" } }),
    ]);
    expect(cache.size).toBe(2);
    expect(routes(results[0]!)).not.toEqual(routes(results[1]!));
  });

  it("gives different clusters to proxies a Sidecar's workloadSelector or namespace tells apart", () => {
    const sidecar = (
      name: string,
      ns: string,
      selector: string,
    ) => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ${name}, namespace: ${ns}}
spec:
  ${selector}
  egress: [{hosts: ["./*"]}]
---
`;
    const yaml =
      REVIEWS_SERVICE +
      PODS +
      sidecar("narrow", "default", "workloadSelector: {labels: {app: narrow}}") +
      sidecar("default", "other", "");
    const { results, cache } = translateAll(yaml, [
      proxy({ ip: "10.9.0.1" }),
      proxy({ ip: "10.9.0.2" }),
      proxy({ ip: "10.9.0.3", labels: { app: "narrow" } }),
      proxy({ ip: "10.9.0.4", namespace: "other" }),
    ]);
    expect(cache.size).toBe(3);
    const [plain, same, narrow, other] = results as ProxyResources[];
    expect(plain!.clusters.get(OUTBOUND)).toBe(same!.clusters.get(OUTBOUND));
    expect(plain!.clusters.has(OUTBOUND)).toBe(true);
    expect(narrow!.clusters.has(OUTBOUND)).toBe(true); // reviews is in the Sidecar's namespace
    expect(other!.clusters.has(OUTBOUND)).toBe(false);
    const narrowHosts = at(narrow!.routes.get("9080"), "virtual_hosts") as JsonObject[];
    expect(narrowHosts.map((h) => h.name)).toContain("reviews.default.svc.cluster.local:9080");
  });

  it("gives different endpoint priorities to proxies in different localities", () => {
    const dr = destinationRuleYaml(
      "host: reviews\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 1}",
    );
    const { results, cache } = translateAll(REVIEWS_SERVICE + PODS + dr, [
      proxy({ ip: "10.9.0.1", locality: { region: "us", zone: "a", subzone: "x" } }),
      proxy({ ip: "10.9.0.2", locality: { region: "us", zone: "b", subzone: "x" } }),
    ]);
    expect(cache.size).toBe(2);
    const priorities = (r: ProxyResources) =>
      (at(r.endpoints.get(OUTBOUND), "endpoints") as JsonObject[]).map((g) => [
        at(g, "locality.zone"),
        g.priority ?? 0,
      ]);
    expect(priorities(results[0]!)).toEqual([
      ["a", 0],
      ["b", 1],
    ]);
    expect(priorities(results[1]!)).toEqual([
      ["a", 1],
      ["b", 0],
    ]);
  });

  it("keeps apart proxies whose IP family or headless-endpoint identity matters", () => {
    const headless = `apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: None
  selector: {app: reviews}
  ports: [{name: tcp, port: 5432, targetPort: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [ext.example.com]
  resolution: DNS
  ports: [{name: http, number: 80, protocol: HTTP}]
---
`;
    const { results, cache } = translateAll(REVIEWS_SERVICE + PODS + headless, [
      proxy({ ip: "10.0.0.1" }),
      proxy({ ip: "10.0.0.2" }),
      proxy({ ip: "10.9.0.1" }),
      proxy({ ip: "10.9.0.2" }),
      proxy({ ip: "fd00::1" }),
    ]);
    // 10.0.0.1 and 10.0.0.2 are endpoints of the headless service: each gets the other's listener.
    expect(cache.size).toBe(4);
    const [self1, self2, plain1, plain2, v6] = results as ProxyResources[];
    expect(self1!.listeners.has("10.0.0.1_5432")).toBe(false);
    expect(self1!.listeners.has("10.0.0.2_5432")).toBe(true);
    expect(self2!.listeners.has("10.0.0.1_5432")).toBe(true);
    expect(plain1!.listeners.get("10.0.0.1_5432")).toBeDefined();
    expect(plain1!.listeners.get("10.0.0.1_5432")).toBe(plain2!.listeners.get("10.0.0.1_5432"));
    const family = (r: ProxyResources) =>
      at(r.clusters.get("outbound|80||ext.example.com"), "dns_lookup_family");
    expect([family(plain1!), family(v6!)]).toEqual(["V4_ONLY", "V6_ONLY"]);
  });
});
