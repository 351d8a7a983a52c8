import { describe, expect, it } from "vitest";
import {
  effectiveTrafficPolicy,
  mergeSubsetPolicy,
  portLevelPolicy,
  protoDuration,
} from "./cluster-traffic-policy.ts";
import type { EffectiveDestinationRule } from "./destination-rules.ts";

const TOP = {
  connectionPool: { tcp: { maxConnections: 10 } },
  loadBalancer: { simple: "RANDOM" },
  outlierDetection: { consecutive5xxErrors: 3 },
  tls: { mode: "ISTIO_MUTUAL" },
  proxyProtocol: { version: "V1" },
  portLevelSettings: [
    { port: { number: 8080 }, loadBalancer: { simple: "ROUND_ROBIN" } },
    { port: { number: 8080 }, loadBalancer: { simple: "RANDOM" } },
  ],
};

describe("portLevelPolicy", () => {
  it("replaces the whole policy with the first matching port entry (no inheritance)", () => {
    expect(portLevelPolicy(TOP, 8080)).toEqual({
      policy: { loadBalancer: { simple: "ROUND_ROBIN" } },
      portLevel: true,
    });
  });

  it("keeps the top-level policy, without portLevelSettings, for other ports", () => {
    const { policy, portLevel } = portLevelPolicy(TOP, 9080);
    expect(portLevel).toBe(false);
    expect(policy).toEqual({
      connectionPool: TOP.connectionPool,
      loadBalancer: TOP.loadBalancer,
      outlierDetection: TOP.outlierDetection,
      tls: TOP.tls,
      proxyProtocol: TOP.proxyProtocol,
    });
    expect(portLevelPolicy(undefined, 9080)).toEqual({ policy: undefined, portLevel: false });
  });
});

describe("mergeSubsetPolicy", () => {
  it("overrides field by field with the subset's policy", () => {
    const merged = mergeSubsetPolicy(TOP, { loadBalancer: { simple: "LEAST_REQUEST" } }, 9080);
    expect(merged?.loadBalancer).toEqual({ simple: "LEAST_REQUEST" });
    expect(merged?.connectionPool).toBe(TOP.connectionPool);
    expect(merged?.outlierDetection).toBe(TOP.outlierDetection);
  });

  it("lets a subset port-level entry replace all four port-level fields", () => {
    const subset = {
      portLevelSettings: [
        { port: { number: 9080 }, connectionPool: { tcp: { maxConnections: 1 } } },
      ],
    };
    const merged = mergeSubsetPolicy(TOP, subset, 9080);
    expect(merged).toEqual({
      connectionPool: { tcp: { maxConnections: 1 } },
      proxyProtocol: TOP.proxyProtocol,
    });
  });

  it("uses the rule's port-level policy under the subset's fields", () => {
    const merged = mergeSubsetPolicy(TOP, { outlierDetection: { interval: "1s" } }, 8080);
    expect(merged).toEqual({
      loadBalancer: { simple: "ROUND_ROBIN" },
      outlierDetection: { interval: "1s" },
    });
  });

  it("returns the subset's policy alone when the rule has none", () => {
    expect(mergeSubsetPolicy(undefined, { loadBalancer: { simple: "RANDOM" } }, 80)).toEqual({
      loadBalancer: { simple: "RANDOM" },
    });
  });
});

describe("effectiveTrafficPolicy", () => {
  const dr: EffectiveDestinationRule = {
    sources: [],
    host: "reviews.default.svc.cluster.local",
    trafficPolicy: { loadBalancer: { simple: "RANDOM" } },
    subsets: [
      {
        name: "v1",
        labels: { version: "v1" },
        trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } },
      },
      { name: "v2", labels: { version: "v2" } },
    ],
    exportTo: ["*"],
  };

  it("merges the named subset's policy; other subsets and the default cluster use the rule's", () => {
    expect(effectiveTrafficPolicy(dr, 80, "v1")?.loadBalancer).toEqual({ simple: "ROUND_ROBIN" });
    expect(effectiveTrafficPolicy(dr, 80, "v2")?.loadBalancer).toEqual({ simple: "RANDOM" });
    expect(effectiveTrafficPolicy(dr, 80)?.loadBalancer).toEqual({ simple: "RANDOM" });
    expect(effectiveTrafficPolicy(undefined, 80)).toBeUndefined();
  });
});

describe("protoDuration", () => {
  it("converts Istio durations to protobuf JSON durations", () => {
    expect(protoDuration("1h")).toBe("3600s");
    expect(protoDuration("1m30s")).toBe("90s");
    expect(protoDuration("250ms")).toBe("0.25s");
    expect(protoDuration("0s")).toBe("0s");
    expect(protoDuration("soon")).toBeUndefined();
    expect(protoDuration(5)).toBeUndefined();
  });
});
