// Host header forms: which domains carry a port (IPv6 literals are bracketed, their colons are not one).
import { describe, expect, it } from "vitest";
import { domainName, hasPort, ipv6Compliant } from "./route-domains.ts";

describe("hasPort", () => {
  it.each([
    ["reviews", false],
    ["reviews:9080", true],
    ["10.96.0.1", false],
    ["10.96.0.1:80", true],
    ["*.example.com:443", true],
    [ipv6Compliant("fd00::40"), false],
    [domainName("fd00::40", 8080), true],
  ])("%s → %s", (domain, expected) => {
    expect(hasPort(domain)).toBe(expected);
  });
});
