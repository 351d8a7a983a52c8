import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { encodeResource } from "../../xds/resource-codec.ts";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { DEFAULT_MESH_CONFIG } from "../model/mesh-config.ts";
import { NO_LOCALITY } from "../model/workload.ts";
import type { ClusterDraft } from "./cluster-draft.ts";
import { expectEncodable } from "./clusters-testing.ts";
import type { EffectiveDestinationRule, Obj } from "./destination-rules.ts";
import { applyLoadBalancer, hashPolicyFor } from "./load-balancer.ts";

function lb(settings: Obj | undefined, type = "EDS", extra: JsonObject = {}): JsonObject {
  const draft: ClusterDraft = { cluster: { name: "c", type, common_lb_config: {}, ...extra } };
  applyLoadBalancer(draft, settings, {
    mesh: DEFAULT_MESH_CONFIG,
    client: { locality: NO_LOCALITY, labels: {} },
  });
  expectEncodable([draft.cluster]);
  return draft.cluster;
}

describe("loadBalancer → lb_policy", () => {
  it("defaults to LEAST_REQUEST", () => {
    expect(lb(undefined).lb_policy).toBe("LEAST_REQUEST");
    expect(lb({ simple: "LEAST_REQUEST" }).lb_policy).toBe("LEAST_REQUEST");
    expect(lb({ simple: "LEAST_CONN" }).lb_policy).toBe("LEAST_REQUEST");
  });

  it("maps ROUND_ROBIN and RANDOM", () => {
    expect(lb({ simple: "ROUND_ROBIN" }).lb_policy).toBe("ROUND_ROBIN");
    expect(lb({ simple: "RANDOM" }).lb_policy).toBe("RANDOM");
  });

  it("PASSTHROUGH turns the cluster into ORIGINAL_DST / CLUSTER_PROVIDED", () => {
    const cluster = lb({ simple: "PASSTHROUGH" });
    expect([cluster.type, cluster.lb_policy]).toEqual(["ORIGINAL_DST", "CLUSTER_PROVIDED"]);
  });

  it("ORIGINAL_DST clusters always use CLUSTER_PROVIDED", () => {
    expect(lb({ simple: "ROUND_ROBIN" }, "ORIGINAL_DST").lb_policy).toBe("CLUSTER_PROVIDED");
  });

  it("warmupDurationSecs becomes a slow-start window", () => {
    expect(lb({ simple: "ROUND_ROBIN", warmupDurationSecs: "30s" }).round_robin_lb_config).toEqual({
      slow_start_config: { slow_start_window: "30s" },
    });
    expect(lb({ warmupDurationSecs: "1m" }).least_request_lb_config).toEqual({
      slow_start_config: { slow_start_window: "60s" },
    });
  });

  it("consistentHash without an algorithm is RING_HASH with a 1024 minimum ring", () => {
    const cluster = lb({ consistentHash: { httpHeaderName: "x-user" } });
    expect(cluster.lb_policy).toBe("RING_HASH");
    expect(cluster.ring_hash_lb_config).toEqual({ minimum_ring_size: 1024 });
    expect(lb({ consistentHash: { minimumRingSize: 64 } }).ring_hash_lb_config).toEqual({
      minimum_ring_size: 64,
    });
  });

  it("ringHash and maglev set their sizes only when given", () => {
    expect(lb({ consistentHash: { ringHash: { minimumRingSize: 2048 } } })).toMatchObject({
      lb_policy: "RING_HASH",
      ring_hash_lb_config: { minimum_ring_size: 2048 },
    });
    expect(lb({ consistentHash: { ringHash: {} } }).ring_hash_lb_config).toBeUndefined();
    expect(lb({ consistentHash: { maglev: { tableSize: 65537 } } })).toMatchObject({
      lb_policy: "MAGLEV",
      maglev_lb_config: { table_size: 65537 },
    });
    expect(lb({ consistentHash: { maglev: {} } })).not.toHaveProperty("maglev_lb_config");
  });

  it("sets locality_weighted_lb_config for distribute, or failover with outlier detection", () => {
    const distribute = { localityLbSetting: { distribute: [{ from: "a/*", to: { "a/*": 100 } }] } };
    expect(lb(distribute).common_lb_config).toEqual({ locality_weighted_lb_config: {} });
    const failover = { localityLbSetting: { failover: [{ from: "a", to: "b" }] } };
    expect(lb(failover).common_lb_config).toEqual({});
    expect(lb(failover, "EDS", { outlier_detection: {} }).common_lb_config).toEqual({
      locality_weighted_lb_config: {},
    });
    expect(lb({}, "EDS", { outlier_detection: {} }).common_lb_config).toEqual({});
  });
});

describe("hashPolicyFor", () => {
  const rule = (trafficPolicy: Obj, subsets: Obj[] = []): EffectiveDestinationRule => ({
    sources: [],
    host: "h",
    trafficPolicy,
    subsets,
    exportTo: ["*"],
  });
  const encodeRoute = (hashPolicy: JsonObject[]) =>
    encodeResource(TYPE_URL.routeConfiguration, {
      name: "r",
      virtual_hosts: [
        {
          name: "v",
          domains: ["*"],
          routes: [{ match: { prefix: "/" }, route: { cluster: "c", hash_policy: hashPolicy } }],
        },
      ],
    });

  it("maps each hash key", () => {
    const cases: Array<[Obj, JsonObject]> = [
      [{ httpHeaderName: "x-user" }, { header: { header_name: "x-user" } }],
      [
        { httpCookie: { name: "session", path: "/", ttl: "0s" } },
        { cookie: { name: "session", ttl: "0s", path: "/" } },
      ],
      [{ httpCookie: { name: "s", ttl: "1h" } }, { cookie: { name: "s", ttl: "3600s" } }],
      [{ useSourceIp: true }, { connection_properties: { source_ip: true } }],
      [{ httpQueryParameterName: "user" }, { query_parameter: { name: "user" } }],
    ];
    for (const [hash, expected] of cases) {
      const policy = hashPolicyFor(rule({ loadBalancer: { consistentHash: hash } }), 80);
      expect(policy).toEqual([expected]);
      expect(() => encodeRoute(policy)).not.toThrow();
    }
  });

  it("is empty without a rule or a consistent hash", () => {
    expect(hashPolicyFor(undefined, 80)).toEqual([]);
    expect(hashPolicyFor(rule({ loadBalancer: { simple: "RANDOM" } }), 80)).toEqual([]);
  });

  it("prefers subset port-level, then subset, then rule port-level, then rule-level", () => {
    const hash = (name: string) => ({ loadBalancer: { consistentHash: { httpHeaderName: name } } });
    const portLevel = (name: string) => ({
      portLevelSettings: [{ port: { number: 80 }, ...hash(name) }],
    });
    const dr = rule({ ...hash("rule"), ...portLevel("rule-port") }, [
      { name: "a", trafficPolicy: { ...hash("subset"), ...portLevel("subset-port") } },
      { name: "b", trafficPolicy: hash("subset-b") },
      { name: "c" },
    ]);
    const header = (port: number | undefined, subset?: string) =>
      (hashPolicyFor(dr, port, subset)[0]?.header as JsonObject | undefined)?.header_name;
    expect(header(80, "a")).toBe("subset-port");
    expect(header(81, "a")).toBe("subset");
    expect(header(80, "b")).toBe("subset-b");
    expect(header(80, "c")).toBe("rule-port");
    expect(header(80)).toBe("rule-port");
    expect(header(undefined)).toBe("rule");
  });
});
