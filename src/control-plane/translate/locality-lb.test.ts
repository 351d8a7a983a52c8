import { describe, expect, it } from "vitest";
import { DEFAULT_MESH_CONFIG } from "../model/mesh-config.ts";
import type { Locality } from "../model/workload.ts";
import {
  applyLocalityLbSetting,
  type LocalityGroup,
  localityGroupJson,
  localityLbSettingFor,
  localityMatches,
} from "./locality-lb.ts";

const loc = (text: string): Locality => {
  const [region = "", zone = "", subzone = ""] = text.split("/");
  return { region, zone, subzone };
};

function group(locality: string, endpoints: Array<Record<string, string>> = [{}]): LocalityGroup {
  return {
    locality: loc(locality),
    lbEndpoints: endpoints.map((_, i) => ({
      endpoint_name: `${locality}#${i}`,
      load_balancing_weight: 1,
    })),
    labels: endpoints,
    weight: endpoints.length,
    priority: 0,
  };
}

const client = (locality: string, labels: Record<string, string> = {}) => ({
  locality: loc(locality),
  labels,
});
const summary = (groups: LocalityGroup[]) =>
  groups.map(
    (g) =>
      `${Object.values(g.locality).join("/")}:p${g.priority}:w${g.weight}:n${g.lbEndpoints.length}`,
  );

const GROUPS = [
  group("us-east/a/1"),
  group("us-east/a/2"),
  group("us-east/b/1"),
  group("eu-west/a/1"),
  group("ap-south/a/1"),
];

describe("locality failover", () => {
  it("orders by distance from the proxy: subzone, zone, region, elsewhere", () => {
    const out = applyLocalityLbSetting(GROUPS, client("us-east/a/1"), { enabled: true }, true);
    expect(summary(out)).toEqual([
      "us-east/a/1:p0:w1:n1",
      "us-east/a/2:p1:w1:n1",
      "us-east/b/1:p2:w1:n1",
      "eu-west/a/1:p3:w1:n1",
      "ap-south/a/1:p3:w1:n1",
    ]);
  });

  it("pushes regions the failover rule does not name below the named one", () => {
    const setting = { failover: [{ from: "us-east", to: "eu-west" }] };
    const out = applyLocalityLbSetting(GROUPS, client("us-east/b/1"), setting, true);
    expect(summary(out)).toEqual([
      "us-east/a/1:p1:w1:n1",
      "us-east/a/2:p1:w1:n1",
      "us-east/b/1:p0:w1:n1",
      "eu-west/a/1:p2:w1:n1",
      "ap-south/a/1:p3:w1:n1",
    ]);
  });

  it("does nothing without outlier detection", () => {
    const out = applyLocalityLbSetting(GROUPS, client("us-east/a/1"), { enabled: true }, false);
    expect(out.map((g) => g.priority)).toEqual([0, 0, 0, 0, 0]);
  });

  it("failoverPriority splits localities by matching labels, most significant first", () => {
    const groups = [
      group("r/z", [
        { net: "n1", tier: "gold" },
        { net: "n1", tier: "silver" },
        { net: "n2", tier: "gold" },
      ]),
    ];
    const setting = { failoverPriority: ["net", "tier"] };
    const out = applyLocalityLbSetting(
      groups,
      client("r/z", { net: "n1", tier: "gold" }),
      setting,
      true,
    );
    expect(summary(out)).toEqual(["r/z/:p0:w1:n1", "r/z/:p1:w1:n1", "r/z/:p2:w1:n1"]);
    expect(out.map((g) => g.labels)).toEqual([
      [{ net: "n1", tier: "gold" }],
      [{ net: "n1", tier: "silver" }],
      [{ net: "n2", tier: "gold" }],
    ]);
    // `label=value` compares against the given value instead of the proxy's label.
    const pinned = applyLocalityLbSetting(
      groups,
      client("r/z", { net: "n1" }),
      { failoverPriority: ["net=n2"] },
      true,
    );
    expect(pinned.map((g) => g.labels.length)).toEqual([1, 2]);
    expect(pinned[0]!.labels).toEqual([{ net: "n2", tier: "gold" }]);
  });

  it("distribute sets locality weights for proxies it matches and empties unnamed localities", () => {
    const setting = {
      distribute: [{ from: "us-east/a/*", to: { "us-east/*": 80, "eu-west/a/1": 20 } }],
    };
    const out = applyLocalityLbSetting(GROUPS, client("us-east/a/2"), setting, false);
    expect(summary(out)).toEqual([
      "us-east/a/1:p0:w27:n1",
      "us-east/a/2:p0:w27:n1",
      "us-east/b/1:p0:w27:n1",
      "eu-west/a/1:p0:w20:n1",
      "ap-south/a/1:p0:w1:n0",
    ]);
    const other = applyLocalityLbSetting(GROUPS, client("eu-west/a/1"), setting, false);
    expect(summary(other)).toEqual(summary(GROUPS));
  });
});

describe("locality helpers", () => {
  it("matches region/zone/subzone patterns with wildcards and omitted parts", () => {
    expect(localityMatches(loc("us/a/1"), "us")).toBe(true);
    expect(localityMatches(loc("us/a/1"), "us/*/1")).toBe(true);
    expect(localityMatches(loc("us/a/1"), "*")).toBe(true);
    expect(localityMatches(loc("us/a/1"), "us/b")).toBe(false);
  });

  it("uses the rule's setting unless disabled, else the mesh's", () => {
    expect(localityLbSettingFor(DEFAULT_MESH_CONFIG, undefined)).toEqual({ enabled: true });
    expect(
      localityLbSettingFor(DEFAULT_MESH_CONFIG, { localityLbSetting: { enabled: false } }),
    ).toBeUndefined();
    expect(
      localityLbSettingFor({ ...DEFAULT_MESH_CONFIG, localityLbEnabled: false }, undefined),
    ).toBeUndefined();
  });

  it("writes LocalityLbEndpoints, leaving priority 0 out", () => {
    expect(localityGroupJson({ ...group("us/a"), priority: 2 })).toEqual({
      locality: { region: "us", zone: "a" },
      lb_endpoints: [{ endpoint_name: "us/a#0", load_balancing_weight: 1 }],
      load_balancing_weight: 1,
      priority: 2,
    });
    expect(localityGroupJson(group(""))).not.toHaveProperty("priority");
  });
});
