// Route matching: every path, header, query, gRPC, TLS, metadata and runtime matcher; first match wins.
import { describe, expect, it } from "vitest";
import { queryParameter } from "./route-match.ts";
import { selectRoute } from "./select-route.ts";
import { compileRoutes, fixedRandom, request, sequenceRandom, singleHost } from "./testing.ts";
import type { RouteRequest } from "./types.ts";

/** The name of the route `req` hits when `match` is the only route (or undefined). */
function hits(match: unknown, req: Partial<RouteRequest>, random = fixedRandom(0)): boolean {
  const config = compileRoutes(singleHost([{ name: "r", match, route: { cluster: "c" } }]));
  return !selectRoute(config, request(req), random).noRoute;
}

describe("path matching", () => {
  it.each([
    // prefix is a plain string prefix on the path without query
    [{ prefix: "/foo" }, "/foo", true],
    [{ prefix: "/foo" }, "/foobar", true],
    [{ prefix: "/foo" }, "/foo/bar?x=1", true],
    [{ prefix: "/foo" }, "/fo", false],
    [{ prefix: "/foo" }, "/FOO", false],
    [{ prefix: "/foo", case_sensitive: false }, "/FOObar", true],
    [{ prefix: "" }, "/anything", true],
    // path is exact once the query string is removed
    [{ path: "/foo" }, "/foo", true],
    [{ path: "/foo" }, "/foo?x=1", true],
    [{ path: "/foo" }, "/foo#frag", true],
    [{ path: "/foo" }, "/foo/", false],
    [{ path: "/foo" }, "/Foo", false],
    [{ path: "/foo", case_sensitive: false }, "/Foo", true],
    // safe_regex must match the whole path (without query)
    [{ safe_regex: { regex: "/api/v[0-9]+" } }, "/api/v12", true],
    [{ safe_regex: { regex: "/api/v[0-9]+" } }, "/api/v12?debug=1", true],
    [{ safe_regex: { regex: "/api/v[0-9]+" } }, "/api/v12/users", false],
    [{ safe_regex: { regex: "/api/v[0-9]+" } }, "/x/api/v12", false],
    [{ safe_regex: { regex: "/a|/b" } }, "/b", true],
    [{ safe_regex: { regex: "/a|/b" } }, "/ab", false],
    [{ safe_regex: { regex: "(?i)/api/.*" } }, "/API/x", true],
    [{ safe_regex: { regex: "/api/.*" }, case_sensitive: false }, "/API/x", false],
    [{ safe_regex: { regex: "/literal" } }, "/literal", true],
    [{ safe_regex: { regex: "/literal" } }, "/literalx", false],
    // path_separated_prefix: exact, or followed by "/"
    [{ path_separated_prefix: "/api/dev" }, "/api/dev", true],
    [{ path_separated_prefix: "/api/dev" }, "/api/dev/", true],
    [{ path_separated_prefix: "/api/dev" }, "/api/dev/v1", true],
    [{ path_separated_prefix: "/api/dev" }, "/api/dev?param=true", true],
    [{ path_separated_prefix: "/api/dev" }, "/api/developer", false],
    [{ path_separated_prefix: "/api/dev", case_sensitive: false }, "/API/Dev/x", true],
  ])("%j against %s → %s", (match, path, expected) => {
    expect(hits(match, { path })).toBe(expected);
  });

  it("strips path parameters only with ignore_path_parameters_in_path_matching", () => {
    const routes = [{ match: { path: "/foo" }, route: { cluster: "c" } }];
    const plain = compileRoutes(singleHost(routes));
    const ignoring = compileRoutes({
      ...(singleHost(routes) as object),
      ignore_path_parameters_in_path_matching: true,
    });
    expect(selectRoute(plain, request({ path: "/foo;jsessionid=1" })).noRoute).toBe(true);
    expect(selectRoute(ignoring, request({ path: "/foo;jsessionid=1" })).noRoute).toBeUndefined();
  });

  it("matches CONNECT only with connect_matcher, and path-less requests only there", () => {
    expect(hits({ connect_matcher: {} }, { method: "CONNECT", path: "" })).toBe(true);
    expect(hits({ connect_matcher: {} }, { method: "GET", path: "/" })).toBe(false);
    expect(hits({ prefix: "/" }, { method: "CONNECT", path: "" })).toBe(false);
    expect(
      hits({ connect_matcher: {} }, { method: "GET", headers: { upgrade: "CONNECT-UDP" } }),
    ).toBe(true);
  });
});

