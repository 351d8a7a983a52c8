import { describe, expect, it } from "vitest";
import {
  cidrRange,
  headerMatcher,
  hostMatcher,
  inlineHeaderMatcher,
  listOrValue,
  orValues,
  quoteMeta,
  RuleProblem,
  stringMatcher,
} from "./matchers.ts";

describe("stringMatcher", () => {
  it("reads Istio's wildcards: * any non-empty, *x suffix, x* prefix, else exact", () => {
    expect(stringMatcher("*")).toEqual({ safe_regex: { regex: ".+" } });
    expect(stringMatcher("*.example.com")).toEqual({ suffix: ".example.com" });
    expect(stringMatcher("api.*")).toEqual({ prefix: "api." });
    expect(stringMatcher("GET")).toEqual({ exact: "GET" });
  });

  it("puts a prefix in front, switching a suffix match to a regex", () => {
    expect(stringMatcher("a/ns/b", "spiffe://")).toEqual({ exact: "spiffe://a/ns/b" });
    expect(stringMatcher("a/*", "spiffe://")).toEqual({ prefix: "spiffe://a/" });
    expect(stringMatcher("*/sa/x", "spiffe://")).toEqual({
      safe_regex: { regex: "spiffe://.*/sa/x" },
    });
    expect(stringMatcher("*", "spiffe://")).toEqual({ safe_regex: { regex: ".+" } });
  });
});

describe("header matchers", () => {
  it("uses present_match for * and string_match otherwise", () => {
    expect(headerMatcher(":method", "*")).toEqual({ name: ":method", present_match: true });
    expect(headerMatcher(":method", "GET")).toEqual({
      name: ":method",
      string_match: { exact: "GET" },
    });
  });

  it("matches hosts case-insensitively, ports only as written", () => {
    expect(hostMatcher(":authority", "Foo.com:8080")).toEqual({
      name: ":authority",
      string_match: { exact: "Foo.com:8080", ignore_case: true },
    });
    expect(hostMatcher(":authority", "*.foo.com")).toEqual({
      name: ":authority",
      string_match: { suffix: ".foo.com", ignore_case: true },
    });
  });

  it("lets an inline header value be one element of a comma-joined list", () => {
    const m = inlineHeaderMatcher("x-tags", "a.b");
    const regex = new RegExp((m.safe_regex_match as { regex: string }).regex);
    for (const value of ["a.b", "a.b,c", "c,a.b", "c,a.b,d"]) expect(regex.test(value)).toBe(true);
    for (const value of ["axb", "a.bc", "ca.b"]) expect(regex.test(value)).toBe(false);
  });

  it("quotes every RE2 metacharacter", () => {
    expect(quoteMeta("a.b*c(d)[e]{f}|g^h$i+j?k\\")).toBe(
      "a\\.b\\*c\\(d\\)\\[e\\]\\{f\\}\\|g\\^h\\$i\\+j\\?k\\\\",
    );
  });
});

describe("value matchers", () => {
  it("keeps one matcher as it is and ORs several", () => {
    const a = { string_match: { exact: "a" } };
    const b = { string_match: { exact: "b" } };
    expect(orValues([a])).toBe(a);
    expect(orValues([a, b])).toEqual({ or_match: { value_matchers: [a, b] } });
  });

  it("matches a claim as a list element or as the value itself", () => {
    const v = { string_match: { exact: "x" } };
    expect(listOrValue(v)).toEqual({
      or_match: { value_matchers: [{ list_match: { one_of: v } }, v] },
    });
  });
});

describe("cidrRange", () => {
  it("gives bare addresses a full prefix and masks CIDR blocks", () => {
    expect(cidrRange("10.0.0.7")).toEqual({ address_prefix: "10.0.0.7", prefix_len: 32 });
    expect(cidrRange("10.1.2.3/16")).toEqual({ address_prefix: "10.1.0.0", prefix_len: 16 });
    expect(cidrRange("10.1.2.3/0")).toEqual({ address_prefix: "0.0.0.0", prefix_len: 0 });
  });

  it("writes IPv6 in canonical form", () => {
    expect(cidrRange("2001:DB8::1/32")).toEqual({ address_prefix: "2001:db8::", prefix_len: 32 });
    expect(cidrRange("::1")).toEqual({ address_prefix: "::1", prefix_len: 128 });
    expect(cidrRange("fe80:0:0:1:0:0:0:1")).toEqual({
      address_prefix: "fe80:0:0:1::1",
      prefix_len: 128,
    });
    expect(cidrRange("::ffff:1.2.3.4")).toEqual({
      address_prefix: "::ffff:1.2.3.4",
      prefix_len: 128,
    });
  });

  it("rejects what is not an address or has a bad prefix length", () => {
    for (const bad of ["10.0.0", "10.0.0.256", "1::2::3", "10.0.0.0/33", "::/129", "x", ""]) {
      expect(cidrRange(bad), bad).toBeInstanceOf(RuleProblem);
    }
  });
});
