// DnsRefresher with a ClusterManager: warming until the first lookup, STRICT_DNS vs LOGICAL_DNS
// hosts, refresh by rate and by TTL, last good answer kept on failure, lookup families.
import { describe, expect, it } from "vitest";
import { manualClock } from "../../base/clock.ts";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import { ClusterManager } from "./cluster-manager.ts";
import {
  DnsRefresher,
  type ResolvedAddress,
  selectAddresses,
  systemDnsLookup,
} from "./dns-refresher.ts";

function update(added: Record<string, unknown>): ResourceUpdate {
  const map = new Map(Object.entries(added)) as ResourceUpdate["added"];
  const versions = new Map([...map.keys()].map((name) => [name, "1"]));
  return { added: map, removed: [], full: false, version: "1", versions };
}

function dnsCluster(type: string, hostnames: string[], extra: Record<string, unknown> = {}) {
  const lb_endpoints = hostnames.map((address) => ({
    endpoint: { address: { socket_address: { address, port_value: 443 } } },
  }));
  return {
    name: "ext",
    type,
    connect_timeout: "1s",
    load_assignment: { cluster_name: "ext", endpoints: [{ lb_endpoints }] },
    ...extra,
  };
}

/** A resolver the test answers: each lookup waits until the test says what it returns. */
function scriptedLookup() {
  const pending: Array<{ hostname: string; answer(found: ResolvedAddress[] | Error): void }> = [];
  const lookup = (hostname: string) =>
    new Promise<ResolvedAddress[]>((resolve, reject) => {
      pending.push({
        hostname,
        answer: (found) => (found instanceof Error ? reject(found) : resolve(found)),
      });
    });
  return { lookup, pending };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

function setup() {
  const clock = manualClock();
  const script = scriptedLookup();
  const resolved: string[] = [];
  let manager: ClusterManager | undefined;
  const dns = new DnsRefresher({
    clock,
    lookup: script.lookup,
    isCurrent: (config) => manager?.cluster(config.name)?.config === config,
    onResolved: (name, assignment) => {
      resolved.push(name);
      manager?.setResolvedEndpoints(name, assignment);
    },
  });
  manager = new ClusterManager({ clock, resolveDns: dns.resolveDns });
  const addresses = () =>
    (manager?.cluster("ext")?.hostSet?.hosts ?? []).map((h) => `${h.address}:${h.port}`).sort();
  return { clock, script, dns, manager, resolved, addresses };
}

const a = (address: string, ttlSeconds = 0): ResolvedAddress => ({ address, ttlSeconds });

describe("DnsRefresher", () => {
  it("warms a STRICT_DNS cluster until its first lookup ends, then makes a host of every address", async () => {
    const { script, manager, addresses } = setup();
    expect(
      manager.cdsHandler().apply(update({ ext: dnsCluster("STRICT_DNS", ["pay.example"]) })).errors,
    ).toEqual([]);
    expect(manager.ready()).toBe(false);
    expect(script.pending.map((p) => p.hostname)).toEqual(["pay.example"]);
    script.pending.shift()!.answer([a("10.0.0.1"), a("10.0.0.2")]);
    await flush();
    expect(manager.ready()).toBe(true);
    expect(addresses()).toEqual(["10.0.0.1:443", "10.0.0.2:443"]);
    expect(manager.cluster("ext")!.hostSet!.hosts[0]!.hostname).toBe("pay.example");
  });

  it("uses only the first address for LOGICAL_DNS", async () => {
    const { script, manager, addresses } = setup();
    manager.cdsHandler().apply(update({ ext: dnsCluster("LOGICAL_DNS", ["pay.example"]) }));
    script.pending.shift()!.answer([a("10.0.0.7"), a("10.0.0.8")]);
    await flush();
    expect(addresses()).toEqual(["10.0.0.7:443"]);
  });

  it("finishes warming with no hosts when the first lookup fails", async () => {
    const { script, manager, addresses } = setup();
    manager.cdsHandler().apply(update({ ext: dnsCluster("STRICT_DNS", ["nowhere.example"]) }));
    script.pending.shift()!.answer(new Error("ENOTFOUND"));
    await flush();
    expect(manager.ready()).toBe(true);
    expect(addresses()).toEqual([]);
    expect(manager.pick("ext")).toEqual({ noHealthyUpstream: true });
  });

  it("re-resolves every dns_refresh_rate and keeps the last good answer when a lookup fails", async () => {
    const { clock, script, manager, addresses } = setup();
    manager
      .cdsHandler()
      .apply(
        update({ ext: dnsCluster("STRICT_DNS", ["pay.example"], { dns_refresh_rate: "2s" }) }),
      );
    script.pending.shift()!.answer([a("10.0.0.1")]);
    await flush();
    clock.advance(1999);
    expect(script.pending).toHaveLength(0);
    clock.advance(1);
    script.pending.shift()!.answer([a("10.0.0.3")]);
    await flush();
    expect(addresses()).toEqual(["10.0.0.3:443"]);
    clock.advance(2000);
    script.pending.shift()!.answer(new Error("SERVFAIL"));
    await flush();
    expect(addresses()).toEqual(["10.0.0.3:443"]);
  });

  it("re-resolves at the records' TTL with respect_dns_ttl", async () => {
    const { clock, script, manager } = setup();
    manager
      .cdsHandler()
      .apply(update({ ext: dnsCluster("STRICT_DNS", ["pay.example"], { respect_dns_ttl: true }) }));
    script.pending.shift()!.answer([a("10.0.0.1", 30), a("10.0.0.2", 12)]);
    await flush();
    clock.advance(11_999);
    expect(script.pending).toHaveLength(0);
    clock.advance(1);
    expect(script.pending).toHaveLength(1);
  });

  it("keeps the resolution when CDS re-sends an equivalent cluster, and old hosts while a changed one resolves", async () => {
    const { script, manager, addresses } = setup();
    const cds = manager.cdsHandler();
    cds.apply(update({ ext: dnsCluster("STRICT_DNS", ["pay.example"]) }));
    script.pending.shift()!.answer([a("10.0.0.1")]);
    await flush();
    cds.apply(update({ ext: dnsCluster("STRICT_DNS", ["pay.example"]) }));
    expect(script.pending).toHaveLength(0);
    expect(manager.ready()).toBe(true);
    expect(addresses()).toEqual(["10.0.0.1:443"]);
    cds.apply(update({ ext: dnsCluster("STRICT_DNS", ["pay2.example"]) }));
    expect(script.pending.map((p) => p.hostname)).toEqual(["pay2.example"]);
    expect(addresses()).toEqual(["10.0.0.1:443"]);
    script.pending.shift()!.answer([a("10.0.0.2")]);
    await flush();
    expect(addresses()).toEqual(["10.0.0.2:443"]);
  });

  it("stops refreshing a cluster that CDS removed", async () => {
    const { clock, script, manager } = setup();
    manager.cdsHandler().apply(update({ ext: dnsCluster("STRICT_DNS", ["pay.example"]) }));
    script.pending.shift()!.answer([a("10.0.0.1")]);
    await flush();
    manager.cdsHandler().apply({ ...update({}), removed: ["ext"] });
    clock.advance(5_000);
    script.pending.shift()?.answer([a("10.0.0.9")]);
    await flush();
    clock.advance(5_000);
    expect(script.pending).toHaveLength(0);
  });

  it("keeps IP literals of a DNS cluster as they are, without a lookup", () => {
    const { script, manager, addresses } = setup();
    manager.cdsHandler().apply(update({ ext: dnsCluster("STRICT_DNS", ["192.0.2.1"]) }));
    expect(script.pending).toHaveLength(0);
    expect(manager.ready()).toBe(true);
    expect(addresses()).toEqual(["192.0.2.1:443"]);
  });

  it("orders answers by Envoy's lookup families", () => {
    const v4 = [a("10.0.0.1")];
    const v6 = [a("fd00::1")];
    expect(selectAddresses(v4, v6, "AUTO")).toEqual(v6);
    expect(selectAddresses(v4, [], "AUTO")).toEqual(v4);
    expect(selectAddresses(v4, v6, "V4_PREFERRED")).toEqual(v4);
    expect(selectAddresses([], v6, "V4_PREFERRED")).toEqual(v6);
    expect(selectAddresses(v4, v6, "V4_ONLY")).toEqual(v4);
    expect(selectAddresses(v4, v6, "V6_ONLY")).toEqual(v6);
    expect(selectAddresses(v4, v6, "ALL")).toEqual([...v4, ...v6]);
  });

  it("resolves names from the hosts file with the system resolver", async () => {
    expect(await systemDnsLookup("localhost", "V4_ONLY")).toContainEqual(a("127.0.0.1"));
    await expect(systemDnsLookup("no-such-host.invalid", "V4_ONLY")).rejects.toThrow();
  });
});
