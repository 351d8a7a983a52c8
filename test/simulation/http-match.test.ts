// Simulated HTTP calls from a sidecar through VirtualService match conditions: uri, headers,
// withoutHeaders, queryParams, method, authority, port; rule order; AND within / OR across entries.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProxyResources } from "../../src/control-plane/translate/proxy-resources.ts";
import { liveRegexCount } from "../../src/proxy/routing/index.ts";
import { type Call, expectCall } from "../support/simulate.ts";
import { istio, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const REVIEWS = workload("reviews", {
  vip: "10.96.0.11",
  ports: ["http:9080", "http-admin:9090"],
  pods: [
    { ip: "10.0.0.11", labels: { version: "v1" } },
    { ip: "10.0.0.12", labels: { version: "v2" } },
  ],
});
const SUBSETS = istio("DestinationRule", "reviews", {
  host: "reviews",
  subsets: ["v1", "v2", "v3"].map((v) => ({ name: v, labels: { version: v } })),
});
const PRODUCTPAGE = sidecar("productpage-1", { ip: "10.0.0.1" });

/** A mesh where VirtualService `reviews` has `http` rules, each naming the subset it routes to. */
function meshWith(http: object[]): ProxyResources {
  const vs = istio("VirtualService", "reviews", { hosts: ["reviews"], http });
  return resourcesFor(REVIEWS + SUBSETS + vs, PRODUCTPAGE);
}

const to = (subset: string, port = 9080) => ({
  route: [{ destination: { host: "reviews", subset, port: { number: port } } }],
});
const v1 = outbound("reviews", 9080, "v1");
const v2 = outbound("reviews", 9080, "v2");
const v3 = outbound("reviews", 9080, "v3");
const call = (extra: Partial<Call> = {}): Call => ({ port: 9080, host: "reviews:9080", ...extra });

let regexesBefore = 0;
beforeAll(() => {
  regexesBefore = liveRegexCount();
});
afterAll(() => expect(liveRegexCount(), "simulations release their regexes").toBe(regexesBefore));

describe("uri matches", () => {
  const mesh = meshWith([
    { name: "exact", match: [{ uri: { exact: "/api" } }], ...to("v1") },
    { name: "regex", match: [{ uri: { regex: "/v[0-9]+/items" } }], ...to("v2") },
    {
      name: "prefix-nocase",
      match: [{ uri: { prefix: "/Static" }, ignoreUriCase: true }],
      ...to("v3"),
    },
    { name: "prefix", match: [{ uri: { prefix: "/api" } }], ...to("v2") },
    { name: "fallback", ...to("v3") },
  ]);

  it("an exact uri matches only that path (the query is not part of it)", () => {
    expectCall(mesh, call({ path: "/api" }), { route: "exact", cluster: v1 });
    expectCall(mesh, call({ path: "/api?x=1" }), { route: "exact", cluster: v1 });
    expectCall(mesh, call({ path: "/api/" }), { route: "prefix", cluster: v2 });
  });

  it("a prefix is a plain string prefix: /apiary matches /api", () => {
    expectCall(mesh, call({ path: "/apiary" }), { route: "prefix", cluster: v2 });
  });

  it("a regex must match the whole path (RE2 full match)", () => {
    expectCall(mesh, call({ path: "/v12/items" }), { route: "regex", cluster: v2 });
    expectCall(mesh, call({ path: "/v12/items/7" }), { route: "fallback", cluster: v3 });
    expectCall(mesh, call({ path: "/x/v1/items" }), { route: "fallback", cluster: v3 });
  });

  it("ignoreUriCase makes the prefix case-insensitive", () => {
    expectCall(mesh, call({ path: "/STATIC/app.js" }), { route: "prefix-nocase", cluster: v3 });
    expectCall(mesh, call({ path: "/static/app.js" }), { route: "prefix-nocase" });
  });

  it("exact uris are case-sensitive without ignoreUriCase", () => {
    expectCall(mesh, call({ path: "/API" }), { route: "fallback" });
  });

  it("ignoreUriCase applies to exact uris, not to regexes", () => {
    const nocase = meshWith([
      { name: "exact", match: [{ uri: { exact: "/Login" }, ignoreUriCase: true }], ...to("v1") },
      { name: "regex", match: [{ uri: { regex: "/[a-z]+/x" }, ignoreUriCase: true }], ...to("v2") },
      { name: "rest", ...to("v3") },
    ]);
    expectCall(nocase, call({ path: "/LOGIN" }), { route: "exact" });
    expectCall(nocase, call({ path: "/abc/x" }), { route: "regex" });
    expectCall(nocase, call({ path: "/ABC/x" }), { route: "rest" });
  });
});

describe("header matches", () => {
  const mesh = meshWith([
    { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], ...to("v2") },
    { name: "beta", match: [{ headers: { "x-track": { prefix: "beta-" } } }], ...to("v3") },
    { name: "ua", match: [{ headers: { "User-Agent": { regex: ".*Firefox.*" } } }], ...to("v2") },
    { name: "debug", match: [{ headers: { "x-debug": {} } }], ...to("v3") },
    { name: "rest", ...to("v1") },
  ]);

  it("a call to reviews:9080 path /api with end-user: jason hits the jason route and subset v2", () => {
    expectCall(mesh, call({ path: "/api", headers: { "end-user": "jason" } }), {
      listener: "0.0.0.0_9080",
      routeConfig: "9080",
      virtualHost: "reviews.default.svc.cluster.local:9080",
      route: "jason",
      cluster: v2,
    });
  });

  it("exact is exact and case-sensitive in the value", () => {
    expectCall(mesh, call({ headers: { "end-user": "Jason" } }), { route: "rest", cluster: v1 });
    expectCall(mesh, call({ headers: { "end-user": "jason2" } }), { route: "rest" });
  });

  it("prefix, regex (full match) and presence", () => {
    expectCall(mesh, call({ headers: { "x-track": "beta-7" } }), { route: "beta", cluster: v3 });
    expectCall(mesh, call({ headers: { "x-track": "alpha-beta-7" } }), { route: "rest" });
    expectCall(mesh, call({ headers: { "user-agent": "Mozilla/5.0 Firefox/120" } }), {
      route: "ua",
    });
    expectCall(mesh, call({ headers: { "x-debug": "" } }), { route: "debug" });
    expectCall(mesh, call({ headers: { "x-debug": "1" } }), { route: "debug" });
  });

  it("header names match case-insensitively (mixed case in config and request)", () => {
    expectCall(mesh, call({ headers: { "END-USER": "jason" } }), { route: "jason" });
    expectCall(mesh, call({ headers: { "user-AGENT": "Firefox" } }), { route: "ua" });
  });
});

