// One property suite run against every registered load balancer, with explicit skip reasons.
import { describe, expect, it } from "vitest";
import type { LbConfig } from "./config.ts";
import type { Host, HostSet } from "./host-set.ts";
import {
  createLoadBalancer,
  LB_POLICIES,
  type LbPolicy,
  type LoadBalancer,
} from "./load-balancer.ts";
import { seededRandomSource } from "./random-source.ts";
import { makeHosts, seededHashes, tally, tolerance } from "./testing.ts";

type Property =
  | "weights"
  | "even spread"
  | "localities"
  | "degraded"
  | "exclusion"
  | "hash consistency"
  | "hash disruption";

/**
 * exact: deterministic, every share within one pick; statistical: within `tolerance` (5.5σ, so
 * a correct implementation fails < 1e-6 of the time) plus `slack(p)`, the granularity of the
 * algorithm's table. Seeded randomness makes every run pick the same hosts.
 */
type Mode = "exact" | "statistical";

interface AlgorithmCase {
  readonly policy: LbPolicy;
  readonly config: LbConfig;
  /** Picks are keyed by the request hash (the others ignore it). */
  readonly hashed: boolean;
  readonly exact: readonly Property[];
  readonly slack: (p: number) => number;
  readonly skip: Partial<Record<Property, string>>;
}

const NOT_HASHED = "not hash-based: picks ignore the request hash";
const HASH_ONLY = { "hash consistency": NOT_HASHED, "hash disruption": NOT_HASHED };
const HEALTHY_TABLES =
  "Envoy's hashing balancers build tables from healthy hosts only; degraded ones serve only in panic (ring-hash.test.ts)";
const RING_SIZE = 16384;

const CASES: readonly AlgorithmCase[] = [
  {
    policy: "ROUND_ROBIN",
    config: {},
    hashed: false,
    exact: ["weights", "even spread", "localities", "exclusion"],
    slack: () => 0,
    skip: HASH_ONLY,
  },
  {
    // Unequal weights use the EDF schedule (deterministic); equal ones two random choices.
    policy: "LEAST_REQUEST",
    config: {},
    hashed: false,
    exact: ["weights", "localities"],
    slack: () => 0,
    skip: HASH_ONLY,
  },
  {
    policy: "RANDOM",
    config: {},
    hashed: false,
    exact: ["localities"],
    slack: () => 0,
    skip: { ...HASH_ONLY, weights: "Envoy's RANDOM ignores endpoint weights (random_lb.cc)" },
  },
  {
    // Envoy's default 1,024 entries leave ±10% per-host noise with 10 hosts; a finer ring lets
    // the bands be tight. ring-hash.test.ts covers the default sizing.
    policy: "RING_HASH",
    config: { ringHash: { minimumRingSize: RING_SIZE } },
    hashed: true,
    exact: [],
    slack: (p) => 5.5 * Math.sqrt((p * (1 - p)) / RING_SIZE),
    skip: { degraded: HEALTHY_TABLES },
  },
  {
    policy: "MAGLEV",
    config: {},
    hashed: true,
    exact: [],
    slack: () => 4 / 65537,
    skip: { degraded: HEALTHY_TABLES },
  },
];

const PICKS = 100_000;

function build(c: AlgorithmCase, hostSet: HostSet, extra: LbConfig = {}, seed = 1): LoadBalancer {
  const lb = createLoadBalancer(c.policy, {
    ...c.config,
    ...extra,
    randomSource: seededRandomSource(seed),
  });
  lb.update(hostSet);
  return lb;
}

/** Picks, keyed by seeded hashes for the hashing balancers so their hash path is measured. */
function picks(c: AlgorithmCase, lb: LoadBalancer, n: number, seed = 7) {
  if (!c.hashed) return tally(lb, n);
  const hashes = seededHashes(n, seed);
  return tally(lb, n, (i) => ({ hash: hashes[i]! }));
}

