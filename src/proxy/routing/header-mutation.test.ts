// Header mutations: append actions, Envoy's evaluation order across levels, formatter variables,
// direct responses.
import { describe, expect, it } from "vitest";
import { decodeRouteConfiguration } from "./decode-route-config.ts";
import { applyHeaderMutation, parseHeaderFormat } from "./header-mutation.ts";
import type { RouteMatchResult } from "./select-route.ts";
import {
  applyRequestHeaderMutations,
  applyResponseHeaderMutations,
  directResponseHeaders,
  selectRoute,
} from "./select-route.ts";
import { compileRoutes, fixedRandom, request, singleHost } from "./testing.ts";
import type { HeaderMutation, MutableHeaders } from "./types.ts";

/** The route-level request mutation of a one-route config with these header options. */
function mutation(add: unknown[], remove: string[] = []): HeaderMutation {
  const config = compileRoutes(
    singleHost([
      {
        match: { prefix: "/" },
        route: { cluster: "c" },
        request_headers_to_add: add,
        request_headers_to_remove: remove,
      },
    ]),
  );
  return config.virtualHosts[0]!.routes[0]!.requestHeaders;
}

const option = (key: string, value: string, extra: Record<string, unknown> = {}) => ({
  header: { key, value },
  ...extra,
});

describe("append actions", () => {
  it.each([
    ["APPEND_IF_EXISTS_OR_ADD", { x: "old" }, ["old", "new"]],
    ["APPEND_IF_EXISTS_OR_ADD", {}, "new"],
    ["ADD_IF_ABSENT", { x: "old" }, "old"],
    ["ADD_IF_ABSENT", {}, "new"],
    ["OVERWRITE_IF_EXISTS_OR_ADD", { x: ["a", "b"] }, "new"],
    ["OVERWRITE_IF_EXISTS_OR_ADD", {}, "new"],
    ["OVERWRITE_IF_EXISTS", { x: "old" }, "new"],
    ["OVERWRITE_IF_EXISTS", {}, undefined],
  ] as const)("%s on %j → %j", (action, before, after) => {
    const headers: MutableHeaders = { ...(before as MutableHeaders) };
    applyHeaderMutation(headers, mutation([option("X", "new", { append_action: action })]));
    expect(headers.x).toEqual(after);
  });

  it("maps the deprecated append flag and rejects it beside a non-default append_action", () => {
    const headers: MutableHeaders = { a: "old", b: "old" };
    applyHeaderMutation(
      headers,
      mutation([option("a", "new", { append: true }), option("b", "new", { append: false })]),
    );
    expect(headers).toEqual({ a: ["old", "new"], b: "new" });
    const result = decodeRouteConfiguration(
      singleHost([
        {
          match: { prefix: "/" },
          route: { cluster: "c" },
          request_headers_to_add: [
            option("a", "1", { append: true, append_action: "ADD_IF_ABSENT" }),
          ],
        },
      ]),
    );
    expect(result.ok ? [] : result.errors).toEqual([
      "virtual_hosts[0].routes[0].request_headers_to_add[0]: both append and append_action are set",
    ]);
  });

  it("drops empty values unless keep_empty_value", () => {
    const headers: MutableHeaders = {};
    applyHeaderMutation(
      headers,
      mutation([option("a", ""), option("b", "", { keep_empty_value: true })]),
    );
    expect(headers).toEqual({ b: "" });
  });

  it("removes first, decides against the headers as they stand, overwrites before appending", () => {
    const headers: MutableHeaders = { gone: "1", x: "old" };
    applyHeaderMutation(
      headers,
      mutation(
        [
          option("gone", "back"),
          option("y", "1", { append_action: "ADD_IF_ABSENT" }),
          option("y", "2", { append_action: "ADD_IF_ABSENT" }),
          option("x", "appended"),
          option("x", "set", { append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }),
        ],
        ["gone"],
      ),
    );
    expect(headers).toEqual({ gone: "back", y: ["1", "2"], x: ["set", "appended"] });
  });
});

