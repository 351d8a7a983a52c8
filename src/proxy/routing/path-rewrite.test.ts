// Rewrites and local replies: prefix/regex path rewrites, host rewrites, redirect Locations.
import { describe, expect, it } from "vitest";
import type { RouteMatchResult } from "./select-route.ts";
import { selectRoute } from "./select-route.ts";
import { compileRoutes, request, singleHost } from "./testing.ts";
import type { RouteRequest } from "./types.ts";

function select(
  routes: unknown[],
  req: Partial<RouteRequest>,
  vhost: Record<string, unknown> = {},
): RouteMatchResult {
  const s = selectRoute(compileRoutes(singleHost(routes, vhost)), request(req));
  if (s.noRoute) throw new Error("expected a route");
  return s;
}

const rewrite = (pattern: string, substitution: string) => ({
  pattern: { regex: pattern },
  substitution,
});

describe("forwarding rewrites", () => {
  it.each([
    // prefix_rewrite swaps the matched prefix (Envoy's two-route idiom for stripping "/prefix")
    [{ prefix: "/prefix/" }, { prefix_rewrite: "/" }, "/prefix/etc", "/etc"],
    [{ prefix: "/prefix" }, { prefix_rewrite: "/" }, "/prefix", "/"],
    [{ prefix: "/prefix" }, { prefix_rewrite: "/" }, "/prefixfoo?x=1", "/foo?x=1"],
    [{ prefix: "/API", case_sensitive: false }, { prefix_rewrite: "/v1" }, "/api/x", "/v1/x"],
    [{ path: "/foo" }, { prefix_rewrite: "/bar" }, "/foo?x=1", "/bar?x=1"],
    [{ path_separated_prefix: "/api" }, { prefix_rewrite: "/svc" }, "/api/users", "/svc/users"],
    [{ safe_regex: { regex: "/a/.*" } }, { prefix_rewrite: "/b" }, "/a/x?q", "/b?q"],
    // regex_rewrite, Envoy's documented examples
    [
      { prefix: "/" },
      { regex_rewrite: rewrite("^/service/([^/]+)(/.*)$", "\\2/instance/\\1") },
      "/service/foo/v1/api",
      "/v1/api/instance/foo",
    ],
    [
      { prefix: "/" },
      { regex_rewrite: rewrite("one", "two") },
      "/xxx/one/yyy/one/zzz",
      "/xxx/two/yyy/two/zzz",
    ],
    [
      { prefix: "/" },
      { regex_rewrite: rewrite("^(.*?)one(.*)$", "\\1two\\2") },
      "/xxx/one/yyy/one/zzz",
      "/xxx/two/yyy/one/zzz",
    ],
    [
      { prefix: "/" },
      { regex_rewrite: rewrite("(?i)/xxx/", "/yyy/") },
      "/aaa/XxX/bbb",
      "/aaa/yyy/bbb",
    ],
    // the query string is kept and never rewritten
    [
      { prefix: "/" },
      { regex_rewrite: rewrite("^/service/([^/]+)(/.*)$", "\\2/instance/\\1") },
      "/service/foo/v1?one=service",
      "/v1/instance/foo?one=service",
    ],
    [{ prefix: "/" }, { regex_rewrite: rewrite("o", "0") }, "/foo?o=o", "/f00?o=o"],
    [{ prefix: "/" }, { regex_rewrite: rewrite("^/old", "/new\\0") }, "/old/x", "/new/old/x"],
  ])("%j + %j: %s → %s", (match, action, path, expected) => {
    expect(select([{ match, route: { cluster: "c", ...action } }], { path }).pathAfterRewrite).toBe(
      expected,
    );
  });

  it("leaves the path alone without a rewrite", () => {
    expect(
      select([{ match: { prefix: "/" }, route: { cluster: "c" } }], {}).pathAfterRewrite,
    ).toBeUndefined();
  });

  it.each([
    [{ host_rewrite_literal: "upstream.local" }, {}, "upstream.local"],
    [{ host_rewrite_header: "X-Host" }, { headers: { "x-host": "from-header" } }, "from-header"],
    [{ host_rewrite_header: "x-host" }, {}, undefined],
    [
      { host_rewrite_path_regex: rewrite("^/([^/]+)/.+$", "\\1") },
      { path: "/envoyproxy.io/some/path?x" },
      "envoyproxy.io",
    ],
    // Envoy's docs show this pattern giving "envoyproxy.io"; RE2's greedy (.+) really takes more.
    [
      { host_rewrite_path_regex: rewrite("^/(.+)/.+$", "\\1") },
      { path: "/envoyproxy.io/some/path" },
      "envoyproxy.io/some",
    ],
    [{ auto_host_rewrite: true }, {}, undefined],
  ])("host rewrite %j → %s", (action, req, expected) => {
    const s = select([{ match: { prefix: "/" }, route: { cluster: "c", ...action } }], req);
    expect(s.hostRewrite).toBe(expected);
  });
});

