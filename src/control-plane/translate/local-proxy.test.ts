// A sidecar's own translation is kept across snapshots exactly while nothing it reads changed.
import { describe, expect, it } from "vitest";
import type { ProxyNode } from "../model/proxy.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { podYaml, proxyNode, REVIEWS, REVIEWS_SERVICE } from "./clusters-testing.ts";
import { type LocalTranslation, localView } from "./local-proxy.ts";
import type { SharedTranslation } from "./shared-proxy.ts";
import { scopeFor } from "./sidecar-scope.ts";
import { scopedSnapshot, translateProxy } from "./translate-proxy.ts";

const PODS = podYaml("reviews-v1", "10.0.0.1") + podYaml("reviews-v2", "10.0.0.2");
const OTHER_POD = podYaml("reviews-v3", "10.0.0.3");
const VIRTUAL_SERVICE = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}], timeout: 3s}]
---
`;
const SIDECAR_INGRESS = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  ingress: [{port: {number: 7777, protocol: HTTP, name: http}, defaultEndpoint: "127.0.0.1:7777"}]
---
`;

/** Translates `proxy` for each config in turn with caches kept throughout, checking every
 * result against a translation without caches. */
function translateEach(proxy: ProxyNode, configs: string[]) {
  const sharedCache = new Map<string, SharedTranslation>();
  const localCache = new Map<string, LocalTranslation>();
  return configs.map((yaml) => {
    const snapshot = snapshotFromYaml(yaml);
    const cached = translateProxy(snapshot, proxy, { sharedCache, localCache });
    expect(cached).toEqual(translateProxy(snapshot, proxy));
    return cached;
  });
}

const inbound = (resources: { listeners: ReadonlyMap<string, unknown> }) =>
  resources.listeners.get("virtualInbound");

describe("local translations", () => {
  it("are kept when only other workloads' endpoints or routing change", () => {
    const reviewsPod = { ...proxyNode({ ip: "10.0.0.1" }), labels: { app: "reviews" } };
    const [first, endpoint, routing] = translateEach(reviewsPod, [
      REVIEWS_SERVICE + PODS,
      REVIEWS_SERVICE + PODS + OTHER_POD,
      REVIEWS_SERVICE + PODS + OTHER_POD + VIRTUAL_SERVICE,
    ]);
    expect(inbound(endpoint!)).toBe(inbound(first!));
    expect(inbound(routing!)).toBe(inbound(first!));
    expect(endpoint!.clusters.get("inbound|9080||")).toBe(first!.clusters.get("inbound|9080||"));
  });

  it("are translated again when the proxy's own endpoints change", () => {
    const newcomer = { ...proxyNode({ ip: "10.0.0.3" }), labels: { app: "reviews" } };
    const [before, after] = translateEach(newcomer, [
      REVIEWS_SERVICE + PODS,
      REVIEWS_SERVICE + PODS + OTHER_POD,
    ]);
    expect(before!.clusters.has("inbound|9080||")).toBe(false);
    expect(after!.clusters.has("inbound|9080||")).toBe(true);
    expect(inbound(after!)).not.toEqual(inbound(before!));
  });

  it("are translated again when config they read changes", () => {
    const reviewsPod = { ...proxyNode({ ip: "10.0.0.1" }), labels: { app: "reviews" } };
    const [services, sidecar] = translateEach(reviewsPod, [
      REVIEWS_SERVICE + PODS,
      REVIEWS_SERVICE + PODS + SIDECAR_INGRESS,
    ]);
    expect(services!.clusters.has("inbound|9080||")).toBe(true);
    expect(sidecar!.clusters.has("inbound|9080||")).toBe(false);
    expect(sidecar!.clusters.has("inbound|7777||")).toBe(true);
  });

  it("are not shared between proxies that differ only in their IPs", () => {
    const sharedCache = new Map<string, SharedTranslation>();
    const localCache = new Map<string, LocalTranslation>();
    const snapshot = snapshotFromYaml(REVIEWS_SERVICE + PODS);
    const a = translateProxy(snapshot, proxyNode({ ip: "10.0.0.1" }), { sharedCache, localCache });
    const b = translateProxy(snapshot, proxyNode({ ip: "10.0.0.9" }), { sharedCache, localCache });
    expect(localCache.size).toBe(2);
    expect(a.clusters.has("inbound|9080||")).toBe(true);
    expect(b.clusters.has("inbound|9080||")).toBe(false);
  });

  it("give a sidecar's own translators nothing the key does not cover", () => {
    const snapshot = snapshotFromYaml(REVIEWS_SERVICE + PODS + OTHER_POD + VIRTUAL_SERVICE);
    const proxy = { ...proxyNode({ ip: "10.0.0.1" }), labels: { app: "reviews" } };
    const scope = scopeFor(snapshot, proxy);
    const view = localView(snapshot, scopedSnapshot(snapshot, proxy, scope), proxy, scope);
    expect(() => view.snapshot.workloads).toThrow(/localKey does not cover/);
    expect(() => view.snapshot.config.virtualServices).toThrow(/config.virtualServices/);
    expect(() => view.scope.egressListeners).toThrow(/scope.egressListeners/);
    const endpoints = view.snapshot.endpointsOf(REVIEWS, 9080, "default");
    expect(endpoints.map((e) => e.address)).toEqual(["10.0.0.1"]);
  });
});