describe("header matching", () => {
  const match = (headers: unknown[]) => ({ prefix: "/", headers });
  it.each([
    [{ name: "x", string_match: { exact: "a" } }, { x: "a" }, true],
    [{ name: "x", string_match: { exact: "a" } }, { x: "A" }, false],
    [{ name: "x", string_match: { exact: "a", ignore_case: true } }, { x: "A" }, true],
    [{ name: "x", string_match: { prefix: "ab" } }, { x: "abc" }, true],
    [{ name: "x", string_match: { suffix: "bc" } }, { x: "abc" }, true],
    [{ name: "x", string_match: { contains: "B" } }, { x: "abc" }, false],
    [{ name: "x", string_match: { contains: "B", ignore_case: true } }, { x: "abc" }, true],
    [{ name: "x", string_match: { safe_regex: { regex: "\\d{3}" } } }, { x: "123" }, true],
    [{ name: "x", string_match: { safe_regex: { regex: "\\d{3}" } } }, { x: "1234" }, false],
    [
      { name: "x", string_match: { safe_regex: { regex: "\\d{3}" } }, invert_match: true },
      { x: "1234" },
      true,
    ],
    // Repeated headers are joined with ","
    [{ name: "x", string_match: { exact: "a,b" } }, { x: ["a", "b"] }, true],
    // Deprecated specifiers
    [{ name: "x", exact_match: "a" }, { x: "a" }, true],
    [{ name: "x", exact_match: "" }, { x: "anything" }, true],
    [{ name: "x", prefix_match: "a" }, { x: "abc" }, true],
    [{ name: "x", suffix_match: "c" }, { x: "abc" }, true],
    [{ name: "x", contains_match: "b" }, { x: "abc" }, true],
    [{ name: "x", safe_regex_match: { regex: "a.c" } }, { x: "abc" }, true],
    // Presence
    [{ name: "x" }, { x: "" }, true],
    [{ name: "x" }, {}, false],
    [{ name: "x", present_match: true }, {}, false],
    [{ name: "x", present_match: false }, {}, true],
    [{ name: "x", present_match: false }, { x: "1" }, false],
    [{ name: "x", present_match: true, invert_match: true }, {}, true],
    [{ name: "x", present_match: true, invert_match: true }, { x: "1" }, false],
    // A missing header never matches a value matcher, inverted or not...
    [{ name: "x", string_match: { exact: "a" }, invert_match: true }, {}, false],
    // ...unless treated as empty
    [{ name: "x", string_match: { exact: "" }, treat_missing_header_as_empty: true }, {}, true],
    [
      {
        name: "x",
        range_match: { start: "0", end: "10" },
        invert_match: true,
        treat_missing_header_as_empty: true,
      },
      {},
      true,
    ],
    // Range: [start, end) over a base-10 integer
    [{ name: "x", range_match: { start: "-10", end: "0" } }, { x: "-1" }, true],
    [{ name: "x", range_match: { start: "-10", end: "0" } }, { x: "0" }, false],
    [{ name: "x", range_match: { start: "-10", end: "0" } }, { x: "-1abc" }, false],
    [{ name: "x", range_match: { start: "-10", end: "0" } }, { x: "-1.5" }, false],
    [{ name: "x", range_match: { start: 0, end: 10 }, invert_match: true }, { x: "-1" }, true],
    // Names are case-insensitive (config may be mixed case; request names are lowercase)
    [{ name: "End-User", string_match: { exact: "jason" } }, { "end-user": "jason" }, true],
  ])("%j with %j → %s", (header, headers, expected) => {
    expect(hits(match([header]), { headers })).toBe(expected);
  });

  it("reads pseudo-headers from the request line", () => {
    const m = (name: string, exact: string) => match([{ name, string_match: { exact } }]);
    expect(hits(m(":method", "POST"), { method: "POST" })).toBe(true);
    expect(hits(m(":method", "POST"), { method: "GET" })).toBe(false);
    expect(hits(m(":authority", "example.com"), {})).toBe(true);
    expect(hits(m(":scheme", "https"), { scheme: "https" })).toBe(true);
    expect(hits(m(":path", "/a?b=1"), { path: "/a?b=1" })).toBe(true);
  });

  it("requires every header matcher", () => {
    const both = match([
      { name: "a", string_match: { exact: "1" } },
      { name: "b", present_match: true },
    ]);
    expect(hits(both, { headers: { a: "1", b: "" } })).toBe(true);
    expect(hits(both, { headers: { a: "1" } })).toBe(false);
  });
});

