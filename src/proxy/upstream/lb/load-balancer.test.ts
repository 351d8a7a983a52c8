// The registry, config validation and host-set grouping.
import { describe, expect, it } from "vitest";
import { isCremaError } from "../../../base/errors.ts";
import { validateLbConfig } from "./config.ts";
import { createHost, groupHosts, hostAddress } from "./host-set.ts";
import { createLoadBalancer, LB_POLICIES } from "./load-balancer.ts";
import { makeHosts } from "./testing.ts";

describe("createLoadBalancer", () => {
  it.each(LB_POLICIES)("builds %s", (policy) => {
    expect(createLoadBalancer(policy).policy).toBe(policy);
  });

  it("rejects an invalid config with every problem, naming Envoy's fields", () => {
    const config = {
      healthyPanicThreshold: 120,
      leastRequest: { choiceCount: 1, activeRequestBias: -1 },
      ringHash: { minimumRingSize: 2048, maximumRingSize: 1024 },
    };
    expect(validateLbConfig(config)).toEqual([
      "common_lb_config.healthy_panic_threshold must be 0–100, got 120",
      "least_request_lb_config.choice_count must be an integer ≥ 2, got 1",
      "least_request_lb_config.active_request_bias must be ≥ 0, got -1",
      "ring hash: minimum_ring_size (2048) > maximum_ring_size (1024)",
    ]);
    let error: unknown;
    try {
      createLoadBalancer("RING_HASH", config);
    } catch (caught) {
      error = caught;
    }
    expect(isCremaError(error) && error.code).toBe("CREMA_XDS_INVALID_RESOURCE");
  });
});

describe("host sets", () => {
  it("defaults a host as EDS does: weight 1, priority 0, healthy", () => {
    const host = createHost({ address: "10.0.0.1", port: 80 });
    expect(host).toMatchObject({ weight: 1, priority: 0, health: "HEALTHY", ejected: false });
    expect(hostAddress(host)).toBe("10.0.0.1:80");
    expect(hostAddress(createHost({ address: "::1", port: 80 }))).toBe("[::1]:80");
    expect(() => createHost({ address: "10.0.0.1", port: 80, weight: 0 })).toThrow(/weight/);
  });

  it("groups hosts by dense priority and by locality, classifying health", () => {
    const hosts = makeHosts(4, (i) => ({
      priority: i === 3 ? 2 : 0,
      locality: { zone: i === 0 ? "a" : "b" },
      health: (["HEALTHY", "DEGRADED", "DRAINING", "UNKNOWN"] as const)[i],
    }));
    const levels = groupHosts({
      hosts,
      localityWeights: [{ priority: 0, locality: { zone: "b" }, weight: 7 }],
    });
    expect(levels.map((level) => level.hosts.length)).toEqual([3, 0, 1]);
    expect(levels[0]!.healthy).toEqual([hosts[0]]);
    expect(levels[0]!.degraded).toEqual([hosts[1]]);
    expect(levels[2]!.healthy).toEqual([hosts[3]]);
    expect(levels[0]!.localities.map((l) => [l.locality.zone, l.weight, l.hosts.length])).toEqual([
      ["a", 0, 1],
      ["b", 7, 2],
    ]);
  });
});
