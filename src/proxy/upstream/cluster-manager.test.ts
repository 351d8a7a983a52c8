// ClusterManager: golden CDS/EDS, NACK semantics, warming, EDS names, host reuse, outlier ejection, removal.
import { describe, expect, it, vi } from "vitest";
import { manualClock } from "../../base/clock.ts";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import { ClusterManager } from "./cluster-manager.ts";
import type { Host } from "./lb/host-set.ts";
import { goldenResources } from "./testing.ts";

function update(added: Record<string, unknown>, removed: string[] = [], full = false) {
  const map = new Map(Object.entries(added)) as ResourceUpdate["added"];
  const versions = new Map([...map.keys()].map((name) => [name, "1"]));
  return { added: map, removed, full, version: "1", versions } satisfies ResourceUpdate;
}

function edsCluster(name: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: { ads: {} }, service_name: `svc-${name}` },
    ...extra,
  };
}

function staticCluster(name: string, ips: string[]) {
  return { name, type: "STATIC", load_assignment: cla(name, ips) };
}

function cla(name: string, ips: string[]) {
  const lb_endpoints = ips.map((ip) => ({
    endpoint: { address: { socket_address: { address: ip, port_value: 80 } } },
  }));
  return { cluster_name: name, endpoints: [{ lb_endpoints }] };
}

function setup() {
  const clock = manualClock();
  const edsNames: string[][] = [];
  const manager = new ClusterManager({ clock, onEdsNames: (n) => edsNames.push([...n]) });
  const cds = manager.cdsHandler();
  const eds = manager.edsHandler();
  return { clock, manager, cds, eds, edsNames };
}

function picked(manager: ClusterManager, cluster: string, n = 6): string[] {
  const out = new Set<string>();
  for (let i = 0; i < n; i++) {
    const result = manager.pick(cluster);
    if ("host" in result) out.add(result.host.address);
  }
  return [...out].sort();
}

