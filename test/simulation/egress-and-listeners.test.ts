// Listener and filter-chain choice on a sidecar: ServiceEntry egress (HTTP by Host, TLS by SNI,
// wildcard SNI) under REGISTRY_ONLY, a TCP and an HTTP service sharing a port, Sidecar egress
// listeners bound to one port, and source-dependent TCP routes.
import { describe, it } from "vitest";
import { expectCall } from "../support/simulate.ts";
import { istio, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const REVIEWS = workload("reviews", {
  vip: "10.96.0.11",
  ports: ["http:9080"],
  pods: [{ ip: "10.0.0.11" }],
});
const app = sidecar("app-1", { ip: "10.0.0.1" });
const REGISTRY_ONLY = { meshConfig: { outboundTrafficPolicy: "REGISTRY_ONLY" as const } };

const EXTERNAL =
  istio("ServiceEntry", "httpbin-ext", {
    hosts: ["httpbin.example.com"],
    location: "MESH_EXTERNAL",
    resolution: "DNS",
    ports: [{ number: 80, name: "http", protocol: "HTTP" }],
  }) +
  istio("ServiceEntry", "payments", {
    hosts: ["api.payments.example.com"],
    location: "MESH_EXTERNAL",
    resolution: "DNS",
    ports: [{ number: 443, name: "tls", protocol: "TLS" }],
  }) +
  istio("ServiceEntry", "wikipedia", {
    hosts: ["*.wikipedia.org"],
    location: "MESH_EXTERNAL",
    resolution: "NONE",
    ports: [{ number: 443, name: "tls", protocol: "TLS" }],
  });

describe("egress to ServiceEntry hosts under REGISTRY_ONLY", () => {
  const mesh = resourcesFor(REVIEWS + EXTERNAL, app, REGISTRY_ONLY);

  it("HTTP to a registered external host routes to its cluster; others get 502", () => {
    expectCall(
      mesh,
      { port: 80, host: "httpbin.example.com", path: "/get" },
      {
        listener: "0.0.0.0_80",
        virtualHost: "httpbin.example.com:80",
        cluster: "outbound|80||httpbin.example.com",
      },
    );
    expectCall(
      mesh,
      { port: 80, host: "evil.example.com" },
      { virtualHost: "block_all", directResponse: { status: 502 } },
    );
  });

  it("TLS is routed by SNI on the shared 0.0.0.0_443 listener", () => {
    const tls = { port: 443, host: "", protocol: "tls" as const, address: "203.0.113.7" };
    expectCall(
      mesh,
      { ...tls, sni: "api.payments.example.com" },
      {
        listener: "0.0.0.0_443",
        cluster: "outbound|443||api.payments.example.com",
      },
    );
    expectCall(
      mesh,
      { ...tls, sni: "en.wikipedia.org" },
      { cluster: "outbound|443||*.wikipedia.org" },
    );
    expectCall(
      mesh,
      { ...tls, sni: "example.org" },
      { filterChain: "PassthroughFilterChain", cluster: "BlackHoleCluster" },
    );
  });
});

describe("a TCP service and an HTTP service on one port", () => {
  const mesh = resourcesFor(
    REVIEWS +
      workload("legacy", { vip: "10.96.0.50", ports: ["tcp:9080"], pods: [{ ip: "10.0.0.50" }] }),
    app,
  );

  it("the TCP service's VIP listener takes calls to its address, HTTP or not", () => {
    expectCall(
      mesh,
      { address: "10.96.0.50", port: 9080, host: "legacy:9080" },
      {
        listener: "10.96.0.50_9080",
        cluster: outbound("legacy", 9080),
      },
    );
  });

  it("calls to the HTTP service's address use the 0.0.0.0 listener and its routes", () => {
    expectCall(
      mesh,
      { address: "10.96.0.11", port: 9080, host: "reviews:9080" },
      {
        listener: "0.0.0.0_9080",
        routeConfig: "9080",
        cluster: outbound("reviews", 9080),
      },
    );
  });
});

describe("a Sidecar egress listener for one port", () => {
  const yaml =
    REVIEWS +
    workload("ratings", {
      vip: "10.96.0.12",
      ports: ["http:9080", "http-alt:9090"],
      pods: [{ ip: "10.0.0.12" }],
    }) +
    istio("Sidecar", "default", {
      egress: [
        {
          port: { number: 9080, protocol: "HTTP", name: "egress-http" },
          hosts: ["./ratings.default.svc.cluster.local"],
        },
        { hosts: ["./*"] },
      ],
    });
  const mesh = resourcesFor(yaml, app);

  it("on that port only the listener's hosts are routed", () => {
    expectCall(mesh, { port: 9080, host: "ratings" }, { cluster: outbound("ratings", 9080) });
    expectCall(
      mesh,
      { port: 9080, host: "reviews" },
      { virtualHost: "allow_any", cluster: "PassthroughCluster" },
    );
  });

  it("other ports use the catch-all egress listener", () => {
    expectCall(mesh, { port: 9090, host: "ratings:9090" }, { cluster: outbound("ratings", 9090) });
  });
});

describe("source-dependent TCP routes", () => {
  const yaml =
    workload("db", {
      vip: "10.96.0.60",
      ports: ["tcp:5432"],
      pods: [
        { ip: "10.0.0.61", labels: { version: "primary" } },
        { ip: "10.0.0.62", labels: { version: "replica" } },
      ],
    }) +
    istio("DestinationRule", "db", {
      host: "db",
      subsets: [
        { name: "primary", labels: { version: "primary" } },
        { name: "replica", labels: { version: "replica" } },
      ],
    }) +
    istio("VirtualService", "db", {
      hosts: ["db"],
      tcp: [
        {
          match: [{ sourceLabels: { app: "reporting" } }],
          route: [{ destination: { host: "db", subset: "replica" } }],
        },
        { route: [{ destination: { host: "db", subset: "primary" } }] },
      ],
    });
  const call = { address: "10.96.0.60", port: 5432, host: "", protocol: "tcp" as const };

  it("the reporting job reads from the replica, everyone else from the primary", () => {
    expectCall(resourcesFor(yaml, sidecar("reporting-1", { ip: "10.0.0.70" })), call, {
      cluster: outbound("db", 5432, "replica"),
    });
    expectCall(resourcesFor(yaml, app), call, { cluster: outbound("db", 5432, "primary") });
  });
});