describe("redirects", () => {
  const redirect = (
    r: Record<string, unknown>,
    req: Partial<RouteRequest>,
    match: unknown = { prefix: "/" },
  ) => select([{ match, redirect: r }], req);

  it.each([
    // path_redirect keeps the request's query unless stripped; its own query always wins
    [
      { path_redirect: "/new-path-1" },
      { path: "/old-path-1?bar=1" },
      "http://example.com/new-path-1?bar=1",
    ],
    [
      { path_redirect: "/new-path-2", strip_query: true },
      { path: "/old-path-2?bar=1" },
      "http://example.com/new-path-2",
    ],
    [
      { path_redirect: "/new-path-3?foo=1", strip_query: true },
      { path: "/old-path-3?bar=1" },
      "http://example.com/new-path-3?foo=1",
    ],
    [{ path_redirect: "relative" }, { path: "/x" }, "http://example.com/relative"],
    // scheme changes drop the old scheme's default port only
    [
      { https_redirect: true },
      { authority: "example.com:80", path: "/p?q=1" },
      "https://example.com/p?q=1",
    ],
    [
      { https_redirect: true },
      { authority: "example.com:8080", path: "/p" },
      "https://example.com:8080/p",
    ],
    [
      { scheme_redirect: "http" },
      { authority: "example.com:443", scheme: "https", path: "/p" },
      "http://example.com/p",
    ],
    [
      { https_redirect: true, port_redirect: 8443 },
      { authority: "example.com:80", path: "/p" },
      "https://example.com:8443/p",
    ],
    [{ port_redirect: 9090 }, { authority: "[::1]:80", path: "/p" }, "http://[::1]:9090/p"],
    [
      { host_redirect: "other.com" },
      { authority: "example.com:8080", path: "/p" },
      "http://other.com/p",
    ],
    [{ host_redirect: "other.com", port_redirect: 81 }, { path: "/p" }, "http://other.com:81/p"],
    [{ strip_query: true }, { path: "/p?x=1" }, "http://example.com/p"],
    [{ prefix_rewrite: "" }, { path: "/p?x=1" }, "http://example.com/p?x=1"],
  ])("%j for %j → %s", (r, req, location) => {
    expect(redirect(r, req).redirectUrl).toBe(location);
  });

  it("rewrites the matched prefix or a regex before building the Location", () => {
    expect(
      redirect({ prefix_rewrite: "/v2/" }, { path: "/v1/users?x=1" }, { prefix: "/v1/" })
        .redirectUrl,
    ).toBe("http://example.com/v2/users?x=1");
    expect(
      redirect(
        {
          regex_rewrite: rewrite("^/service/([^/]+)(/.*)$", "\\2/instance/\\1"),
          strip_query: true,
        },
        { path: "/service/foo/v1/api?q" },
      ).redirectUrl,
    ).toBe("http://example.com/v1/api/instance/foo");
  });

  it.each([
    [undefined, 301],
    ["MOVED_PERMANENTLY", 301],
    ["FOUND", 302],
    ["SEE_OTHER", 303],
    ["TEMPORARY_REDIRECT", 307],
    ["PERMANENT_REDIRECT", 308],
    [4, 308],
  ])("response_code %s → %d", (code, status) => {
    const s = redirect(code === undefined ? {} : { response_code: code }, {});
    expect(s.action.kind === "redirect" && s.action.responseCode).toBe(status);
  });

  it("redirects to https when the virtual host requires TLS", () => {
    const routes = [{ match: { prefix: "/" }, route: { cluster: "c" } }];
    const all = select(
      routes,
      { authority: "example.com:80", path: "/a?b" },
      { require_tls: "ALL" },
    );
    expect(all.redirectUrl).toBe("https://example.com:80/a?b");
    expect(all.action.kind === "redirect" && all.action.responseCode).toBe(301);
    expect(select(routes, { scheme: "https" }, { require_tls: "ALL" }).clusterName).toBe("c");
    const internal = { headers: { "x-envoy-internal": "true" } };
    expect(select(routes, internal, { require_tls: "EXTERNAL_ONLY" }).clusterName).toBe("c");
    expect(select(routes, internal, { require_tls: "ALL" }).redirectUrl).toBeDefined();
    expect(select(routes, {}, { require_tls: "EXTERNAL_ONLY" }).redirectUrl).toBe(
      "https://example.com/",
    );
  });

  it("answers direct responses with the configured status and body", () => {
    const s = select(
      [
        {
          match: { prefix: "/" },
          direct_response: { status: 503, body: { inline_string: "down" } },
        },
      ],
      {},
    );
    expect(s.action).toEqual({ kind: "direct_response", status: 503, body: "down" });
    const bytes = select(
      [
        {
          match: { prefix: "/" },
          direct_response: { status: 200, body: { inline_bytes: "aGk=" } },
        },
      ],
      {},
    );
    expect(
      bytes.action.kind === "direct_response" &&
        Buffer.from(bytes.action.body as Uint8Array).toString(),
    ).toBe("hi");
  });
});
