import { describe, expect, it } from "vitest";
import {
  exportedTo,
  hostCovers,
  hostsOverlap,
  parseGatewayRef,
  parseServerHost,
  resolveHost,
} from "./hosts.ts";

describe("hosts", () => {
  it("resolves short names the way Istio does", () => {
    const known = (ns: string) => ns === "ns";
    expect(resolveHost("reviews", "ns", known)).toBe("reviews.ns.svc.cluster.local");
    expect(resolveHost("reviews.ns", "other", known)).toBe("reviews.ns.svc.cluster.local");
    expect(resolveHost("example.com", "ns", known)).toBe("example.com");
    expect(resolveHost("Reviews.NS.svc.cluster.local.", "x", known)).toBe(
      "reviews.ns.svc.cluster.local",
    );
    expect(resolveHost("*.example.com", "ns", known)).toBe("*.example.com");
  });

  it("matches wildcards", () => {
    expect(hostCovers("*.example.com", "a.example.com")).toBe(true);
    expect(hostCovers("*.example.com", "a.b.example.com")).toBe(true);
    expect(hostCovers("*.example.com", "example.com")).toBe(false);
    expect(hostCovers("*.example.com", "*.a.example.com")).toBe(true);
    expect(hostCovers("*.a.example.com", "*.example.com")).toBe(false);
    expect(hostCovers("*", "anything.test")).toBe(true);
    expect(hostCovers("a.example.com", "b.example.com")).toBe(false);
    expect(hostsOverlap("*.a.example.com", "*.example.com")).toBe(true);
    expect(hostsOverlap("a.example.com", "*.example.org")).toBe(false);
  });

  it("parses gateway references and server hosts", () => {
    expect(parseGatewayRef("istio-system/gw", "ns")).toEqual({
      namespace: "istio-system",
      name: "gw",
    });
    expect(parseGatewayRef("gw", "ns")).toEqual({ namespace: "ns", name: "gw" });
    expect(parseServerHost("prod/a.com", "gw-ns")).toEqual({ namespace: "prod", host: "a.com" });
    expect(parseServerHost("./a.com", "gw-ns")).toEqual({ namespace: "gw-ns", host: "a.com" });
    expect(parseServerHost("*/a.com", "gw-ns")).toEqual({ namespace: "*", host: "a.com" });
    expect(parseServerHost("A.com", "gw-ns")).toEqual({ namespace: "*", host: "a.com" });
  });

  it("applies exportTo", () => {
    expect(exportedTo([], "a", "b")).toBe(true);
    expect(exportedTo(["*"], "a", "b")).toBe(true);
    expect(exportedTo(["."], "a", "a")).toBe(true);
    expect(exportedTo(["."], "a", "b")).toBe(false);
    expect(exportedTo(["b"], "a", "b")).toBe(true);
    expect(exportedTo(["~"], "a", "a")).toBe(false);
  });
});