describe("withoutHeaders, queryParams, method, authority and port", () => {
  const mesh = meshWith([
    {
      name: "not-jason",
      match: [{ uri: { prefix: "/private" }, withoutHeaders: { "end-user": { exact: "jason" } } }],
      ...to("v1"),
    },
    {
      name: "query",
      match: [{ queryParams: { debug: { exact: "true" }, id: { regex: "[0-9]+" } } }],
      ...to("v2"),
    },
    { name: "post", match: [{ method: { exact: "POST" } }], ...to("v3") },
    { name: "authority", match: [{ authority: { prefix: "reviews.default" } }], ...to("v2") },
    { name: "admin-port", match: [{ port: 9090 }], ...to("v3", 9090) },
    { name: "rest", ...to("v1") },
  ]);

  it("withoutHeaders negates: everyone but jason, including callers without the header", () => {
    expectCall(mesh, call({ path: "/private" }), { route: "not-jason" });
    expectCall(mesh, call({ path: "/private", headers: { "end-user": "mary" } }), {
      route: "not-jason",
    });
    expectCall(mesh, call({ path: "/private", headers: { "end-user": "jason" } }), {
      route: "rest",
    });
  });

  it("withoutHeaders with an empty match: only calls without the header", () => {
    const plain = meshWith([
      { name: "no-debug", match: [{ withoutHeaders: { "x-debug": {} } }], ...to("v1") },
      { name: "debug", ...to("v2") },
    ]);
    expectCall(plain, call(), { route: "no-debug" });
    expectCall(plain, call({ headers: { "x-debug": "" } }), { route: "debug" });
  });

  it("query parameters: every named one must match", () => {
    expectCall(mesh, call({ path: "/?debug=true&id=42" }), { route: "query", cluster: v2 });
    expectCall(mesh, call({ path: "/?debug=true&id=4x" }), { route: "rest" });
    expectCall(mesh, call({ path: "/?id=42" }), { route: "rest" });
  });

  it("method", () => {
    expectCall(mesh, call({ method: "POST" }), { route: "post", cluster: v3 });
    expectCall(mesh, call({ method: "GET" }), { route: "rest" });
  });

  it("authority is matched against the Host header as sent", () => {
    expectCall(mesh, call({ host: "reviews.default:9080" }), { route: "authority" });
    expectCall(mesh, call({ host: "reviews.default.svc.cluster.local" }), { route: "authority" });
    expectCall(mesh, call({ host: "reviews" }), { route: "rest" });
  });

  it("a match entry for another port drops out; the rule's other entries still apply", () => {
    const ported = meshWith([
      {
        name: "r",
        match: [
          { name: "admin", port: 9090, uri: { prefix: "/a" } },
          { name: "b", uri: { prefix: "/b" } },
        ],
        ...to("v2"),
      },
      { name: "rest", ...to("v1") },
    ]);
    expectCall(ported, call({ path: "/a" }), { route: "rest" });
    expectCall(ported, call({ path: "/b" }), { route: "r.b" });
    expectCall(ported, call({ port: 9090, host: "reviews:9090", path: "/a" }), {
      route: "r.admin",
    });
  });

  it("a port match applies only on that port's route configuration", () => {
    expectCall(mesh, call({ port: 9090, host: "reviews:9090" }), {
      routeConfig: "9090",
      route: "admin-port",
      cluster: outbound("reviews", 9090, "v3"),
    });
    expectCall(mesh, call(), { routeConfig: "9080", route: "rest" });
  });
});

