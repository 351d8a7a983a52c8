// A matched route's policies, as the proxy applies or carries them: header operations (run
// through the engine's mutation helpers), mirrors, fault injection, retries, timeout, CORS.
import { describe, expect, it } from "vitest";
import type { ProxyResources } from "../../src/control-plane/translate/proxy-resources.ts";
import type { ForwardAction } from "../../src/proxy/routing/index.ts";
import { type Call, expectCall, simulate } from "../support/simulate.ts";
import { istio, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const MESH =
  workload("reviews", {
    vip: "10.96.0.11",
    ports: ["http:9080"],
    pods: [
      { ip: "10.0.0.11", labels: { version: "v1" } },
      { ip: "10.0.0.12", labels: { version: "v2" } },
      { ip: "10.0.0.13", labels: { version: "v3" } },
    ],
  }) +
  istio("DestinationRule", "reviews", {
    host: "reviews",
    subsets: ["v1", "v2", "v3"].map((v) => ({ name: v, labels: { version: v } })),
  });
const v3 = outbound("reviews", 9080, "v3");
const call = (extra: Partial<Call> = {}): Call => ({ port: 9080, host: "reviews:9080", ...extra });
const dest = (subset: string) => ({ host: "reviews", subset });

function meshWith(http: object[]): ProxyResources {
  const vs = istio("VirtualService", "reviews", { hosts: ["reviews"], http });
  return resourcesFor(MESH + vs, sidecar("productpage-1", { ip: "10.0.0.1" }));
}

const forward = (result: { action?: unknown }) => result.action as ForwardAction;

describe("header operations, applied by the proxy's mutation helpers", () => {
  const headers = {
    request: {
      set: { "x-env": "prod", "x-a": "set" },
      add: { "x-a": "added" },
      remove: ["x-secret"],
    },
    response: {
      set: { "cache-control": "no-store" },
      add: { "x-served-by": "reviews" },
      remove: ["server"],
    },
  };

  it("set (overwrite) before add (append); remove; response mutations alike", () => {
    const mesh = meshWith([{ headers, route: [{ destination: dest("v1") }] }]);
    const result = simulate(
      mesh,
      call({
        headers: { "x-env": "dev", "x-a": "client", "x-secret": "s3cr3t", "x-keep": "1" },
        responseHeaders: { server: "envoy", "cache-control": "max-age=60" },
      }),
    );
    expect(result.requestHeaders).toEqual({
      "x-env": "prod",
      "x-a": ["set", "added"],
      "x-keep": "1",
    });
    expect(result.responseHeaders).toEqual({
      "cache-control": "no-store",
      "x-served-by": "reviews",
    });
  });

  it("one destination: its headers apply after the rule's (the destination's set wins)", () => {
    const mesh = meshWith([
      {
        headers: { request: { set: { "x-tier": "rule", "x-rule": "1" } } },
        route: [
          {
            destination: dest("v1"),
            headers: {
              request: { set: { "x-tier": "destination" } },
              response: { add: { "x-dest": "v1" } },
            },
          },
        ],
      },
    ]);
    const result = simulate(mesh, call());
    expect(result.requestHeaders).toEqual({ "x-tier": "destination", "x-rule": "1" });
    expect(result.responseHeaders).toEqual({ "x-dest": "v1" });
  });

  it("several destinations: each weighted cluster carries its own headers", () => {
    const mesh = meshWith([
      {
        route: [
          {
            destination: dest("v1"),
            weight: 50,
            headers: { request: { set: { "x-version": "v1" } } },
          },
          {
            destination: dest("v2"),
            weight: 50,
            headers: {
              request: { set: { "x-version": "v2" } },
              response: { set: { "x-canary": "yes" } },
            },
          },
        ],
      },
    ]);
    expect(simulate(mesh, call(), () => 0.1).requestHeaders).toEqual({ "x-version": "v1" });
    const canary = simulate(mesh, call(), () => 0.9);
    expect(canary.requestHeaders).toEqual({ "x-version": "v2" });
    expect(canary.responseHeaders).toEqual({ "x-canary": "yes" });
  });

  it("several destinations: a destination's authority rewrites the host on its side only", () => {
    const mesh = meshWith([
      {
        route: [
          { destination: dest("v1"), weight: 50 },
          {
            destination: dest("v2"),
            weight: 50,
            headers: { request: { set: { ":authority": "v2.internal" } } },
          },
        ],
      },
    ]);
    expect(simulate(mesh, call(), () => 0.1).hostRewrite).toBeUndefined();
    expect(simulate(mesh, call(), () => 0.9).hostRewrite).toBe("v2.internal");
  });

  it("setting :authority / host is a host rewrite, not a header mutation", () => {
    const mesh = meshWith([
      {
        headers: { request: { set: { host: "api.internal" } } },
        route: [{ destination: dest("v1") }],
      },
    ]);
    expectCall(mesh, call(), { hostRewrite: "api.internal", requestHeaders: {} });
  });
});

describe("mirror, fault, retries, timeout and CORS on the selected route", () => {
  it("mirror with mirrorPercentage → a mirror policy with that fraction (per million)", () => {
    const mesh = meshWith([
      {
        route: [{ destination: dest("v1") }],
        mirror: dest("v3"),
        mirrorPercentage: { value: 12.5 },
      },
    ]);
    const mirrors = forward(simulate(mesh, call())).requestMirrorPolicies;
    expect(mirrors).toMatchObject([
      { cluster: v3, fraction: { numerator: 125_000, denominator: 1_000_000 } },
    ]);
  });

  it("mirror without a percentage mirrors everything; an explicit 0 mirrors nothing", () => {
    const all = meshWith([{ route: [{ destination: dest("v1") }], mirror: dest("v3") }]);
    const fraction = forward(simulate(all, call())).requestMirrorPolicies[0]?.fraction;
    expect(fraction && fraction.numerator / fraction.denominator).toBe(1);
    const none = meshWith([
      { route: [{ destination: dest("v1") }], mirror: dest("v3"), mirrorPercentage: { value: 0 } },
    ]);
    expect(forward(simulate(none, call())).requestMirrorPolicies).toEqual([]);
  });

  it("fault abort and delay become the fault filter's per-route config", () => {
    const fault = {
      abort: { httpStatus: 503, percentage: { value: 10 } },
      delay: { fixedDelay: "2s", percentage: { value: 50 } },
    };
    const result = simulate(meshWith([{ fault, route: [{ destination: dest("v1") }] }]), call());
    expect(result.perFilterConfig?.["envoy.filters.http.fault"]).toMatchObject({
      abort: { http_status: 503, percentage: { numerator: 100_000, denominator: "MILLION" } },
      delay: { fixed_delay: "2s", percentage: { numerator: 500_000, denominator: "MILLION" } },
    });
  });

  it("retries and timeout from the VirtualService", () => {
    const retries = { attempts: 3, perTryTimeout: "2s", retryOn: "gateway-error,503" };
    const action = forward(
      simulate(
        meshWith([{ timeout: "5s", retries, route: [{ destination: dest("v1") }] }]),
        call(),
      ),
    );
    expect(action.timeoutMs).toBe(5000);
    expect(action.retryPolicy).toMatchObject({
      numRetries: 3,
      perTryTimeoutMs: 2000,
      retryOn: ["gateway-error", "retriable-status-codes"],
      retriableStatusCodes: [503],
    });
  });

  it("attempts: 0 disables retries", () => {
    const action = forward(
      simulate(
        meshWith([{ retries: { attempts: 0 }, route: [{ destination: dest("v1") }] }]),
        call(),
      ),
    );
    expect(action.retryPolicy).toBeUndefined();
  });

  it("consistent hashing from the DestinationRule: a hash policy, retries stay on the host", () => {
    const hashed = istio("DestinationRule", "reviews-hash", {
      host: "reviews",
      trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } },
    });
    const vs = istio("VirtualService", "reviews", {
      hosts: ["reviews"],
      http: [{ route: [{ destination: { host: "reviews" } }] }],
    });
    const mesh = resourcesFor(
      workload("reviews", {
        vip: "10.96.0.11",
        ports: ["http:9080"],
        pods: [{ ip: "10.0.0.11" }],
      }) +
        hashed +
        vs,
      sidecar("productpage-1", { ip: "10.0.0.1" }),
    );
    const action = forward(simulate(mesh, call()));
    expect(action.hashPolicies).toMatchObject([{ kind: "header", headerName: "x-user" }]);
    expect(action.retryPolicy?.retryHostPredicates).toEqual([]);
  });

  it("corsPolicy becomes the CORS filter's per-route config", () => {
    const corsPolicy = {
      allowOrigins: [
        { exact: "https://shop.example.com" },
        { regex: "https://.*\\.example\\.org" },
      ],
      allowMethods: ["GET", "POST"],
      allowCredentials: true,
      maxAge: "24h",
    };
    const result = simulate(
      meshWith([{ corsPolicy, route: [{ destination: dest("v1") }] }]),
      call(),
    );
    expect(result.perFilterConfig?.["envoy.filters.http.cors"]).toMatchObject({
      allow_origin_string_match: [
        { exact: "https://shop.example.com" },
        { safe_regex: { regex: "https://.*\\.example\\.org" } },
      ],
      allow_methods: "GET,POST",
      allow_credentials: true,
      max_age: "86400",
    });
  });
});
