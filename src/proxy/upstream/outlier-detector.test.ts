// Outlier detection on a manual clock: consecutive errors, enforcement, max ejection %, ejection timing.
import { describe, expect, it } from "vitest";
import { manualClock } from "../../base/clock.ts";
import { DEFAULT_OUTLIER_DETECTION, type OutlierDetectionConfig } from "./cluster-config.ts";
import { createHost, type Host } from "./lb/host-set.ts";
import type { RandomSource } from "./lb/random-source.ts";
import { OutlierDetector, type OutlierEvent, type OutlierResult } from "./outlier-detector.ts";

function hosts(n: number): Host[] {
  return Array.from({ length: n }, (_, i) => createHost({ address: `10.0.0.${i + 1}`, port: 80 }));
}

function setup(config: Partial<OutlierDetectionConfig> = {}, count = 1, random?: RandomSource) {
  const clock = manualClock();
  const detector = new OutlierDetector(
    { ...DEFAULT_OUTLIER_DETECTION, maxEjectionPercent: 100, ...config },
    { clock, ...(random ? { random } : {}) },
  );
  const all = hosts(count);
  detector.setHosts(all);
  const events: string[] = [];
  detector.subscribe((e: OutlierEvent) =>
    events.push(
      `${clock.now()} ${e.type} ${e.host.address}${e.type === "ejected" ? ` ${e.reason} ${e.ejectionTimeMs}` : ""}`,
    ),
  );
  const send = (host: Host, result: OutlierResult, times = 1) => {
    for (let i = 0; i < times; i++) detector.onResult(host, result);
  };
  return { clock, detector, hosts: all, events, send };
}

