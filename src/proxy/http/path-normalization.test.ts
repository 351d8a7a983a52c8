// Path normalisation: Envoy's path_utility_test tables for canonicalPath, mergeSlashes, unescapeSlashes, and the HCM's combined outcome.
import { describe, expect, it } from "vitest";
import {
  canonicalPath,
  mergeSlashes,
  normalizeRequestPath,
  type PathNormalizationOptions,
  unescapeSlashes,
} from "./path-normalization.ts";

// Cases from Envoy's test/common/http/path_utility_test.cc.
describe("canonicalPath (normalize_path)", () => {
  it.each([
    ["/xyz", "/xyz"],
    ["/x/y/z", "/x/y/z"],
    ["/a/b/../c", "/a/c"],
    ["/a/b/./c", "/a/b/c"],
    ["a/b/../c", "/a/c"],
    ["/a/b/../../../../c", "/c"],
    ["/a/..\\c", "/c"],
    ["/%c0%af", "/%c0%af"],
    ["/%5c%25", "/%5c%25"],
    ["/a/b/%2E%2E/c", "/a/c"],
    ["/a/b/%2e%2e/c", "/a/c"],
    ["/a/b/%2E./c", "/a/c"],
    ["/a/b/%2E/c", "/a/b/c"],
    ["..", "/"],
    ["/../a/b", "/a/b"],
    ["/./a/b", "/a/b"],
    ["/A/B/C", "/A/B/C"],
    ["/a/%2F%2f/c", "/a/%2F%2f/c"],
    ["/xyz/..;foo=bar/abc", "/abc"],
    ["/..;foo=bar/abc", "/abc"],
    ["/xyz/..;foo=bar", "/"],
    ["/xyz/.;foo=bar/abc", "/xyz/abc"],
    ["/.;foo=bar/abc", "/abc"],
    ["/xyz/.;foo=bar", "/xyz/"],
    ["/xyz/..;foo=bar/.;v1=2,v2=3/abc", "/abc"],
    ["/..;foo=bar/abc/.;mmm", "/abc/"],
    ["/xyz/..;foo=bar/.;fff=zzz?blah=woops", "/?blah=woops"],
    ["/xyz/..;foo=bar/.;fff=zzz/remain;blah-bluh?query", "/remain;blah-bluh?query"],
    ["/xyz/...;foo", "/xyz/...;foo"],
    // Unreserved characters are decoded; others escaped when raw.
    ["/%41%7e%2D", "/A~-"],
    ["/a b", "/a%20b"],
    ["/é", "/%C3%A9"],
    ["/50%", "/50%"],
    ["/a?x=/../y", "/a?x=/../y"],
  ])("%s → %s", (input, expected) => {
    expect(canonicalPath(input)).toBe(expected);
  });

  it.each(["/xyz/.%00../abc", "/xyz/%00.%00./abc", "/xyz/AAAAA%%0000/abc", "/a\0b"])(
    "rejects %j",
    (input) => {
      expect(canonicalPath(input)).toBeUndefined();
    },
  );
});

describe("mergeSlashes", () => {
  it.each([
    ["", ""],
    ["a//b/c", "a/b/c"],
    ["/a//b/c/", "/a/b/c/"],
    ["/a", "/a"],
    ["//a/b/c", "/a/b/c"],
    ["/a/b/c//", "/a/b/c/"],
    ["/a////b/c", "/a/b/c"],
    ["/a//b?a=///c", "/a/b?a=///c"],
    ["/a//b?", "/a/b?"],
    ["//a/?b", "/a/?b"],
  ])("%j → %j", (input, expected) => {
    expect(mergeSlashes(input)).toBe(expected);
  });
});

describe("unescapeSlashes", () => {
  it.each([
    ["%2f%2F", "//"],
    ["/a%2Fb%2fc/", "/a/b/c/"],
    ["%2b", "%2b"],
    ["/abc%2", "/abc%2"],
    ["%%2fa/", "%/a/"],
    ["%5c%5C", "\\\\"],
    ["%2fa%5Cb%2fc%5c?%2fabcd%5C%%2f%", "/a\\b/c\\?%2fabcd%5C%%2f%"],
  ])("%j → %j", (input, expected) => {
    expect(unescapeSlashes(input)).toBe(expected);
  });
});

describe("normalizeRequestPath", () => {
  const opts = (o: Partial<PathNormalizationOptions>): PathNormalizationOptions => ({
    normalizePath: false,
    mergeSlashes: false,
    pathWithEscapedSlashesAction: "IMPLEMENTATION_SPECIFIC_DEFAULT",
    ...o,
  });

  it("leaves the path alone by default (escaped slashes kept)", () => {
    expect(normalizeRequestPath("/a/../b%2F//c?q=1", opts({}))).toEqual({
      action: "continue",
      path: "/a/../b%2F//c?q=1",
    });
  });

  it("normalises then merges slashes", () => {
    expect(
      normalizeRequestPath(
        "//a/./b/../c//d?x=//y",
        opts({ normalizePath: true, mergeSlashes: true }),
      ),
    ).toEqual({ action: "continue", path: "/a/c/d?x=//y" });
  });

  it("rejects escaped slashes under REJECT_REQUEST", () => {
    const o = opts({ pathWithEscapedSlashesAction: "REJECT_REQUEST" });
    expect(normalizeRequestPath("/a%2fb", o)).toEqual({ action: "reject" });
    expect(normalizeRequestPath("/a/b?x=%2f", o)).toEqual({
      action: "continue",
      path: "/a/b?x=%2f",
    });
  });

  it("redirects to the fully normalised path under UNESCAPE_AND_REDIRECT", () => {
    const o = opts({ pathWithEscapedSlashesAction: "UNESCAPE_AND_REDIRECT", normalizePath: true });
    expect(normalizeRequestPath("/a%2F..%2Fb?q", o)).toEqual({ action: "redirect", path: "/b?q" });
    expect(normalizeRequestPath("/a/b", o)).toEqual({ action: "continue", path: "/a/b" });
  });

  it("forwards unescaped under UNESCAPE_AND_FORWARD (backslash becomes / when normalising)", () => {
    const o = opts({ pathWithEscapedSlashesAction: "UNESCAPE_AND_FORWARD", normalizePath: true });
    expect(normalizeRequestPath("/a%5Cb%2Fc", o)).toEqual({ action: "continue", path: "/a/b/c" });
  });

  it("rejects fragments and NULs without throwing", () => {
    expect(normalizeRequestPath("/a#frag", opts({}))).toEqual({ action: "reject" });
    expect(normalizeRequestPath("/a#frag", opts({ rejectFragment: false }))).toEqual({
      action: "continue",
      path: "/a",
    });
    expect(normalizeRequestPath("/%00", opts({ normalizePath: true }))).toEqual({
      action: "reject",
    });
    expect(normalizeRequestPath("", opts({ normalizePath: true }))).toEqual({
      action: "continue",
      path: "",
    });
  });
});