function expectShares(
  c: AlgorithmCase,
  mode: Mode,
  counts: ReadonlyMap<Host | undefined, number>,
  groups: readonly (readonly [hosts: readonly Host[], share: number])[],
): void {
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  for (const [hosts, share] of groups) {
    const count = hosts.reduce((sum, host) => sum + (counts.get(host) ?? 0), 0);
    const band = mode === "exact" ? 1 : (tolerance(share, n) + c.slack(share)) * n;
    expect(Math.abs(count - share * n), `${hosts[0]!.address}…`).toBeLessThanOrEqual(band);
  }
}

it("covers every registered policy", () => {
  expect(CASES.map((c) => c.policy).sort()).toEqual([...LB_POLICIES].sort());
});

describe.each(CASES)("$policy", (c) => {
  const mode = (name: Property): Mode => (c.exact.includes(name) ? "exact" : "statistical");
  const property = (name: Property, body: () => void) => {
    const reason = c.skip[name];
    if (reason) it.skip(`${name} — skipped: ${reason}`, body);
    else it(name, body);
  };

  it("returns undefined before any update and for an empty host set", () => {
    const lb = createLoadBalancer(c.policy, c.config);
    expect(lb.pick()).toBeUndefined();
    lb.update({ hosts: [] });
    expect(lb.pick({ hash: 42n })).toBeUndefined();
  });

  it("picks only healthy, non-ejected hosts while enough are healthy", () => {
    const health = ["UNHEALTHY", "DEGRADED", "HEALTHY", "UNKNOWN", "DRAINING"] as const;
    const hosts = makeHosts(16, (i) => ({ health: health[i] ?? "HEALTHY", ejected: i === 5 }));
    const counts = picks(c, build(c, { hosts }), 10_000);
    expect(new Set(counts.keys())).toEqual(new Set([hosts[2], hosts[3], ...hosts.slice(6)]));
  });

  property("weights", () => {
    const hosts = makeHosts(4, (i) => ({ weight: i + 1 }));
    const counts = picks(c, build(c, { hosts }), PICKS);
    expectShares(
      c,
      mode("weights"),
      counts,
      hosts.map((host) => [[host], host.weight / 10] as const),
    );
  });

  property("even spread", () => {
    const hosts = makeHosts(10);
    const counts = picks(c, build(c, { hosts }), PICKS);
    expectShares(
      c,
      mode("even spread"),
      counts,
      hosts.map((host) => [[host], 0.1] as const),
    );
  });

  property("localities", () => {
    const hosts = makeHosts(4, (i) => ({ locality: { zone: i < 2 ? "a" : "b" } }));
    const localityWeights = [
      { priority: 0, locality: { zone: "a" }, weight: 1 },
      { priority: 0, locality: { zone: "b" }, weight: 3 },
    ];
    const lb = build(c, { hosts, localityWeights }, { localityWeighted: true });
    const counts = picks(c, lb, PICKS);
    expectShares(c, mode("localities"), counts, [
      [hosts.slice(0, 2), 0.25],
      [hosts.slice(2), 0.75],
    ]);
  });

  it("spills over to the next priority: P0 half healthy → 70% P0, 30% P1", () => {
    const hosts = makeHosts(20, (i) => ({
      priority: i < 10 ? 0 : 1,
      health: i < 5 ? "UNHEALTHY" : "HEALTHY",
    }));
    const counts = picks(c, build(c, { hosts }), PICKS);
    expectShares(c, "statistical", counts, [
      [hosts.slice(5, 10), 0.7],
      [hosts.slice(10), 0.3],
    ]);
  });

  property("degraded", () => {
    // Healthy 2/10 → 28% of the load; degraded 8/10 → min(100, 112) takes the other 72%.
    const hosts = makeHosts(10, (i) => ({ health: i < 2 ? "HEALTHY" : "DEGRADED" }));
    const counts = picks(c, build(c, { hosts }), PICKS);
    expectShares(c, "statistical", counts, [
      [hosts.slice(0, 2), 0.28],
      [hosts.slice(2), 0.72],
    ]);
  });

  it("takes updates into effect: new membership, ejections", () => {
    const [before, after] = [makeHosts(3), makeHosts(6).slice(3)];
    const lb = build(c, { hosts: before });
    lb.update({ hosts: after });
    expect(new Set(picks(c, lb, 1_000).keys())).toEqual(new Set(after));
    after[0]!.ejected = true;
    lb.update({ hosts: after });
    expect(new Set(picks(c, lb, 1_000).keys())).toEqual(new Set(after.slice(1)));
  });

  it("in panic (healthy < 50%), picks among all hosts", () => {
    const hosts = makeHosts(4, (i) => ({ health: i === 0 ? "HEALTHY" : "UNHEALTHY" }));
    const counts = picks(c, build(c, { hosts }), 10_000);
    for (const host of hosts) expect(counts.get(host)).toBeGreaterThan(1_500);
  });

  it("with healthy_panic_threshold 0 (Istio's default), never panics", () => {
    const hosts = makeHosts(4, (i) => ({ health: i === 0 ? "HEALTHY" : "UNHEALTHY" }));
    const counts = picks(c, build(c, { hosts }, { healthyPanicThreshold: 0 }), 1_000);
    expect([...counts]).toEqual([[hosts[0], 1_000]]);
    const down = makeHosts(4, () => ({ health: "UNHEALTHY" }));
    const none = picks(c, build(c, { hosts: down }, { healthyPanicThreshold: 0 }), 100);
    expect(none).toEqual(new Map([[undefined, 100]]));
    expect(picks(c, build(c, { hosts: down }), 100).has(undefined)).toBe(false);
  });

  property("exclusion", () => {
    const hosts = makeHosts(4);
    const lb = build(c, { hosts });
    const excluded = new Set([hosts[0]!]);
    const hashes = seededHashes(10_000, 3);
    const context = (i: number) => ({
      hash: c.hashed ? hashes[i] : undefined,
      excluded,
      hostSelectionRetryMaxAttempts: 5,
    });
    const hits = tally(lb, 10_000, context).get(hosts[0]) ?? 0;
    // Exact: a rotation never repeats a host. Else each of the 6 attempts hits it with p ≈ 1/4.
    const p = 0.25 ** 6;
    const bound = mode("exclusion") === "exact" ? 0 : (p + tolerance(p, 10_000)) * 10_000;
    expect(hits).toBeLessThanOrEqual(bound);
    // With every host excluded, the last pick is used anyway.
    expect(
      lb.pick({ hash: 1n, excluded: new Set(hosts), hostSelectionRetryMaxAttempts: 3 }),
    ).toBeDefined();
  });

  property("hash consistency", () => {
    const hosts = makeHosts(10);
    const a = build(c, { hosts }, {}, 1);
    const b = build(c, { hosts: [...hosts].reverse() }, {}, 2); // another proxy, another EDS order
    for (const hash of seededHashes(1_000, 5)) {
      const host = a.pick({ hash });
      expect(a.pick({ hash })).toBe(host);
      expect(b.pick({ hash })).toBe(host);
    }
  });

  property("hash disruption", () => {
    const n = 10;
    const hosts = makeHosts(n);
    const lb = build(c, { hosts });
    const hashes = seededHashes(40_000, 9);
    const before = hashes.map((hash) => lb.pick({ hash }));
    lb.update({ hosts: hosts.filter((_, i) => i !== 3) });
    const kept = hashes.filter((hash, i) => lb.pick({ hash }) === before[i]).length;
    expect(kept / hashes.length).toBeGreaterThanOrEqual(1 - 2 / n);
  });

  it("counts active requests on the host", () => {
    const [host] = makeHosts(1) as [Host];
    const lb = build(c, { hosts: [host] });
    lb.onRequestStart(host);
    lb.onRequestStart(host);
    lb.onRequestEnd(host);
    expect(host.stats.activeRequests).toBe(1);
    lb.onRequestEnd(host);
    lb.onRequestEnd(host);
    expect(host.stats.activeRequests).toBe(0);
  });
});
