import { describe, expect, it } from "vitest";
import { RuleProblem } from "./matchers.ts";
import {
  claimPath,
  REQUEST_CLAIM,
  REQUEST_HEADER,
  REQUEST_PRINCIPAL,
  SOURCE_NAMESPACE,
  serviceAccountRegex,
} from "./principal.ts";

const claim = (key: string, value: unknown) => ({
  metadata: {
    filter: "envoy.filters.http.jwt_authn",
    path: [{ key: "payload" }, { key }],
    value: { string_match: value },
  },
});

function requestPrincipal(values: string[], tcp = false) {
  if (REQUEST_PRINCIPAL.kind !== "all") throw new Error("expected a list generator");
  return REQUEST_PRINCIPAL.build("request.auth.principal", values, tcp);
}

describe("request principals", () => {
  it("split <iss>/<sub> at the last slash into the iss and sub claims", () => {
    expect(requestPrincipal(["https://idp.example.com/realms/x/alice"])).toEqual({
      and_ids: {
        ids: [
          claim("iss", { exact: "https://idp.example.com/realms/x" }),
          claim("sub", { exact: "alice" }),
        ],
      },
    });
  });

  it("read wildcards at either end", () => {
    const any = { safe_regex: { regex: ".+" } };
    const pairs = (v: string) => {
      const ids = (requestPrincipal([v]) as { and_ids: { ids: unknown[] } }).and_ids.ids;
      return ids.map((id) => (id as ReturnType<typeof claim>).metadata.value.string_match);
    };
    expect(pairs("*")).toEqual([any, any]);
    expect(pairs("iss/*")).toEqual([{ exact: "iss" }, any]);
    expect(pairs("*/sub")).toEqual([any, { exact: "sub" }]);
    expect(pairs("*.example.com/sub")).toEqual([{ suffix: ".example.com" }, { exact: "sub" }]);
    expect(pairs("iss/pre*")).toEqual([{ exact: "iss" }, { prefix: "pre" }]);
    expect(pairs("*-suffix")).toEqual([any, { suffix: "-suffix" }]);
    expect(pairs("prefix-*")).toEqual([{ prefix: "prefix-" }, any]);
  });

  it("OR several values and refuse TCP", () => {
    expect(Object.keys(requestPrincipal(["a/b", "c/d"]))).toEqual(["or_ids"]);
    expect(requestPrincipal(["*"], true)).toBeInstanceOf(RuleProblem);
  });
});

describe("claims", () => {
  it("read [a] and nested [a][b] names", () => {
    expect(claimPath("[groups]")).toEqual(["groups"]);
    expect(claimPath("[realm][roles]")).toEqual(["realm", "roles"]);
    expect(claimPath("[a.b]")).toEqual(["a.b"]);
    expect(claimPath("groups")).toBeInstanceOf(RuleProblem);
  });

  it("match a string claim or an element of a list claim", () => {
    if (REQUEST_CLAIM.kind !== "all") throw new Error("expected a list generator");
    expect(REQUEST_CLAIM.build("request.auth.claims[scope]", ["read"], false)).toEqual({
      metadata: {
        filter: "envoy.filters.http.jwt_authn",
        path: [{ key: "payload" }, { key: "scope" }],
        value: {
          or_match: {
            value_matchers: [
              { list_match: { one_of: { string_match: { exact: "read" } } } },
              { string_match: { exact: "read" } },
            ],
          },
        },
      },
    });
  });
});

describe("source identities", () => {
  it("turn namespaces into SPIFFE path regexes", () => {
    if (SOURCE_NAMESPACE.kind !== "each") throw new Error("expected a per-value generator");
    expect(SOURCE_NAMESPACE.build("source.namespace", "team-*", false)).toEqual({
      authenticated: { principal_name: { safe_regex: { regex: ".*/ns/team-.*/.*" } } },
    });
  });

  it("match service accounts in the policy's namespace or the one named", () => {
    const sa = new RegExp(`^${serviceAccountRegex("foo", "sleep")}$`);
    expect(sa.test("spiffe://cluster.local/ns/foo/sa/sleep")).toBe(true);
    expect(sa.test("spiffe://td/ns/foo/x/y/sa/sleep/extra")).toBe(true);
    expect(sa.test("spiffe://cluster.local/ns/foo/sa/sleep-2")).toBe(false);
    expect(sa.test("spiffe://cluster.local/ns/bar/sa/sleep")).toBe(false);
    expect(serviceAccountRegex("foo", "bar/curl")).toBe("spiffe://.+/ns/bar/(.+/|)sa/curl(/.+)?");
  });

  it("need a bracketed header name", () => {
    if (REQUEST_HEADER.kind !== "each") throw new Error("expected a per-value generator");
    expect(REQUEST_HEADER.build("request.headers[x-a]", "1", false)).toEqual({
      header: { name: "x-a", string_match: { exact: "1" } },
    });
    expect(REQUEST_HEADER.build("request.headers.x-a", "1", false)).toBeInstanceOf(RuleProblem);
    expect(REQUEST_HEADER.build("request.headers[x-a]", "1", true)).toBeInstanceOf(RuleProblem);
  });
});