describe("OutlierDetector", () => {
  it("ejects on the 5th consecutive 5xx and readmits on the first interval tick after base time", () => {
    const {
      clock,
      detector,
      hosts: [h],
      events,
      send,
    } = setup();
    clock.advance(1000);
    send(h!, { status: 500 }, 4);
    send(h!, { status: 200 });
    send(h!, { status: 503 }, 4);
    expect(h!.ejected).toBe(false);
    send(h!, { status: 500 });
    expect(h!.ejected).toBe(true);
    expect(detector.ejectedHosts).toBe(1);
    clock.advance(29_000); // t=30s: the tick sees 29 s of ejection
    expect(h!.ejected).toBe(true);
    clock.advance(10_000); // t=40s tick
    expect(h!.ejected).toBe(false);
    expect(events).toEqual([
      "1000 ejected 10.0.0.1 consecutive_5xx 30000",
      "40000 unejected 10.0.0.1",
    ]);
    detector.stop();
    expect(clock.pendingTimers()).toBe(0);
  });

  it("multiplies the ejection time by the ejection count, caps it, and decays it while healthy", () => {
    const {
      clock,
      send,
      hosts: [h],
      events,
    } = setup({
      intervalMs: 1000,
      baseEjectionTimeMs: 2000,
      maxEjectionTimeMs: 5000,
    });
    const ejectNow = () => send(h!, { status: 500 }, 5);
    ejectNow(); // t=0, 2 s
    clock.advance(2000);
    ejectNow(); // t=2000, 4 s
    clock.advance(4000);
    ejectNow(); // t=6000, capped at 5 s
    clock.advance(5000);
    expect(
      events.filter((e) => e.includes("ejected 10")).map((e) => e.split(" ").slice(0, 2).join(" ")),
    ).toEqual([
      "0 ejected",
      "2000 unejected",
      "2000 ejected",
      "6000 unejected",
      "6000 ejected",
      "11000 unejected",
    ]);
    expect(events[4]).toMatch(/ 5000$/);
    clock.advance(2000); // two healthy intervals: multiplier 3 → 1
    ejectNow();
    expect(events.at(-1)).toBe("13000 ejected 10.0.0.1 consecutive_5xx 4000");
  });

  it("counts gateway failures separately, enforced at 0% by default", () => {
    const off = setup({ consecutive5xx: 0 });
    off.send(off.hosts[0]!, { status: 502 }, 10);
    expect(off.hosts[0]!.ejected).toBe(false);
    const on = setup({
      consecutive5xx: 0,
      consecutiveGatewayFailure: 3,
      enforcingConsecutiveGatewayFailure: 100,
    });
    const h = on.hosts[0]!;
    on.send(h, { status: 502 }, 2);
    on.send(h, { status: 500 }); // a non-gateway 5xx breaks the run
    on.send(h, { status: 504 }, 2);
    expect(h.ejected).toBe(false);
    on.send(h, { localOriginFailure: "timeout" }); // maps to 504
    expect(on.events).toEqual(["0 ejected 10.0.0.1 consecutive_gateway_failure 30000"]);
  });

  it("maps local-origin failures to 503/504 unless split, then counts them on their own", () => {
    const merged = setup();
    merged.send(merged.hosts[0]!, { localOriginFailure: "connect" }, 3);
    merged.send(merged.hosts[0]!, { localOriginSuccess: "connect" }); // ignored for HTTP
    merged.send(merged.hosts[0]!, { localOriginFailure: "reset" }, 2);
    expect(merged.hosts[0]!.ejected).toBe(true);

    const split = setup({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailure: 2 });
    const h = split.hosts[0]!;
    split.send(h, { localOriginFailure: "connect" });
    split.send(h, { localOriginSuccess: "connect" });
    split.send(h, { localOriginFailure: "connect" });
    split.send(h, { status: 500 }, 4);
    expect(h.ejected).toBe(false);
    split.send(h, { localOriginFailure: "timeout" });
    expect(split.events).toEqual(["0 ejected 10.0.0.1 consecutive_local_origin_failure 30000"]);
  });

  it("enforces a percentage of detections with the injected random source", () => {
    let next = 60;
    const random = { nextUint32: () => next };
    const {
      send,
      hosts: [h],
    } = setup({ enforcingConsecutive5xx: 50 }, 1, random);
    send(h!, { status: 500 }, 5); // 60 % 100 ≥ 50: detected, not enforced, counter reset
    send(h!, { status: 500 }, 4);
    expect(h!.ejected).toBe(false);
    next = 149; // 49 < 50
    send(h!, { status: 500 });
    expect(h!.ejected).toBe(true);
  });

  it("never ejects more than max_ejection_percent of the hosts", () => {
    const { send, hosts: all, detector } = setup({ maxEjectionPercent: 50 }, 4);
    for (const h of all) send(h, { status: 500 }, 5);
    expect(all.map((h) => h.ejected)).toEqual([true, true, false, false]);
    expect(detector.ejectedHosts).toBe(2);
  });

  it("ejects nothing below one host's share unless always_eject_one_host", () => {
    const strict = setup({ maxEjectionPercent: 10 }, 3);
    for (const h of strict.hosts) strict.send(h, { status: 500 }, 5);
    expect(strict.detector.ejectedHosts).toBe(0);
    const one = setup({ maxEjectionPercent: 10, alwaysEjectOneHost: true }, 3);
    for (const h of one.hosts) one.send(h, { status: 500 }, 5);
    expect(one.hosts.map((h) => h.ejected)).toEqual([true, false, false]);
  });

  it("follows hosts across updates by address and forgets removed ones", () => {
    const {
      send,
      hosts: [a, b],
      detector,
      clock,
      events,
    } = setup({}, 2);
    send(a!, { status: 500 }, 5);
    const replacement = createHost({ address: a!.address, port: 80, weight: 3 });
    detector.setHosts([replacement, b!]);
    expect(replacement.ejected).toBe(true);
    detector.setHosts([b!]);
    expect(detector.ejectedHosts).toBe(0);
    send(a!, { status: 500 }, 5); // no longer a member: ignored
    clock.advance(60_000);
    expect(events).toEqual(["0 ejected 10.0.0.1 consecutive_5xx 30000"]);
  });
});
