import { describe, expect, it } from "vitest";
import { mergeExpositions, parseAppMetricsTarget } from "./metrics-merge.ts";

describe("ISTIO_PROMETHEUS_ANNOTATIONS", () => {
  it("reads the injector's JSON, defaulting the path to /metrics", () => {
    expect(parseAppMetricsTarget('{"scrape":"true","path":"/stats","port":"9090"}')).toEqual({
      ok: true,
      target: { port: 9090, path: "/stats" },
    });
    expect(parseAppMetricsTarget('{"scrape":"true","port":"8080"}')).toEqual({
      ok: true,
      target: { port: 8080, path: "/metrics" },
    });
    expect(parseAppMetricsTarget('{"port":"8080","path":"m"}')).toEqual({
      ok: true,
      target: { port: 8080, path: "/m" },
    });
  });

  it("merges nothing without the variable, a port, or scrape true", () => {
    for (const value of [undefined, "", '{"scrape":"false","port":"1"}', '{"scrape":"true"}'])
      expect(parseAppMetricsTarget(value)).toEqual({ ok: true, target: undefined });
  });

  it("refuses what it cannot read, saying why", () => {
    const notJson = parseAppMetricsTarget("{scrape");
    expect(notJson.ok).toBe(false);
    expect(!notJson.ok && notJson.error).toContain("ISTIO_PROMETHEUS_ANNOTATIONS is not JSON");
    const badPort = parseAppMetricsTarget('{"port":"http"}');
    expect(!badPort.ok && badPort.error).toContain('port must be 1–65535, got "http"');
    expect(parseAppMetricsTarget("[1]").ok).toBe(false);
  });
});

describe("mergeExpositions", () => {
  it("puts the app's families after the proxy's, each block whole", () => {
    expect(mergeExpositions("a 1\n", "b 2\n")).toBe("a 1\nb 2\n");
    expect(mergeExpositions("a 1", "b 2")).toBe("a 1\nb 2\n");
    expect(mergeExpositions("a 1\n", undefined)).toBe("a 1\n");
  });
});
