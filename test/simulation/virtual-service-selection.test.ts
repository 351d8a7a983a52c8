// Which VirtualService governs a host on a sidecar: one per host (the first), exact hosts before
// wildcards, exportTo visibility, destinations without a port on multi-port services, delegates,
// hosts outside the registry on port 80, and protocol-sniffed ports.
import { describe, expect, it } from "vitest";
import { expectCall } from "../support/simulate.ts";
import { FQDN, istio, namespaces, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const MESH =
  namespaces("default", "other") +
  workload("reviews", {
    vip: "10.96.0.11",
    ports: ["http:9080", "http-metrics:9090"],
    pods: [{ ip: "10.0.0.11" }],
  }) +
  workload("ratings", { vip: "10.96.0.12", ports: ["http:9080"], pods: [{ ip: "10.0.0.12" }] }) +
  workload("web", { vip: "10.96.0.13", ports: ["http:80"], pods: [{ ip: "10.0.0.13" }] });
const productpage = sidecar("productpage-1", { ip: "10.0.0.1" });
const sleep = sidecar("sleep-1", { ip: "10.0.1.1", namespace: "other" });
const named = (name: string, host = "ratings") => [{ name, route: [{ destination: { host } }] }];

describe("one VirtualService per host on a sidecar", () => {
  it("of two VirtualServices for reviews, the first one applies", () => {
    const yaml =
      MESH +
      istio("VirtualService", "first", { hosts: ["reviews"], http: named("first") }) +
      istio("VirtualService", "second", { hosts: ["reviews"], http: named("second") });
    expectCall(
      resourcesFor(yaml, productpage),
      { port: 9080, host: "reviews" },
      { route: "first" },
    );
  });

  it("an exact host beats a wildcard; the wildcard takes the other services", () => {
    const yaml =
      MESH +
      istio("VirtualService", "wild", {
        hosts: ["*.default.svc.cluster.local"],
        http: named("wild", "web"),
      }) +
      istio("VirtualService", "exact", { hosts: ["reviews"], http: named("exact") });
    const mesh = resourcesFor(yaml, productpage);
    expectCall(
      mesh,
      { port: 9080, host: "reviews" },
      { route: "exact", cluster: outbound("ratings", 9080) },
    );
    expectCall(
      mesh,
      { port: 9080, host: "ratings" },
      { route: "wild", cluster: outbound("web", 80) },
    );
  });
});

describe("exportTo", () => {
  const privateVs = istio(
    "VirtualService",
    "reviews-private",
    {
      hosts: ["reviews.default.svc.cluster.local"],
      exportTo: ["."],
      http: named("private", FQDN("ratings")),
    },
    "other",
  );

  it("a VirtualService exported only to its namespace applies only to proxies there", () => {
    expectCall(
      resourcesFor(MESH + privateVs, sleep),
      { port: 9080, host: "reviews.default" },
      { route: "private" },
    );
    expectCall(
      resourcesFor(MESH + privateVs, productpage),
      { port: 9080, host: "reviews" },
      { route: "default" },
    );
  });
});

describe("destinations and ports", () => {
  it("a destination without a port on a multi-port service keeps the listener's port", () => {
    const yaml =
      MESH +
      istio("VirtualService", "reviews", { hosts: ["reviews"], http: named("self", "reviews") });
    const mesh = resourcesFor(yaml, productpage);
    expectCall(mesh, { port: 9090, host: "reviews:9090" }, { cluster: outbound("reviews", 9090) });
    expectCall(mesh, { port: 9080, host: "reviews:9080" }, { cluster: outbound("reviews", 9080) });
  });

  it("a destination service with one port needs no port", () => {
    const yaml =
      MESH + istio("VirtualService", "reviews", { hosts: ["reviews"], http: named("to-ratings") });
    expectCall(
      resourcesFor(yaml, productpage),
      { port: 9090, host: "reviews:9090" },
      { cluster: outbound("ratings", 9080) },
    );
  });
});

describe("subsets", () => {
  it("a route to a subset no DestinationRule defines names a cluster the proxy lacks (503 NC)", () => {
    const vs = istio("VirtualService", "ratings", {
      hosts: ["ratings"],
      http: [{ route: [{ destination: { host: "ratings", subset: "v9" } }] }],
    });
    expectCall(
      resourcesFor(MESH + vs, productpage),
      { port: 9080, host: "ratings" },
      {
        cluster: outbound("ratings", 9080, "v9"),
        clusterNotFound: true,
      },
    );
  });
});

describe("hosts outside the registry", () => {
  it("on port 80 a VirtualService for an external name gets its own virtual host", () => {
    const yaml =
      MESH +
      istio("VirtualService", "legacy", {
        hosts: ["legacy.example.com"],
        http: named("legacy", "web"),
      });
    expectCall(
      resourcesFor(yaml, productpage),
      { port: 80, host: "legacy.example.com" },
      {
        routeConfig: "80",
        virtualHost: "legacy.example.com:80",
        cluster: outbound("web", 80),
      },
    );
  });
});

describe("delegate VirtualServices", () => {
  it("the root's match prefixes the delegate's routes", () => {
    const yaml =
      MESH +
      istio("VirtualService", "root", {
        hosts: ["reviews"],
        http: [
          {
            match: [{ uri: { prefix: "/ratings" } }],
            delegate: { name: "ratings-delegate", namespace: "default" },
          },
          ...named("rest", "reviews"),
        ],
      }) +
      istio("VirtualService", "ratings-delegate", {
        http: [
          {
            name: "v2",
            match: [{ uri: { prefix: "/ratings/v2" } }],
            route: [{ destination: { host: "ratings" } }],
          },
          {
            name: "other",
            match: [{ uri: { prefix: "/ratings/other" } }],
            route: [{ destination: { host: "web" } }],
          },
        ],
      });
    const mesh = resourcesFor(yaml, productpage);
    expectCall(
      mesh,
      { port: 9080, host: "reviews", path: "/ratings/v2/x" },
      { route: "v2", cluster: outbound("ratings", 9080) },
    );
    expectCall(
      mesh,
      { port: 9080, host: "reviews", path: "/ratings/other" },
      { cluster: outbound("web", 80) },
    );
    expectCall(mesh, { port: 9080, host: "reviews", path: "/ratings/none" }, { route: "rest" });
  });
});

describe("protocol sniffing (a port without a protocol name)", () => {
  const yaml =
    MESH + workload("legacy", { vip: "10.96.0.30", ports: ["8000"], pods: [{ ip: "10.0.0.30" }] });
  const mesh = resourcesFor(yaml, productpage);

  it("HTTP on the sniffed VIP listener routes by the service's own route configuration", () => {
    const result = expectCall(
      mesh,
      { address: "10.96.0.30", port: 8000, host: "whatever" },
      {
        listener: "10.96.0.30_8000",
        routeConfig: `${FQDN("legacy")}:8000`,
        cluster: outbound("legacy", 8000),
      },
    );
    expect(result.route).toBe("default");
  });

  it("raw TCP on the same listener is proxied to the service", () => {
    expectCall(
      mesh,
      { address: "10.96.0.30", port: 8000, host: "", protocol: "tcp" },
      { cluster: outbound("legacy", 8000) },
    );
  });
});