describe("rule order and combination", () => {
  it("the first matching rule wins, even when a later one is more specific", () => {
    const mesh = meshWith([
      { name: "broad", match: [{ uri: { prefix: "/" }, headers: { "x-a": {} } }], ...to("v1") },
      { name: "narrow", match: [{ uri: { exact: "/api" }, headers: { "x-a": {} } }], ...to("v2") },
      { name: "rest", ...to("v3") },
    ]);
    expectCall(mesh, call({ path: "/api", headers: { "x-a": "1" } }), {
      route: "broad",
      cluster: v1,
    });
  });

  it("conditions within one match entry are AND-ed; entries are OR-ed", () => {
    const mesh = meshWith([
      {
        name: "either",
        match: [
          {
            name: "jason-api",
            uri: { prefix: "/api" },
            headers: { "end-user": { exact: "jason" } },
          },
          { name: "canary", headers: { "x-canary": { exact: "1" } } },
        ],
        ...to("v2"),
      },
      { name: "rest", ...to("v1") },
    ]);
    const jasonApi = call({ path: "/api/x", headers: { "end-user": "jason" } });
    expectCall(mesh, jasonApi, { route: "either.jason-api", cluster: v2 });
    expectCall(mesh, call({ path: "/other", headers: { "x-canary": "1" } }), {
      route: "either.canary",
      cluster: v2,
    });
    expectCall(mesh, call({ path: "/other", headers: { "end-user": "jason" } }), {
      route: "rest",
      cluster: v1,
    });
    expectCall(mesh, call({ path: "/api/x" }), { route: "rest" });
  });

  it("without a catch-all rule, unmatched calls get no route (404) on the service's host", () => {
    const mesh = meshWith([{ name: "only", match: [{ uri: { exact: "/only" } }], ...to("v1") }]);
    expectCall(mesh, call({ path: "/else" }), {
      virtualHost: "reviews.default.svc.cluster.local:9080",
      noRoute: true,
    });
  });
});
