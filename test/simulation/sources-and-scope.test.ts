// Who gets which route: sourceLabels and sourceNamespace (per proxy), gateway-bound vs mesh
// VirtualServices, the Host forms a sidecar accepts, short names in the rule's namespace, and
// Sidecar resource scoping.
import { describe, expect, it } from "vitest";
import { expectCall, simulate } from "../support/simulate.ts";
import { FQDN, istio, namespaces, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const MESH =
  namespaces("default", "test", "other", "istio-system") +
  workload("reviews", {
    vip: "10.96.0.11",
    ports: ["http:9080"],
    pods: [
      { ip: "10.0.0.11", labels: { version: "v1" } },
      { ip: "10.0.0.12", labels: { version: "v2" } },
    ],
  }) +
  workload("ratings", { vip: "10.96.0.12", ports: ["http:9080"], pods: [{ ip: "10.0.0.21" }] }) +
  workload("httpbin", {
    namespace: "other",
    vip: "10.96.1.10",
    ports: ["http:8000"],
    pods: [{ ip: "10.0.1.10" }],
  }) +
  istio("DestinationRule", "reviews", {
    host: "reviews",
    subsets: [
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ],
  });

const productpage = sidecar("productpage-1", { ip: "10.0.0.1" });
const ratings = sidecar("ratings-1", { ip: "10.0.0.21" });
const tester = sidecar("tester-1", { ip: "10.0.2.1", namespace: "test" });
const v1 = outbound("reviews", 9080, "v1");
const v2 = outbound("reviews", 9080, "v2");
const reviews = { port: 9080, host: "reviews.default:9080" };

describe("source-dependent matches are decided per proxy", () => {
  const vs = istio("VirtualService", "reviews", {
    hosts: ["reviews"],
    http: [
      {
        name: "from-productpage",
        match: [{ sourceLabels: { app: "productpage" } }],
        route: [{ destination: { host: "reviews", subset: "v2" } }],
      },
      {
        name: "from-test",
        match: [{ sourceNamespace: "test" }],
        route: [{ destination: { host: "reviews", subset: "v2" } }],
      },
      { name: "rest", route: [{ destination: { host: "reviews", subset: "v1" } }] },
    ],
  });

  it("sourceLabels: productpage's calls go to v2, ratings' to v1", () => {
    expectCall(resourcesFor(MESH + vs, productpage), reviews, {
      route: "from-productpage",
      cluster: v2,
    });
    expectCall(resourcesFor(MESH + vs, ratings), reviews, { route: "rest", cluster: v1 });
  });

  it("sourceNamespace: a proxy in namespace test goes to v2, one in default to v1", () => {
    expectCall(resourcesFor(MESH + vs, tester), reviews, { route: "from-test", cluster: v2 });
    expectCall(resourcesFor(MESH + vs, ratings), reviews, { route: "rest", cluster: v1 });
  });
});

describe("gateway-bound and mesh VirtualServices on a sidecar", () => {
  const spec = (gateways: string[] | undefined) => ({
    hosts: ["reviews"],
    ...(gateways ? { gateways } : {}),
    http: [{ name: "vs-route", route: [{ destination: { host: "reviews", subset: "v2" } }] }],
  });

  it("a VirtualService bound only to a gateway does not apply to sidecars", () => {
    const mesh = resourcesFor(
      MESH + istio("VirtualService", "reviews", spec(["ingress"])),
      productpage,
    );
    expectCall(mesh, reviews, { route: "default", cluster: outbound("reviews", 9080) });
  });

  it("listing mesh with the gateway applies it to sidecars too", () => {
    const mesh = resourcesFor(
      MESH + istio("VirtualService", "reviews", spec(["ingress", "mesh"])),
      productpage,
    );
    expectCall(mesh, reviews, { route: "vs-route", cluster: v2 });
  });

  it("a match entry restricted to a gateway is left out on sidecars", () => {
    const vs = istio("VirtualService", "reviews", {
      hosts: ["reviews"],
      gateways: ["ingress", "mesh"],
      http: [
        {
          name: "edge",
          match: [{ gateways: ["ingress"] }],
          route: [{ destination: { host: "reviews", subset: "v2" } }],
        },
        { name: "inside", route: [{ destination: { host: "reviews", subset: "v1" } }] },
      ],
    });
    expectCall(resourcesFor(MESH + vs, productpage), reviews, { route: "inside", cluster: v1 });
  });
});

describe("Host header forms on a sidecar (ignore_port_in_host_matching)", () => {
  const mesh = resourcesFor(MESH, productpage);
  const vhost = `${FQDN("reviews")}:9080`;

  it.each([
    "reviews",
    "reviews:9080",
    "reviews.default",
    "reviews.default:9080",
    "reviews.default.svc",
    "reviews.default.svc.cluster.local",
    "reviews.default.svc.cluster.local:9080",
    "10.96.0.11",
    "10.96.0.11:9080",
    "REVIEWS.Default",
  ])("%s reaches reviews", (host) => {
    expectCall(
      mesh,
      { port: 9080, host },
      { virtualHost: vhost, cluster: outbound("reviews", 9080) },
    );
  });

  it("the short name is only valid from the service's namespace", () => {
    const fromTest = resourcesFor(MESH, tester);
    expectCall(
      fromTest,
      { port: 9080, host: "reviews" },
      { virtualHost: "allow_any", cluster: "PassthroughCluster" },
    );
    expectCall(fromTest, { port: 9080, host: "reviews.default" }, { virtualHost: vhost });
  });
});

describe("short names in a VirtualService resolve in its own namespace", () => {
  it("a default-namespace rule's destination 'ratings' is ratings.default, whoever calls", () => {
    const vs = istio("VirtualService", "reviews", {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "ratings" } }] }],
    });
    const cluster = outbound("ratings", 9080);
    expectCall(resourcesFor(MESH + vs, tester), reviews, { cluster });
    expectCall(resourcesFor(MESH + vs, productpage), reviews, { cluster });
  });
});

