import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { translateRetryPolicy } from "./route-retry.ts";
import { routesOfSpec, testProxy } from "./route-testing.ts";
import type { Obj } from "./route-values.ts";

const R = "reviews.default.svc.cluster.local";
const RETRY = translateRetryPolicy(undefined, false)!;

function routes(
  spec: Obj,
  port = 9080,
  proxy: ProxyNode = testProxy(),
  extraYaml = "",
): JsonObject[] {
  return routesOfSpec(spec, { port, proxy, extraYaml });
}

const to = (host: string, extra: Obj = {}) => ({ destination: { host, ...extra } });

describe("buildHttpRoutes: rewrite, redirect, direct response", () => {
  const action = (rule: Obj, port = 9080) => {
    const [route] = routes({ http: [rule] }, port);
    return route;
  };

  it("rewrite uri → prefix_rewrite, authority → host_rewrite_literal", () => {
    const route = action({
      match: [{ uri: { prefix: "/v1" } }],
      rewrite: { uri: "/api/v1", authority: "new.example" },
      route: [to("reviews")],
    });
    expect(route!.route).toMatchObject({
      prefix_rewrite: "/api/v1",
      host_rewrite_literal: "new.example",
    });
  });

  it("uriRegexRewrite → regex_rewrite", () => {
    const route = action({
      rewrite: { uriRegexRewrite: { match: "^/old/(.*)$", rewrite: "/new/\\1" } },
      route: [to("reviews")],
    });
    expect((route!.route as Obj).regex_rewrite).toEqual({
      pattern: { regex: "^/old/(.*)$" },
      substitution: "/new/\\1",
    });
  });

  const redirects: Array<[string, Obj, number, Obj]> = [
    [
      "uri and authority; default 301",
      { uri: "/new", authority: "b.example" },
      9080,
      { path_redirect: "/new", host_redirect: "b.example", response_code: "MOVED_PERMANENTLY" },
    ],
    [
      "scheme, port, 302",
      { scheme: "https", port: 8443, redirectCode: 302 },
      9080,
      { scheme_redirect: "https", port_redirect: 8443, response_code: "FOUND" },
    ],
    [
      "derivePort FROM_REQUEST_PORT is the listener port",
      { derivePort: "FROM_REQUEST_PORT" },
      9080,
      { port_redirect: 9080, response_code: "MOVED_PERMANENTLY" },
    ],
    [
      "no explicit :80 for http",
      { port: 80, redirectCode: 307 },
      9080,
      { response_code: "TEMPORARY_REDIRECT" },
    ],
    [
      "no explicit :443 for https",
      { scheme: "https", port: 443, redirectCode: 308 },
      9080,
      { scheme_redirect: "https", response_code: "PERMANENT_REDIRECT" },
    ],
    [
      "303",
      { uri: "/x", redirectCode: 303 },
      9080,
      { path_redirect: "/x", response_code: "SEE_OTHER" },
    ],
  ];
  for (const [name, redirect, port, expected] of redirects) {
    it(`redirect: ${name}`, () => {
      const route = action({ redirect }, port);
      expect(route!.redirect).toEqual(expected);
      expect(route!.route).toBeUndefined();
      expect(route!.decorator).toEqual({ operation: `vs:${port}/*` });
    });
  }

  it("an unsupported redirectCode drops the route", () => {
    expect(routes({ http: [{ redirect: { uri: "/x", redirectCode: 399 } }] })).toEqual([]);
  });

  it("directResponse with a string or bytes body", () => {
    expect(
      action({ directResponse: { status: 418, body: { string: "teapot" } } })!.direct_response,
    ).toEqual({
      status: 418,
      body: { inline_string: "teapot" },
    });
    expect(
      action({ directResponse: { status: 200, body: { bytes: "aGk=" } } })!.direct_response,
    ).toEqual({
      status: 200,
      body: { inline_bytes: "aGk=" },
    });
  });

  it("fault and corsPolicy become per-route filter configs (timeout and retries stay, as in Istio)", () => {
    const route = action({
      route: [to("reviews")],
      timeout: "1s",
      fault: { delay: { fixedDelay: "2s", percentage: { value: 100 } } },
      corsPolicy: { allowOrigins: [{ exact: "https://a.example" }] },
    });
    const filters = route!.typed_per_filter_config as Obj;
    expect(Object.keys(filters)).toEqual(["envoy.filters.http.fault", "envoy.filters.http.cors"]);
    expect(route!.route).toMatchObject({ timeout: "1s", retry_policy: RETRY });
  });
});

describe("buildHttpRoutes: match entries", () => {
  it("one route per match entry, same action, named rule.match", () => {
    const out = routes({
      http: [
        {
          name: "api",
          match: [{ name: "v1", uri: { prefix: "/v1" } }, { uri: { exact: "/v2" } }],
          route: [to("reviews")],
        },
      ],
    });
    expect(out.map((r) => [r.name, r.match, r.decorator])).toEqual([
      ["api.v1", { prefix: "/v1", case_sensitive: true }, { operation: `${R}:9080/v1*` }],
      ["api", { path: "/v2", case_sensitive: true }, { operation: `${R}:9080/v2` }],
    ]);
  });

  it("stops after a catch-all: later rules could never match", () => {
    const out = routes({
      http: [
        {
          match: [{ uri: { prefix: "/" } }, { uri: { prefix: "/never" } }],
          route: [to("reviews")],
        },
        { route: [to("ratings")] },
      ],
    });
    expect(out).toHaveLength(1);
    const rest = routes({ http: [{ route: [to("reviews")] }, { route: [to("ratings")] }] });
    expect(rest).toHaveLength(1);
  });

  it("drops entries for other ports and other sources", () => {
    const out = routes({
      http: [
        { match: [{ port: 80, uri: { prefix: "/a" } }], route: [to("reviews")] },
        { match: [{ sourceLabels: { app: "other" } }], route: [to("reviews")] },
        { match: [{ sourceNamespace: "default", uri: { prefix: "/c" } }], route: [to("reviews")] },
        { match: [{ gateways: ["istio-system/gw"] }], route: [to("reviews")] },
      ],
    });
    expect(out.map((r) => (r.match as Obj).prefix)).toEqual(["/c"]);
  });

  it("statPrefix", () => {
    const [route] = routes({ http: [{ match: [{ statPrefix: "api" }], route: [to("reviews")] }] });
    expect(route!.stat_prefix).toBe("api");
  });
});