describe("mutation order across levels", () => {
  const levels = (mostSpecificWins: boolean, action = "OVERWRITE_IF_EXISTS_OR_ADD") => {
    const opt = (value: string) => [option("x", value, { append_action: action })];
    return compileRoutes({
      most_specific_header_mutations_wins: mostSpecificWins,
      request_headers_to_add: opt("config"),
      response_headers_to_add: opt("config"),
      virtual_hosts: [
        {
          name: "vh",
          domains: ["*"],
          request_headers_to_add: opt("vhost"),
          response_headers_to_add: opt("vhost"),
          routes: [
            {
              match: { prefix: "/" },
              request_headers_to_add: opt("route"),
              response_headers_to_add: opt("route"),
              route: {
                weighted_clusters: {
                  clusters: [
                    {
                      name: "a",
                      weight: 1,
                      request_headers_to_add: opt("cluster"),
                      response_headers_to_add: opt("cluster"),
                    },
                  ],
                },
              },
            },
          ],
        },
      ],
    });
  };
  const selected = (config: ReturnType<typeof levels>) =>
    selectRoute(config, request(), fixedRandom(0)) as RouteMatchResult;

  it("lets the route configuration win by default (route, then virtual host, then route configuration)", () => {
    const s = selected(levels(false));
    expect(applyRequestHeaderMutations(s, {}).x).toBe("config");
    expect(applyResponseHeaderMutations(s, {}).x).toBe("config");
    expect(
      applyRequestHeaderMutations(selected(levels(false, "APPEND_IF_EXISTS_OR_ADD")), {}).x,
    ).toEqual(["cluster", "route", "vhost", "config"]);
  });

  it("lets the route win with most_specific_header_mutations_wins (the weighted cluster still goes first)", () => {
    const s = selected(levels(true));
    expect(applyRequestHeaderMutations(s, {}).x).toBe("route");
    expect(
      applyRequestHeaderMutations(selected(levels(true, "APPEND_IF_EXISTS_OR_ADD")), {}).x,
    ).toEqual(["cluster", "config", "vhost", "route"]);
  });
});

describe("formatter variables", () => {
  const ctx = {
    downstreamRemoteAddress: "10.0.0.7:51234",
    downstreamLocalAddress: "[::1]:15006",
    upstreamCluster: "outbound|9080||reviews.default.svc.cluster.local",
    requestHeaders: { "x-id": "abc" },
  };
  it.each([
    ["%DOWNSTREAM_REMOTE_ADDRESS%", "10.0.0.7:51234"],
    ["ip=%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%;", "ip=10.0.0.7;"],
    ["%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%", "::1"],
    ["%UPSTREAM_CLUSTER%", "outbound|9080||reviews.default.svc.cluster.local"],
    ["%REQ(X-ID)%", "abc"],
    ["%REQ(missing?x-id)%", "abc"],
    ["100%%", "100%"],
    ["%START_TIME%", "%START_TIME%"],
    ["%START_TIME(%s)%", "%START_TIME(%s)%"],
  ])("%s → %s", (value, expected) => {
    const headers: MutableHeaders = {};
    applyHeaderMutation(headers, mutation([option("x", value)]), ctx);
    expect(headers.x).toBe(expected);
  });

  it("renders missing facts as empty (so the header is dropped unless keep_empty_value)", () => {
    const headers: MutableHeaders = {};
    applyHeaderMutation(headers, mutation([option("x", "%UPSTREAM_CLUSTER%")]), {});
    expect(headers).toEqual({});
  });

  it.each(["100%", "%FOO", "%lower%", "a % b"])("rejects the malformed value %j", (value) => {
    expect(typeof parseHeaderFormat(value)).toBe("string");
  });
});

describe("direct responses and redirects", () => {
  it("get the response header mutations of route, virtual host and route configuration", () => {
    const config = compileRoutes({
      name: "test",
      response_headers_to_add: [option("x-config", "rc")],
      virtual_hosts: [
        {
          name: "vh",
          domains: ["*"],
          response_headers_to_add: [option("x-vhost", "vh")],
          response_headers_to_remove: ["x-gone"],
          routes: [
            {
              match: { prefix: "/old" },
              redirect: { path_redirect: "/new" },
              response_headers_to_add: [option("x-route", "redirect")],
            },
            {
              match: { prefix: "/" },
              direct_response: { status: 418 },
              response_headers_to_add: [option("x-route", "%DOWNSTREAM_REMOTE_ADDRESS%")],
            },
          ],
        },
      ],
    });
    const redirect = selectRoute(config, request({ path: "/old" }), fixedRandom(0));
    if (redirect.noRoute) throw new Error("no route");
    expect(
      directResponseHeaders(redirect, { location: "http://example.com/new", "x-gone": "1" }),
    ).toEqual({
      location: "http://example.com/new",
      "x-route": "redirect",
      "x-vhost": "vh",
      "x-config": "rc",
    });
    const direct = selectRoute(config, request({ path: "/teapot" }), fixedRandom(0));
    if (direct.noRoute) throw new Error("no route");
    expect(directResponseHeaders(direct, {}, { downstreamRemoteAddress: "10.0.0.1:5000" })).toEqual(
      {
        "x-route": "10.0.0.1:5000",
        "x-vhost": "vh",
        "x-config": "rc",
      },
    );
  });
});
