// Literal globs: parsed without RE2, decided with RE2's exact full-match answer, and never loading
// re2-wasm unless a subject needs it.
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseLiteralGlob } from "../../base/literal-glob.ts";
import { seededRandomSource } from "../upstream/lb/random-source.ts";
import { compileFullMatch, re2Problem } from "./re2.ts";
import { Re2Lease, withTemporaryRe2 } from "./re2-pool.ts";
import { fullMatch } from "./testing.ts";

const lease = new Re2Lease();
afterEach(() => lease.release());

/** A number in [0, 1) from a seeded generator, so the property test is the same on every run. */
function seededRandom(seed: number): () => number {
  const source = seededRandomSource(seed);
  return () => source.nextUint32() / 2 ** 32;
}

describe("parsing literal globs", () => {
  it.each([
    ["", [""], []],
    ["abc", ["abc"], []],
    [".*", ["", ""], [0]],
    [".+", ["", ""], [1]],
    [".*.*", ["", ""], [0]],
    [".*.+.*", ["", ""], [1]],
    [".*Firefox.*", ["", "Firefox", ""], [0, 0]],
    [".*/ns/coffee-shop/.*", ["", "/ns/coffee-shop/", ""], [0, 0]],
    ["/api/.+/items", ["/api/", "/items"], [1]],
    ["^/a$", ["/a"], []],
    ["^", [""], []],
    ["$", [""], []],
    ["a\\.b\\*", ["a.b*"], []],
    ["a\\$", ["a$"], []],
    ["a\\\\$", ["a\\"], []],
    ["\\^.*\\$", ["^", "$"], [0]],
    ["a\nb", ["a\nb"], []],
    ["é.*😀", ["é", "😀"], [0]],
  ])("%j → %j joined by %j", (pattern, segments, gaps) => {
    expect(parseLiteralGlob(pattern)).toEqual({ segments, gaps });
  });

  it("takes every escaped ASCII punctuation character as itself, as RE2 does", () => {
    const punctuation = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter(
      (c) => !/[A-Za-z0-9]/.test(c),
    );
    for (const c of punctuation) {
      expect(parseLiteralGlob(`\\${c}`), c).toEqual({ segments: [c], gaps: [] });
      const re2 = withTemporaryRe2(`^(?:\\${c})$`, "u", (re) => re.test(c));
      expect(re2, c).toEqual({ ok: true, value: true });
    }
  });

  it.each([
    "a.b",
    ".+?",
    ".+.+",
    "a.+.*.+",
    ".*?",
    ".**",
    "a*",
    "\\.*",
    "(a|b)",
    "a|b",
    "[ab]*",
    "(?i)x",
    "\\d+",
    "\\Qa\\E",
    "\\x41",
    "\\1",
    "\\é",
    "a\\",
    "a$b",
    "a^",
    "^^a",
    "a$$",
    "a{2}",
    "a}",
    "a]",
    "\uD800",
  ])("%j is left to RE2", (pattern) => {
    expect(parseLiteralGlob(pattern)).toBeUndefined();
  });
});

