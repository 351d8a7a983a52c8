// MAGLEV specifics: Envoy's own table expectations, fairness, retries, table size.
import { describe, expect, it } from "vitest";
import { isCremaError } from "../../../base/errors.ts";
import { createHost, groupHosts, type Host } from "./host-set.ts";
import { createLoadBalancer } from "./load-balancer.ts";
import { normalizeHostWeights } from "./locality.ts";
import { MaglevTable } from "./maglev.ts";
import { makeHosts, seededHashes } from "./testing.ts";

const envoyHosts = (hashKeys = false) =>
  [90, 91, 92, 93, 94, 95].map((port) =>
    createHost({
      address: "127.0.0.1",
      port,
      metadata: hashKeys ? { "envoy.lb": { hash_key: String(port) } } : {},
    }),
  );

function tableOf(hosts: Host[], size = 65537): MaglevTable {
  const [level] = groupHosts({ hosts });
  return new MaglevTable(normalizeHostWeights(level!, false, false), size, false);
}

const slotsOf = (table: MaglevTable, hosts: Host[]) =>
  hosts.map((host) => table.counts[table.hosts.indexOf(host)]!);

describe("maglev", () => {
  // Envoy's own expectations: test/extensions/load_balancing_policies/maglev/maglev_lb_test.cc
  // (Basic, BasicWithMetadataHashKey).
  it.each([
    [false, [2, 4, 0, 1, 5, 0, 3]],
    [true, [2, 5, 0, 3, 4, 1, 0]],
  ])("fills Envoy's 7-slot table (metadata hash keys: %s)", (hashKeys, expected) => {
    const hosts = envoyHosts(hashKeys);
    const lb = createLoadBalancer("MAGLEV", { maglev: { tableSize: 7 } });
    lb.update({ hosts });
    for (let i = 0; i < 21; i++) expect(lb.pick({ hash: BigInt(i) })).toBe(hosts[expected[i % 7]!]);
  });

  it("uses a 65,537-slot table by default and shares it to within one slot per host", () => {
    const hosts = makeHosts(10);
    const table = tableOf(hosts);
    expect(table.slots).toHaveLength(65537);
    const counts = slotsOf(table, hosts);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(counts.reduce((a, b) => a + b)).toBe(65537);
  });

  it("gives weighted hosts slots in proportion to their weight", () => {
    const hosts = makeHosts(4, (i) => ({ weight: i + 1 }));
    slotsOf(tableOf(hosts), hosts).forEach((count, i) => {
      expect(Math.abs(count - (65537 * (i + 1)) / 10)).toBeLessThanOrEqual(4);
    });
  });

  it("on host-selection retries, XORs the hash with 2^64 − attempt (Envoy)", () => {
    const hosts = envoyHosts();
    const lb = createLoadBalancer("MAGLEV", { maglev: { tableSize: 7 } });
    lb.update({ hosts });
    for (const hash of seededHashes(50, 3)) {
      for (const attempt of [1, 2, 5]) {
        const mutated = hash ^ (2n ** 64n - BigInt(attempt));
        expect(lb.pick({ hash, attempt })).toBe(lb.pick({ hash: mutated }));
      }
    }
  });

  it("fills the same table whatever order EDS lists the hosts in", () => {
    const hosts = makeHosts(20);
    const a = tableOf(hosts, 251);
    const b = tableOf([...hosts].reverse(), 251);
    expect(Array.from(a.slots, (i) => a.hosts[i])).toEqual(Array.from(b.slots, (i) => b.hosts[i]));
  });

  it("rejects a table size that is not prime", () => {
    let error: unknown;
    try {
      createLoadBalancer("MAGLEV", { maglev: { tableSize: 65536 } });
    } catch (caught) {
      error = caught;
    }
    expect(isCremaError(error) && error.code).toBe("CREMA_XDS_INVALID_RESOURCE");
    expect(String(error)).toContain("maglev_lb_config.table_size must be a prime");
  });
});
