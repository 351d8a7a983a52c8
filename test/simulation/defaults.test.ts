// Services without a VirtualService: the default route and Istio's default retry policy, no route
// timeout; and unknown hosts under the outbound traffic policy (ALLOW_ANY / REGISTRY_ONLY).
import { describe, expect, it } from "vitest";
import type { ForwardAction } from "../../src/proxy/routing/index.ts";
import { expectCall, simulate } from "../support/simulate.ts";
import { FQDN, istio, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const MESH =
  workload("reviews", { vip: "10.96.0.11", ports: ["http:9080"], pods: [{ ip: "10.0.0.11" }] }) +
  workload("details", { vip: "10.96.0.12", ports: ["http-web:8000"], pods: [{ ip: "10.0.0.12" }] });
const productpage = sidecar("productpage-1", { ip: "10.0.0.1" });

const ISTIO_DEFAULT_RETRIES = {
  numRetries: 2,
  retryOn: [
    "connect-failure",
    "refused-stream",
    "unavailable",
    "cancelled",
    "retriable-status-codes",
  ],
  retriableStatusCodes: [],
  hostSelectionRetryMaxAttempts: 5,
  retryHostPredicates: ["envoy.retry_host_predicates.previous_hosts"],
};

describe("a service without a VirtualService", () => {
  const mesh = resourcesFor(MESH, productpage);

  it("gets the default route to its port's cluster", () => {
    expectCall(
      mesh,
      { port: 8000, host: "details:8000", path: "/anything" },
      {
        listener: "0.0.0.0_8000",
        routeConfig: "8000",
        virtualHost: `${FQDN("details")}:8000`,
        route: "default",
        cluster: outbound("details", 8000),
      },
    );
  });

  it("with Istio's default retry policy and no route timeout", () => {
    const action = simulate(mesh, { port: 9080, host: "reviews" }).action as ForwardAction;
    expect(action.retryPolicy).toMatchObject(ISTIO_DEFAULT_RETRIES);
    expect(action.timeoutMs).toBe(0);
  });

  it("a VirtualService without retries keeps the default policy", () => {
    const vs = istio("VirtualService", "reviews", {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "reviews" } }] }],
    });
    const action = simulate(resourcesFor(MESH + vs, productpage), { port: 9080, host: "reviews" })
      .action as ForwardAction;
    expect(action.retryPolicy).toMatchObject(ISTIO_DEFAULT_RETRIES);
  });
});

describe("unknown hosts under the outbound traffic policy", () => {
  it("ALLOW_ANY (default): an HTTP call to an unknown host passes through", () => {
    const mesh = resourcesFor(MESH, productpage);
    expectCall(
      mesh,
      { port: 9080, host: "api.example.com" },
      {
        routeConfig: "9080",
        virtualHost: "allow_any",
        route: "allow_any",
        cluster: "PassthroughCluster",
      },
    );
  });

  it("ALLOW_ANY: a port without any service is passed through by virtualOutbound", () => {
    const mesh = resourcesFor(MESH, productpage);
    expectCall(
      mesh,
      { port: 5555, host: "api.example.com", address: "93.184.216.34" },
      {
        listener: "virtualOutbound",
        filterChain: "virtualOutbound-catchall-tcp",
        cluster: "PassthroughCluster",
      },
    );
    // The original-dst listener's own port goes to the black hole (no loops).
    expectCall(mesh, { port: 15001, host: "x", protocol: "tcp" }, { cluster: "BlackHoleCluster" });
  });

  it("REGISTRY_ONLY: an HTTP call to an unknown host is answered 502", () => {
    const mesh = resourcesFor(MESH, productpage, {
      meshConfig: { outboundTrafficPolicy: "REGISTRY_ONLY" },
    });
    expectCall(
      mesh,
      { port: 9080, host: "api.example.com" },
      {
        virtualHost: "block_all",
        directResponse: { status: 502 },
      },
    );
    // Known services still route.
    expectCall(mesh, { port: 9080, host: "reviews" }, { cluster: outbound("reviews", 9080) });
  });

  it("REGISTRY_ONLY: other ports go to the black hole, also for TCP on an HTTP port", () => {
    const mesh = resourcesFor(MESH, productpage, {
      meshConfig: { outboundTrafficPolicy: "REGISTRY_ONLY" },
    });
    expectCall(
      mesh,
      { port: 5555, host: "x", protocol: "tcp" },
      { listener: "virtualOutbound", cluster: "BlackHoleCluster" },
    );
    expectCall(
      mesh,
      { port: 9080, host: "x", protocol: "tcp" },
      {
        listener: "0.0.0.0_9080",
        filterChain: "PassthroughFilterChain",
        cluster: "BlackHoleCluster",
      },
    );
  });
});