describe("literal globs under compileFullMatch", () => {
  it.each([
    [".*Firefox.*", "Mozilla/5.0 Firefox/120", true],
    [".*Firefox.*", "Chrome", false],
    [".*/ns/coffee-shop/.*", "spiffe://cluster.local/ns/coffee-shop/sa/web", true],
    ["/api/.*/items", "/api/v1/items", true],
    ["/api/.*/items", "/api/items", false],
    ["ab.*ba", "aba", false],
    ["ab.*ba", "abba", true],
    ["", "", true],
    ["", "a", false],
    [".*", "a\nb", false],
    ["a\n.*", "a\nb", true],
    [".*", "\uD800", true],
  ])("%j against %j → %s", (pattern, value, expected) => {
    expect(fullMatch(pattern, value, lease)).toBe(expected);
  });

  it("compiles nothing for a glob until a subject needs RE2", () => {
    const compiled = compileFullMatch("a.*b", lease);
    expect(compiled.ok).toBe(true);
    expect(re2Problem("a.*b")).toBeUndefined();
    expect(lease.size).toBe(0);
    if (compiled.ok) {
      expect(compiled.test("axxb")).toBe(true);
      expect(lease.size).toBe(0);
      expect(compiled.test("a\nb")).toBe(false);
      expect(compiled.test("a\n\nb")).toBe(false);
      expect(lease.size).toBe(1);
    }
  });

  it.each([
    ["a.b", "axb", true],
    [".{2}", "ab", true],
    ["(a|b)", "b", true],
    ["[ab]*", "abba", true],
    ["(?i)x", "X", true],
    ["\\d+", "42", true],
  ])("non-glob %j still goes to RE2 (%j → %s)", (pattern, value, expected) => {
    expect(fullMatch(pattern, value, lease)).toBe(expected);
    expect(lease.size).toBe(1);
  });

  it("agrees with re2-wasm on thousands of random globs and subjects", () => {
    const random = seededRandom(0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const tokens = ["a", "b", "ab", "\\.", "/", "\n", "é", "😀", "\\*", "\\\\", "\\$", ".*", ".+"];
    const letters = ["a", "b", ".", "/", "\n", "é", "😀", "\uD800", "*", "\\", "$"];
    const randomText = (max: number) =>
      Array.from({ length: Math.floor(random() * (max + 1)) }, () => pick(letters)).join("");

    let compared = 0;
    let matched = 0;
    const disagreements: string[] = [];
    for (let n = 0; n < 3000; n++) {
      const body = Array.from({ length: Math.floor(random() * 7) }, () => pick(tokens)).join("");
      const pattern = (random() < 0.2 ? "^" : "") + body + (random() < 0.2 ? "$" : "");
      const glob = parseLiteralGlob(pattern);
      if (glob === undefined) {
        // Only `.+.+` (two characters at least) is left to RE2.
        expect(pattern, pattern).toMatch(/\.\+(\.[*+])*\.\+/);
        continue;
      }
      // Most subjects are built from the glob's own segments, so many match and many nearly do
      // (a slice cut out makes the first and last segments overlap, say).
      const instance = () =>
        glob.segments
          .map((segment) => (random() < 0.9 ? segment : randomText(2)))
          .join(randomText(3));
      const cut = (text: string) => {
        const at = Math.floor(random() * text.length);
        return text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 2));
      };
      const subjects = Array.from({ length: 24 }, (_, k) =>
        k % 3 === 0 ? randomText(8) : k % 3 === 1 ? instance() : cut(instance()),
      );
      const expected = withTemporaryRe2(`^(?:${pattern})$`, "u", (re) =>
        subjects.map((s) => re.test(s)),
      );
      if (!expected.ok) throw new Error(expected.reason);
      const compiled = compileFullMatch(pattern, lease);
      if (!compiled.ok) throw new Error(compiled.reason);
      subjects.forEach((subject, k) => {
        const actual = compiled.test(subject);
        compared++;
        if (actual) matched++;
        if (actual !== expected.value[k]) {
          disagreements.push(`${JSON.stringify(pattern)} vs ${JSON.stringify(subject)}`);
        }
      });
      lease.release();
    }
    expect(disagreements.slice(0, 10)).toEqual([]);
    // Nearly every generated pattern is a glob (the rest hold `.+.+`).
    expect(compared).toBeGreaterThan(66_000);
    expect(matched).toBeGreaterThan(compared / 5);
  });
});

describe("re2-wasm stays unloaded for literal globs", () => {
  it("loads it only when a subject needs RE2", async () => {
    vi.resetModules();
    const { compileFullMatch: freshCompile } = await import("./re2.ts");
    const pool = await import("./re2-pool.ts");
    const freshLease = new pool.Re2Lease();
    try {
      const firefox = freshCompile(".*Firefox.*", freshLease);
      const namespace = freshCompile(".*/ns/x/.*", freshLease);
      if (!firefox.ok || !namespace.ok) throw new Error("expected valid globs");
      expect(firefox.test("Mozilla/5.0 Firefox/120")).toBe(true);
      expect(firefox.test("Chrome")).toBe(false);
      expect(namespace.test("spiffe://cluster.local/ns/x/sa/y")).toBe(true);
      expect(pool.re2Loaded()).toBe(false);
      expect(firefox.test("Firefox\n")).toBe(false);
      expect(pool.re2Loaded()).toBe(true);
    } finally {
      freshLease.release();
    }
  });

  it("decodes a route table of literal globs without loading it", async () => {
    vi.resetModules();
    const { decodeRouteConfiguration, releaseRouteConfiguration } = await import(
      "./decode-route-config.ts"
    );
    const pool = await import("./re2-pool.ts");
    const decoded = decodeRouteConfiguration({
      name: "globs",
      virtual_hosts: [
        {
          name: "vh",
          domains: ["*"],
          routes: [
            {
              match: {
                safe_regex: { regex: "/api/.*/items" },
                headers: [
                  { name: "user-agent", string_match: { safe_regex: { regex: ".*Firefox.*" } } },
                  { name: "x-ns", safe_regex_match: { regex: "^.*/ns/coffee-shop/.*$" } },
                ],
              },
              route: { cluster: "c" },
            },
          ],
        },
      ],
    });
    if (!decoded.ok) throw new Error(decoded.errors.join("\n"));
    expect(pool.re2Loaded()).toBe(false);
    releaseRouteConfiguration(decoded.value);
  });
});