describe("Sidecar resource scoping", () => {
  const onlyOwnNamespace = istio("Sidecar", "default", { egress: [{ hosts: ["./*"] }] });
  const httpbin = { port: 8000, host: "httpbin.other:8000" };

  it("a proxy whose Sidecar does not import namespace other gets no route for httpbin", () => {
    const scoped = resourcesFor(MESH + onlyOwnNamespace, productpage);
    expect(scoped.routes.has("8000")).toBe(false);
    // Not captured by any listener for 8000: the original-dst catch-all passes it through.
    expectCall(scoped, httpbin, { listener: "virtualOutbound", cluster: "PassthroughCluster" });
  });

  it("with REGISTRY_ONLY in the Sidecar, the unimported service is blocked", () => {
    const sidecarSpec = {
      egress: [{ hosts: ["./*"] }],
      outboundTrafficPolicy: { mode: "REGISTRY_ONLY" },
    };
    const scoped = resourcesFor(MESH + istio("Sidecar", "default", sidecarSpec), productpage);
    expectCall(scoped, httpbin, { listener: "virtualOutbound", cluster: "BlackHoleCluster" });
    // On a port that has a route configuration, the catch-all virtual host answers 502.
    expectCall(
      scoped,
      { port: 9080, host: "httpbin.other:9080" },
      { virtualHost: "block_all", directResponse: { status: 502 } },
    );
  });

  it("a proxy in a namespace the Sidecar does not cover still routes to httpbin", () => {
    const unscoped = resourcesFor(MESH + onlyOwnNamespace, tester);
    expectCall(unscoped, httpbin, {
      listener: "0.0.0.0_8000",
      cluster: outbound("httpbin", 8000, "", "other"),
    });
  });

  it("the Sidecar's import of a namespace brings its routes back", () => {
    const importing = istio("Sidecar", "default", { egress: [{ hosts: ["./*", "other/*"] }] });
    const scoped = resourcesFor(MESH + importing, productpage);
    const result = simulate(scoped, httpbin);
    expect(result.cluster).toBe(outbound("httpbin", 8000, "", "other"));
  });
});
