import { describe, expect, it } from "vitest";
import { isCatchAllRoute, jwtClaimPath, matchApplies, translateRouteMatch } from "./route-match.ts";
import type { Obj } from "./route-values.ts";

describe("translateRouteMatch", () => {
  const cases: Array<{ name: string; match: Obj | undefined; expected: Obj }> = [
    {
      name: "no match entry: prefix / (no case_sensitive)",
      match: undefined,
      expected: { prefix: "/" },
    },
    {
      name: "uri exact → path",
      match: { uri: { exact: "/productpage" } },
      expected: { path: "/productpage", case_sensitive: true },
    },
    {
      name: "uri prefix is a plain string prefix",
      match: { uri: { prefix: "/api" } },
      expected: { prefix: "/api", case_sensitive: true },
    },
    {
      name: "uri regex → safe_regex (RE2, full match)",
      match: { uri: { regex: "/v[0-9]+/.*" } },
      expected: { safe_regex: { regex: "/v[0-9]+/.*" }, case_sensitive: true },
    },
    {
      name: "ignoreUriCase → case_sensitive false",
      match: { uri: { prefix: "/API" }, ignoreUriCase: true },
      expected: { prefix: "/API", case_sensitive: false },
    },
    {
      name: "headers exact, prefix, regex and presence, sorted by name",
      match: {
        headers: {
          "x-z": { regex: "a.*" },
          "end-user": { exact: "jason" },
          "x-present": {},
          "x-star": { regex: "*" },
          "x-a": { prefix: "pre" },
        },
      },
      expected: {
        prefix: "/",
        case_sensitive: true,
        headers: [
          { name: "end-user", string_match: { exact: "jason" } },
          { name: "x-a", string_match: { prefix: "pre" } },
          { name: "x-present", present_match: true },
          { name: "x-star", present_match: true },
          { name: "x-z", string_match: { safe_regex: { regex: "a.*" } } },
        ],
      },
    },
    {
      name: "withoutHeaders inverts (and treats a missing header as empty unless presence)",
      match: { withoutHeaders: { "x-canary": { exact: "yes" }, "x-debug": {} } },
      expected: {
        prefix: "/",
        case_sensitive: true,
        headers: [
          {
            name: "x-canary",
            string_match: { exact: "yes" },
            invert_match: true,
            treat_missing_header_as_empty: true,
          },
          { name: "x-debug", present_match: true, invert_match: true },
        ],
      },
    },
    {
      name: "method, authority and scheme become pseudo-header matches after the others",
      match: {
        headers: { b: { exact: "1" } },
        method: { exact: "POST" },
        authority: { prefix: "shop." },
        scheme: { exact: "https" },
      },
      expected: {
        prefix: "/",
        case_sensitive: true,
        headers: [
          { name: "b", string_match: { exact: "1" } },
          { name: ":method", string_match: { exact: "POST" } },
          { name: ":authority", string_match: { prefix: "shop." } },
          { name: ":scheme", string_match: { exact: "https" } },
        ],
      },
    },
    {
      name: "queryParams exact, prefix, regex, presence, sorted",
      match: {
        queryParams: { v: { regex: "\\d+" }, a: { exact: "1" }, p: { prefix: "x" }, q: {} },
      },
      expected: {
        prefix: "/",
        case_sensitive: true,
        query_parameters: [
          { name: "a", string_match: { exact: "1" } },
          { name: "p", string_match: { prefix: "x" } },
          { name: "q", present_match: true },
          { name: "v", string_match: { safe_regex: { regex: "\\d+" } } },
        ],
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(translateRouteMatch(c.match)).toEqual(c.expected);
    });
  }

  it("matches JWT claims (@request.auth.claims) on jwt_authn metadata, lists or strings", () => {
    const match = translateRouteMatch({
      headers: { "@request.auth.claims.groups": { exact: "admin" } },
      withoutHeaders: { "@request.auth.claims[org][team]": { prefix: "ops" } },
    });
    const value = (m: Obj) => ({
      or_match: { value_matchers: [{ list_match: { one_of: m } }, m] },
    });
    expect(match).toEqual({
      prefix: "/",
      case_sensitive: true,
      dynamic_metadata: [
        {
          filter: "envoy.filters.http.jwt_authn",
          path: [{ key: "payload" }, { key: "groups" }],
          value: value({ string_match: { exact: "admin" } }),
        },
        {
          filter: "envoy.filters.http.jwt_authn",
          path: [{ key: "payload" }, { key: "org" }, { key: "team" }],
          value: value({ string_match: { prefix: "ops" } }),
          invert: true,
        },
      ],
    });
    expect(jwtClaimPath("@request.auth.claims")).toBeUndefined();
    expect(jwtClaimPath("x-user")).toBeUndefined();
  });
});

describe("matchApplies (Istio filters at translation time)", () => {
  const proxy = { labels: { app: "web", version: "v1" }, namespace: "shop" };
  const mesh = new Set(["mesh"]);
  const cases: Array<[string, Obj | undefined, number, ReadonlySet<string>, boolean]> = [
    ["no match entry", undefined, 80, mesh, true],
    ["port equal to the listener's", { port: 9080 }, 9080, mesh, true],
    ["port of another listener", { port: 9080 }, 80, mesh, false],
    ["sourceLabels selecting the proxy", { sourceLabels: { app: "web" } }, 80, mesh, true],
    ["sourceLabels not selecting it", { sourceLabels: { app: "api" } }, 80, mesh, false],
    ["sourceNamespace of the proxy", { sourceNamespace: "shop" }, 80, mesh, true],
    ["another sourceNamespace", { sourceNamespace: "other" }, 80, mesh, false],
    ["gateways naming mesh", { gateways: ["mesh"] }, 80, mesh, true],
    ["gateways naming only a gateway", { gateways: ["istio-system/gw"] }, 80, mesh, false],
    [
      "gateway proxy named",
      { gateways: ["istio-system/gw"] },
      80,
      new Set(["istio-system/gw"]),
      true,
    ],
    // Istio checks sourceLabels only when the entry names no gateways.
    [
      "gateways win over sourceLabels",
      { gateways: ["mesh"], sourceLabels: { app: "api" } },
      80,
      mesh,
      true,
    ],
  ];
  for (const [name, match, port, gateways, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      expect(matchApplies(match, port, proxy, gateways)).toBe(expected);
    });
  }
});

describe("isCatchAllRoute", () => {
  it.each([
    [{ prefix: "/" }, true],
    [{ prefix: "/", case_sensitive: true }, true],
    [{ safe_regex: { regex: ".*" } }, true],
    [{ prefix: "/api" }, false],
    [{ prefix: "/", headers: [{ name: "a", present_match: true }] }, false],
    [{ prefix: "/", query_parameters: [{ name: "a", present_match: true }] }, false],
  ])("%j → %s", (match, expected) => {
    expect(isCatchAllRoute({ match })).toBe(expected);
  });
});
