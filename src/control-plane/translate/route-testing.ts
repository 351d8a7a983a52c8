// Test fixtures for the route translation: proxies, a Kubernetes Service in YAML, a route
// context, and the check every produced RouteConfiguration must pass (it encodes as protobuf).
import { expect } from "vitest";
import { MESH_GATEWAY } from "../../config/analysis/hosts.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import { encodeResource } from "../../xds/resource-codec.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { NO_LOCALITY } from "../model/workload.ts";
import type { RouteContext } from "./route-action.ts";
import type { Obj } from "./route-values.ts";
import { type VirtualServiceView, virtualServiceViews } from "./route-virtual-services.ts";
import { buildHttpRoutes } from "./routes-http.ts";

export function testProxy(overrides: Partial<ProxyNode> = {}): ProxyNode {
  const namespace = overrides.namespace ?? "default";
  return {
    id: `sidecar~10.0.0.9~sleep.${namespace}~${namespace}.svc.cluster.local`,
    kind: "sidecar",
    ips: ["10.0.0.9"],
    podName: "sleep",
    namespace,
    labels: { app: "sleep" },
    serviceAccount: "sleep",
    clusterId: "Kubernetes",
    network: "",
    locality: NO_LOCALITY,
    metadata: {},
    ...overrides,
  };
}

/** A Kubernetes Service document: `ports` as `name:number`, e.g. "http:9080". */
export function serviceYaml(
  name: string,
  namespace: string,
  ports: readonly string[],
  clusterIP = "",
): string {
  const list = ports
    .map((p) => {
      const [portName, number] = p.split(":");
      return `{name: ${portName}, port: ${number}}`;
    })
    .join(", ");
  const ip = clusterIP ? `, clusterIP: ${clusterIP}` : "";
  return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec: {selector: {app: ${name}}, ports: [${list}]${ip}}
---
`;
}

/** A sidecar route context on `listenPort` for `proxy`. */
export function testContext(
  snapshot: MeshSnapshot,
  listenPort: number,
  proxy: ProxyNode = testProxy(),
): RouteContext {
  return {
    snapshot,
    proxy,
    listenPort,
    gateways: new Set([MESH_GATEWAY]),
    isTls: false,
    lookupService: (host) => snapshot.serviceFor(host, proxy.namespace),
  };
}

export function viewNamed(snapshot: MeshSnapshot, name: string): VirtualServiceView {
  const view = virtualServiceViews(snapshot).find((v) => v.name === name);
  if (!view) throw new Error(`no VirtualService ${name}`);
  return view;
}

/** Asserts a RouteConfiguration encodes as envoy.config.route.v3.RouteConfiguration. */
export function expectEncodes(config: JsonObject): void {
  expect(() => encodeResource(TYPE_URL.routeConfiguration, config)).not.toThrow();
}

/** Services of the route tests: reviews (9080), ratings (8080), multi (80 and 9090), in default. */
export const ROUTE_TEST_SERVICES =
  serviceYaml("reviews", "default", ["http:9080"]) +
  serviceYaml("ratings", "default", ["http:8080"]) +
  serviceYaml("multi", "default", ["http:80", "grpc:9090"]);

/** The routes of VirtualService `vs` (default/vs, hosts [reviews] unless `spec` says) on `port`. */
export function routesOfSpec(
  spec: Obj,
  options: { port?: number; proxy?: ProxyNode; extraYaml?: string } = {},
): JsonObject[] {
  const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec: ${JSON.stringify({ hosts: ["reviews"], ...spec })}
`;
  const snapshot = snapshotFromYaml(ROUTE_TEST_SERVICES + (options.extraYaml ?? "") + vs);
  const ctx = testContext(snapshot, options.port ?? 9080, options.proxy ?? testProxy());
  return buildHttpRoutes(ctx, viewNamed(snapshot, "vs"));
}