describe("query parameters, gRPC, TLS, metadata, runtime fraction", () => {
  it.each([
    [{ name: "debug", present_match: true }, "/?debug", true],
    [{ name: "debug", present_match: true }, "/?x=1&debug=0", true],
    [{ name: "debug", present_match: true }, "/?debugging=1", false],
    [{ name: "debug" }, "/?debug=1", true],
    [{ name: "v", string_match: { exact: "2" } }, "/?v=2", true],
    [{ name: "v", string_match: { exact: "2" } }, "/?v=2&v=3", true],
    [{ name: "v", string_match: { exact: "3" } }, "/?v=2&v=3", false],
    [{ name: "v", string_match: { exact: "a b" } }, "/?v=a%20b", false],
    [{ name: "v", string_match: { prefix: "a%20" } }, "/?v=a%20b", true],
    [{ name: "v", string_match: { exact: "" } }, "/?v", true],
  ])("query %j against %s → %s", (param, path, expected) => {
    expect(hits({ prefix: "/", query_parameters: [param] }, { path })).toBe(expected);
  });

  it("finds query parameters without decoding", () => {
    expect(queryParameter("/p?a=1&b=&c", "b")).toBe("");
    expect(queryParameter("/p?a=1&b=&c", "c")).toBe("");
    expect(queryParameter("/p?a=1=2", "a")).toBe("1=2");
    expect(queryParameter("/p", "a")).toBeUndefined();
  });

  it("matches gRPC requests by content-type", () => {
    const grpc = { prefix: "/", grpc: {} };
    expect(hits(grpc, { headers: { "content-type": "application/grpc" } })).toBe(true);
    expect(hits(grpc, { headers: { "content-type": "application/grpc+proto" } })).toBe(true);
    expect(hits(grpc, { headers: { "content-type": "application/grpc-web" } })).toBe(false);
    expect(hits(grpc, { headers: {} })).toBe(false);
  });

  it("matches the TLS context when asked", () => {
    const tls = { prefix: "/", tls_context: { presented: true, validated: true } };
    expect(hits(tls, { peerCertificatePresented: true, peerCertificateValidated: true })).toBe(
      true,
    );
    expect(hits(tls, { peerCertificatePresented: true })).toBe(false);
    expect(hits(tls, {})).toBe(false);
  });

  it("matches dynamic metadata (Istio's JWT claim routes)", () => {
    const claim = {
      prefix: "/",
      dynamic_metadata: [
        {
          filter: "envoy.filters.http.jwt_authn",
          path: [{ key: "payload" }, { key: "groups" }],
          value: {
            or_match: {
              value_matchers: [
                { list_match: { one_of: { string_match: { exact: "admin" } } } },
                { string_match: { exact: "admin" } },
              ],
            },
          },
        },
      ],
    };
    const meta = (groups: unknown) => ({
      dynamicMetadata: { "envoy.filters.http.jwt_authn": { payload: { groups } } },
    });
    expect(hits(claim, meta(["dev", "admin"]))).toBe(true);
    expect(hits(claim, meta("admin"))).toBe(true);
    expect(hits(claim, meta(["dev"]))).toBe(false);
    expect(hits(claim, {})).toBe(false);
    const inverted = {
      ...claim,
      dynamic_metadata: [{ ...claim.dynamic_metadata[0], invert: true }],
    };
    expect(hits(inverted, {})).toBe(true);
  });

  it("samples runtime_fraction with the injected random value", () => {
    const half = {
      prefix: "/",
      runtime_fraction: { default_value: { numerator: 50 }, runtime_key: "k" },
    };
    expect(hits(half, {}, fixedRandom(0.49))).toBe(true);
    expect(hits(half, {}, fixedRandom(0.5))).toBe(false);
    const perMillion = {
      prefix: "/",
      runtime_fraction: { default_value: { numerator: 1, denominator: "MILLION" } },
    };
    expect(hits(perMillion, {}, fixedRandom(0.0000009))).toBe(true);
    expect(hits(perMillion, {}, fixedRandom(0.000001))).toBe(false);
  });
});

describe("route order", () => {
  it("takes the first matching route", () => {
    const config = compileRoutes(
      singleHost([
        {
          name: "canary",
          match: { prefix: "/", runtime_fraction: { default_value: { numerator: 10 } } },
          route: { cluster: "canary" },
        },
        {
          name: "jason",
          match: {
            prefix: "/reviews",
            headers: [{ name: "end-user", string_match: { exact: "jason" } }],
          },
          route: { cluster: "v2" },
        },
        { name: "reviews", match: { prefix: "/reviews" }, route: { cluster: "v1" } },
        { name: "shadowed", match: { path: "/reviews/1" }, route: { cluster: "never" } },
        { name: "default", match: { prefix: "/" }, route: { cluster: "default" } },
      ]),
    );
    const name = (req: Partial<RouteRequest>, random = fixedRandom(0.5)) => {
      const s = selectRoute(config, request(req), random);
      return s.noRoute ? undefined : `${s.route.name}:${s.clusterName}`;
    };
    expect(name({ path: "/reviews/1", headers: { "end-user": "jason" } })).toBe("jason:v2");
    expect(name({ path: "/reviews/1" })).toBe("reviews:v1");
    expect(name({ path: "/ratings" })).toBe("default:default");
    expect(name({ path: "/ratings" }, sequenceRandom([0.05]))).toBe("canary:canary");
  });

  it("answers noRoute with the virtual host when nothing matches", () => {
    const config = compileRoutes(
      singleHost([{ match: { path: "/only" }, route: { cluster: "c" } }]),
    );
    const selection = selectRoute(config, request({ path: "/other" }));
    expect(selection.noRoute).toBe(true);
    expect(selection.virtualHost?.name).toBe("vh");
  });
});
