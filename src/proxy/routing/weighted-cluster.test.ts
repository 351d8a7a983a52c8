// Weighted clusters: proportional picks with a deterministic random source, header-supplied values.
import { describe, expect, it } from "vitest";
import { selectRoute } from "./select-route.ts";
import { compileRoutes, fixedRandom, request, singleHost } from "./testing.ts";
import type { RouteRequest } from "./types.ts";

function weighted(clusters: unknown[], extra: Record<string, unknown> = {}) {
  return compileRoutes(
    singleHost([{ match: { prefix: "/" }, route: { weighted_clusters: { clusters, ...extra } } }]),
  );
}

function pick(
  config: ReturnType<typeof weighted>,
  random: number,
  req: Partial<RouteRequest> = {},
) {
  const s = selectRoute(config, request(req), fixedRandom(random));
  return s.noRoute ? undefined : s.clusterName;
}

/** Picks for random values 0.000, 0.001, …, 0.999. */
function spread(config: ReturnType<typeof weighted>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < 1000; i++) {
    const name = pick(config, i / 1000) ?? "(none)";
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

describe("weighted clusters", () => {
  it.each([
    [
      [
        ["a", 90],
        ["b", 10],
      ],
      { a: 900, b: 100 },
    ],
    [
      [
        ["a", 1],
        ["b", 1],
        ["c", 2],
      ],
      { a: 250, b: 250, c: 500 },
    ],
    [
      [
        ["a", 3],
        ["b", 0],
        ["c", 1],
      ],
      { a: 750, c: 250 },
    ],
    [[["only", 7]], { only: 1000 }],
  ] as [Array<[string, number]>, Record<string, number>][])(
    "splits %j in proportion to the weights",
    (clusters, expected) => {
      const config = weighted(clusters.map(([name, weight]) => ({ name, weight })));
      expect(spread(config)).toEqual(expected);
    },
  );

  it("ignores the deprecated total_weight and uses the sum", () => {
    const config = weighted(
      [
        { name: "a", weight: 1 },
        { name: "b", weight: 1 },
      ],
      { total_weight: 100 },
    );
    expect(spread(config)).toEqual({ a: 500, b: 500 });
  });

  it("picks the interval holding the value: [0,w1) → first", () => {
    const config = weighted([
      { name: "a", weight: 1 },
      { name: "b", weight: 1 },
    ]);
    expect(pick(config, 0)).toBe("a");
    expect(pick(config, 0.4999)).toBe("a");
    expect(pick(config, 0.5)).toBe("b");
    expect(pick(config, 0.9999)).toBe("b");
  });

  it("takes the random value from header_name when it holds one unsigned integer", () => {
    const config = weighted(
      [
        { name: "a", weight: 1 },
        { name: "b", weight: 1 },
      ],
      { header_name: "x-rand" },
    );
    expect(pick(config, 0, { headers: { "x-rand": "3" } })).toBe("b");
    expect(pick(config, 0.9, { headers: { "x-rand": "4" } })).toBe("a");
    expect(pick(config, 0.9, { headers: { "x-rand": "18446744073709551615" } })).toBe("b");
    expect(pick(config, 0, { headers: { "x-rand": ["1", "1"] } })).toBe("a");
    expect(pick(config, 0, { headers: { "x-rand": "nope" } })).toBe("a");
  });

  it("resolves a weighted cluster_header and keeps cluster-level settings on the selection", () => {
    const config = weighted([
      { cluster_header: "x-target", weight: 1 },
      {
        name: "b",
        weight: 1,
        host_rewrite_literal: "b.internal",
        request_headers_to_add: [{ header: { key: "x-b", value: "1" } }],
        typed_per_filter_config: {
          "envoy.filters.http.fault": { "@type": "type.googleapis.com/x.Fault", delay: "1s" },
        },
      },
    ]);
    expect(pick(config, 0, { headers: { "x-target": "dynamic" } })).toBe("dynamic");
    expect(pick(config, 0)).toBeUndefined();
    const s = selectRoute(config, request(), fixedRandom(0.7));
    if (s.noRoute) throw new Error("expected a route");
    expect(s.weightedCluster?.name).toBe("b");
    expect(s.hostRewrite).toBe("b.internal");
    expect(s.weightedCluster?.typedPerFilterConfig["envoy.filters.http.fault"]?.config).toEqual({
      delay: "1s",
    });
  });
});
