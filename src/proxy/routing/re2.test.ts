// RE2 helpers: safe_regex full-match semantics, the literal pre-check, GlobalReplace with \N.
import { afterEach, describe, expect, it } from "vitest";
import { decodeRouteConfiguration, releaseRouteConfiguration } from "./decode-route-config.ts";
import { compileSubstitution, literalPrefix, re2Problem } from "./re2.ts";
import { liveRegexCount, Re2Lease } from "./re2-pool.ts";
import { fullMatch, singleHost } from "./testing.ts";

const lease = new Re2Lease();
afterEach(() => lease.release());

function substitute(pattern: string, substitution: string, input: string): string {
  const compiled = compileSubstitution(pattern, substitution, lease);
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.replace(input);
}

describe("RE2 full match (Envoy's safe_regex)", () => {
  it.each([
    ["abc", "abc", true],
    ["abc", "abcd", false],
    ["abc", "xabc", false],
    ["a|b", "a", true],
    ["a|b", "ab", false],
    ["a.*", "a\nb", false],
    ["(?s)a.*", "a\nb", true],
    ["abc$", "abc", true],
    ["^abc", "abc", true],
    ["/api/v1?", "/api/v", true],
    ["/api/v1?", "/api/v1", true],
    ["é+", "ééé", true],
    ["\\d{3}", "123", true],
    ["[[:alpha:]]+", "abc", true],
  ])("%s against %j → %s", (pattern, value, expected) => {
    expect(fullMatch(pattern, value, lease)).toBe(expected);
  });

  it("finds the literal text a match must start with, conservatively", () => {
    expect(literalPrefix("/api/v[0-9]+")).toBe("/api/v");
    expect(literalPrefix("^/exact$")).toBe("/exact");
    expect(literalPrefix("/api/vs?")).toBe("/api/v");
    expect(literalPrefix("/a|/b")).toBe("");
    expect(literalPrefix("(?i)/api")).toBe("");
    expect(literalPrefix("/a\\.b")).toBe("/a");
  });

  it("explains invalid patterns, including Perl-only syntax", () => {
    expect(re2Problem("a(?=b)")).toBe('invalid RE2 regex "a(?=b)": invalid perl operator: (?=');
    expect(re2Problem("(a)\\1")).toMatch(/invalid escape sequence/);
    expect(re2Problem("ok")).toBeUndefined();
  });
});

describe("RE2 GlobalReplace with \\N substitutions", () => {
  it.each([
    ["b", "X", "abcb", "aXcX"],
    ["(b)(c)", "\\2\\1", "abcbc", "acbcb"],
    ["b*", "-", "abc", "-a-c-"],
    ["", "-", "ab", "-a-b-"],
    ["x", "y", "abc", "abc"],
    ["(a)", "\\\\\\1", "a", "\\a"],
    ["(?i)A", "b", "aA", "bb"],
    ["é", "e", "café au lait é", "cafe au lait e"],
    ["😀", ":)", "a😀b😀", "a:)b:)"],
    ["^/", "/prefix/", "/a/b", "/prefix/a/b"],
  ])("%s → %s on %j gives %j", (pattern, substitution, input, expected) => {
    expect(substitute(pattern, substitution, input)).toBe(expected);
  });

  it("rejects substitutions RE2 would refuse", () => {
    expect(compileSubstitution("(a)", "\\2", lease)).toMatchObject({
      ok: false,
      field: "substitution",
    });
    expect(compileSubstitution("a", "\\x", lease)).toMatchObject({
      ok: false,
      field: "substitution",
    });
    expect(compileSubstitution("(a", "x", lease)).toMatchObject({ ok: false, field: "pattern" });
  });
});

describe("regex memory (re2-wasm never frees on its own)", () => {
  const config = (regex: string) =>
    singleHost([
      { match: { safe_regex: { regex } }, route: { cluster: "c" } },
      {
        match: { safe_regex: { regex } },
        route: { cluster: "d", regex_rewrite: { pattern: { regex: "(x)" }, substitution: "\\1" } },
      },
    ]);

  it("shares one compiled regex per pattern and frees it when the last table is released", () => {
    const before = liveRegexCount();
    const first = decodeRouteConfiguration(config("/a/[0-9]+"));
    const second = decodeRouteConfiguration(config("/a/[0-9]+"));
    if (!first.ok || !second.ok) throw new Error("expected valid configs");
    expect(liveRegexCount() - before).toBe(2);
    releaseRouteConfiguration(first.value);
    expect(liveRegexCount() - before).toBe(2);
    releaseRouteConfiguration(second.value);
    releaseRouteConfiguration(second.value);
    expect(liveRegexCount()).toBe(before);
  });

  it("frees what a rejected configuration compiled", () => {
    const before = liveRegexCount();
    const broken = decodeRouteConfiguration({ ...(config("/b/[0-9]+") as object), vhds: {} });
    expect(broken.ok).toBe(false);
    expect(liveRegexCount()).toBe(before);
  });

  it("survives many RDS updates with distinct regexes when old tables are released", () => {
    for (let i = 0; i < 3000; i++) {
      const result = decodeRouteConfiguration(config(`/v${i}/[0-9]+`));
      if (!result.ok) throw new Error(result.errors.join("\n"));
      releaseRouteConfiguration(result.value);
    }
    expect(re2Problem("still[0-9]usable")).toBeUndefined();
  });
});
