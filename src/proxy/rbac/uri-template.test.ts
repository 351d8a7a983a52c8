// Envoy path templates: what matches, and what Envoy's parser rejects (with the reason).
import { describe, expect, it } from "vitest";
import { compileUriTemplate } from "./uri-template.ts";

function matches(template: string, path: string): boolean {
  const compiled = compileUriTemplate(template);
  if (!compiled.ok) throw new Error(compiled.reason);
  return compiled.regex.test(path);
}

describe("compileUriTemplate", () => {
  it.each([
    ["/", "/", true],
    ["/api/v1", "/api/v1", true],
    ["/api/v1", "/api/v1/", false],
    ["/api/v1/", "/api/v1/", true],
    ["/api/*", "/api/users", true],
    ["/api/*", "/api/", false],
    ["/api/*", "/api/a/b", false],
    ["/api/**", "/api/", true],
    ["/api/**", "/api/a/b/c", true],
    ["/api/**", "/api", false],
    ["/*/items/*", "/v1/items/42", true],
    ["/users/{id}", "/users/42", true],
    ["/users/{id}/posts", "/users/42/posts", true],
    ["/users/{id=*}", "/users/42", true],
    ["/users/{path=**}", "/users/a/b", true],
    ["/{name=videos/*}/play", "/videos/cat/play", true],
    ["/{name=videos/*}/play", "/music/cat/play", false],
    ["/*.m3u8", "/index.m3u8", true],
    ["/*.m3u8", "/indexxm3u8", false],
    ["/videos/{file=**}.m3u8", "/videos/a/b.m3u8", true],
    ["/a+b/$x", "/a+b/$x", true],
    ["/a+b", "/aab", false],
    ["/%20/~x", "/%20/~x", true],
  ])("%s on %s → %s", (template, path, expected) => {
    expect(matches(template, path)).toBe(expected);
  });

  it.each([
    ["api", 'must start with "/"'],
    ["/a b", "printable"],
    ["//a", 'invalid literal ""'],
    ["/a*b", 'invalid literal "a*b"'],
    ["/{**}", "{**} is Istio's syntax; an Envoy template writes **"],
    ["/{1x}", 'invalid variable name "1x"'],
    ["/{x", "unmatched variable bracket"],
    ["/{x=}", "empty match for variable x"],
    ["/{x=*/}", "invalid match for variable x"],
    ["/{x}/{x}", "repeated variable name x"],
    ["/{a}/{b}/{c}/{d}/{e}/{f}", "more than 5 variables"],
    ["/{abcdefghijklmnopq}", "longer than 16"],
    ["/**/*", 'a glob may not follow "**"'],
    ["/**/{x}", 'variable x (one segment) may not follow "**"'],
    ["/{x=**}/{y=**}", 'a glob may not follow "**"'],
    ["/*.m3u8/x", "only a literal suffix may follow"],
    ["/{a}{b}", 'invalid literal "{b}"'],
  ])("rejects %s", (template, reason) => {
    const compiled = compileUriTemplate(template);
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.reason).toContain(reason);
  });
});