describe("ClusterManager", () => {
  it("applies the control plane's golden CDS and EDS and picks from them", () => {
    const byProxy = new Map<string, { clusters: unknown[]; endpoints: unknown[] }>();
    for (const kind of ["clusters", "endpoints"] as const)
      for (const [where, json] of goldenResources(kind)) {
        const group = byProxy.get(where) ?? { clusters: [], endpoints: [] };
        group[kind].push(json);
        byProxy.set(where, group);
      }
    expect(byProxy.size).toBeGreaterThan(5);
    let picks = 0;
    for (const [where, { clusters, endpoints }] of byProxy) {
      const { manager, cds, eds, edsNames } = setup();
      const named = (list: unknown[], key: string) =>
        Object.fromEntries(list.map((r) => [(r as Record<string, string>)[key], r]));
      expect(cds.apply(update(named(clusters, "name"), [], true)).errors, where).toEqual([]);
      expect(manager.clusterNames()).toHaveLength(clusters.length);
      const subscribed = new Set(edsNames.at(-1));
      const served = endpoints.filter((e) =>
        subscribed.has((e as { cluster_name: string }).cluster_name),
      );
      expect(eds.apply(update(named(served, "cluster_name"))).errors, where).toEqual([]);
      for (const name of manager.clusterNames()) {
        const cluster = manager.cluster(name)!;
        if (!cluster.hostSet || cluster.config.discovery === "ORIGINAL_DST") continue;
        const result = manager.pick(name);
        const hasHealthy = cluster.hostSet.hosts.some((h) => h.health !== "UNHEALTHY");
        if (hasHealthy) {
          expect(result, `${where} ${name}`).toHaveProperty("host");
          picks++;
        }
      }
      if (served.length === subscribed.size) expect(manager.ready(), where).toBe(true);
    }
    expect(picks).toBeGreaterThan(10);
  });

  it("rejects an update with a bad cluster and keeps the previous clusters untouched", () => {
    const { manager, cds } = setup();
    expect(cds.apply(update({ a: staticCluster("a", ["10.0.0.1"]) })).errors).toEqual([]);
    const before = manager.cluster("a");
    const result = cds.apply(
      update({
        a: staticCluster("a", ["10.0.0.9"]),
        bad: { name: "bad", type: "EDS" },
        worse: { name: "worse", type: "STATIC", health_checks: [{}] },
      }),
    );
    expect(
      result.errors.some((e) => e.startsWith("bad: ") && e.includes("eds_cluster_config")),
    ).toBe(true);
    expect(result.errors.some((e) => e.startsWith("worse: "))).toBe(true);
    expect(result.errors.every((e) => /^(bad|worse): /.test(e))).toBe(true);
    expect(manager.clusterNames()).toEqual(["a"]);
    expect(manager.cluster("a")).toBe(before);
    expect(picked(manager, "a")).toEqual(["10.0.0.1"]);
    expect(manager.pick("bad")).toEqual({ noCluster: true });
  });

  it("rejects a bad assignment and keeps the previous endpoints", () => {
    const { manager, cds, eds } = setup();
    cds.apply(update({ a: edsCluster("a") }));
    eds.apply(update({ "svc-a": cla("svc-a", ["10.0.0.1"]) }));
    const result = eds.apply(update({ "svc-a": cla("svc-a", ["not-an-ip"]) }));
    expect(result.errors.length).toBeGreaterThan(0);
    expect(result.errors[0]).toMatch(/^svc-a: /);
    expect(picked(manager, "a")).toEqual(["10.0.0.1"]);
  });

  it("keeps an EDS cluster warming until its first assignment", () => {
    const { manager, cds, eds } = setup();
    cds.apply(update({ a: edsCluster("a"), s: staticCluster("s", ["10.0.0.5"]) }));
    expect(manager.ready()).toBe(false);
    expect(manager.pick("a")).toEqual({ warming: true });
    expect(manager.snapshot().find((c) => c.name === "a")?.warming).toBe(true);
    expect(eds.apply(update({ "svc-a": cla("svc-a", ["10.0.0.1", "10.0.0.2"]) })).errors).toEqual(
      [],
    );
    expect(manager.ready()).toBe(true);
    expect(picked(manager, "a")).toEqual(["10.0.0.1", "10.0.0.2"]);
    eds.apply(update({ "svc-a": cla("svc-a", []) }));
    expect(manager.pick("a")).toEqual({ noHealthyUpstream: true });
  });

  it("reports the EDS names of the current EDS clusters as CDS changes", () => {
    const { cds, edsNames } = setup();
    cds.apply(
      update(
        { a: edsCluster("a"), b: edsCluster("b"), s: staticCluster("s", ["10.0.0.5"]) },
        [],
        true,
      ),
    );
    cds.apply(
      update(
        { a: edsCluster("a"), b: edsCluster("b"), s: staticCluster("s", ["10.0.0.6"]) },
        [],
        true,
      ),
    );
    cds.apply(update({ b: edsCluster("b"), c: edsCluster("c") }, ["a", "s"], true));
    cds.apply(update({}, ["b"]));
    expect(edsNames).toEqual([["svc-a", "svc-b"], ["svc-b", "svc-c"], ["svc-c"]]);
  });

  it("preserves host objects and stats across EDS and CDS updates", () => {
    const { manager, cds, eds } = setup();
    cds.apply(update({ a: edsCluster("a") }));
    eds.apply(update({ "svc-a": cla("svc-a", ["10.0.0.1", "10.0.0.2"]) }));
    const first = manager.cluster("a")!.hostSet!.hosts;
    const lb = manager.cluster("a")!.lb!;
    const host = first[0]!;
    lb.onRequestStart(host);
    eds.apply(update({ "svc-a": cla("svc-a", ["10.0.0.1", "10.0.0.3"]) }));
    const second = manager.cluster("a")!.hostSet!.hosts;
    expect(second[0]).toBe(host);
    expect(second[1]).not.toBe(first[1]);
    // A cluster update with the same endpoints keeps the host set (and its active requests).
    const hostSet = manager.cluster("a")!.hostSet;
    cds.apply(update({ a: edsCluster("a", { connect_timeout: "2s" }) }));
    expect(manager.cluster("a")!.hostSet).toBe(hostSet);
    expect(manager.cluster("a")!.lb).toBe(lb);
    expect(manager.snapshot()[0]!.hosts[0]).toMatchObject({
      address: "10.0.0.1:80",
      activeRequests: 1,
    });
    // A new lb_policy gets a new load balancer over the same hosts.
    cds.apply(update({ a: edsCluster("a", { lb_policy: "LEAST_REQUEST" }) }));
    expect(manager.cluster("a")!.lb).not.toBe(lb);
    expect(manager.cluster("a")!.hostSet!.hosts[0]).toBe(host);
  });

  it("ejects an outlier from picks and readmits it after the ejection time", () => {
    const { clock, manager, cds } = setup();
    const outlier_detection = {
      consecutive_5xx: 2,
      interval: "1s",
      base_ejection_time: "5s",
      max_ejection_percent: 100,
    };
    cds.apply(
      update({ a: { ...staticCluster("a", ["10.0.0.1", "10.0.0.2"]), outlier_detection } }),
    );
    const cluster = manager.cluster("a")!;
    const bad = cluster.hostSet!.hosts[0] as Host;
    expect(picked(manager, "a")).toEqual(["10.0.0.1", "10.0.0.2"]);
    cluster.outlierDetector!.onResult(bad, { status: 503 });
    cluster.outlierDetector!.onResult(bad, { status: 503 });
    expect(bad.ejected).toBe(true);
    expect(picked(manager, "a")).toEqual(["10.0.0.2"]);
    const snap = manager.snapshot()[0]!.hosts[0];
    expect(snap).toMatchObject({ address: "10.0.0.1:80", ejected: true, outlierEjections: 1 });
    clock.advance(4000);
    expect(picked(manager, "a")).toEqual(["10.0.0.2"]);
    clock.advance(2000);
    expect(bad.ejected).toBe(false);
    expect(picked(manager, "a")).toEqual(["10.0.0.1", "10.0.0.2"]);
  });

  it("drops removed clusters and stops their outlier detector", () => {
    const { clock, manager, cds } = setup();
    const outlier_detection = { interval: "1s" };
    cds.apply(update({ a: { ...staticCluster("a", ["10.0.0.1"]), outlier_detection } }));
    cds.apply(update({ b: staticCluster("b", ["10.0.0.2"]) }));
    expect(clock.pendingTimers()).toBe(1);
    expect(cds.apply(update({}, ["a"])).errors).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
    expect(manager.pick("a")).toEqual({ noCluster: true });
    expect(manager.clusterNames()).toEqual(["b"]);
    // A full update drops whatever it does not list.
    cds.apply(update({ c: staticCluster("c", ["10.0.0.3"]) }, [], true));
    expect(manager.clusterNames()).toEqual(["c"]);
  });

  it("leaves DNS clusters' hostnames to the resolveDns seam", () => {
    const clock = manualClock();
    const resolveDns = vi.fn((_c, a) => ({ ...a, endpoints: [{ address: "10.1.1.1", port: 80 }] }));
    const manager = new ClusterManager({ clock, resolveDns });
    const dns = { ...staticCluster("d", []), type: "STRICT_DNS", load_assignment: {} };
    dns.load_assignment = {
      cluster_name: "d",
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: "db.local", port_value: 80 } } } },
          ],
        },
      ],
    };
    expect(manager.cdsHandler().apply(update({ d: dns })).errors).toEqual([]);
    expect(resolveDns).toHaveBeenCalledOnce();
    expect(picked(manager, "d")).toEqual(["10.1.1.1"]);
    const unresolved = new ClusterManager({ clock });
    unresolved.cdsHandler().apply(update({ d: dns }));
    expect(picked(unresolved, "d")).toEqual(["db.local"]);
  });
});
