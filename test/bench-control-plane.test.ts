// Smoke test of the control-plane benchmark: a control-plane process and simulated proxies
// produce every figure (their values are the benchmark's business, not a test's).
import { describe, expect, it } from "vitest";
import { benchControlPlane } from "../bench/control-plane.ts";

describe("control-plane benchmark", () => {
  it("measures the first push, memory, both changes and bytes with and without a Sidecar", async () => {
    const result = await benchControlPlane({
      services: 5,
      endpoints: 2,
      scenarios: [{ proxies: 3, rounds: 1 }],
      timeoutMs: 30_000,
    });
    const [scenario] = result.scenarios;
    expect(scenario!.proxies).toBe(3);
    for (const value of [
      scenario!.baselineTranslateMs,
      scenario!.firstPushMs,
      scenario!.rssMb,
      scenario!.peakRssMb,
      scenario!.heapUsedMb,
      scenario!.endpointChange.p99Ms.median,
      scenario!.virtualServiceChange.p99Ms.median,
    ])
      expect(value).toBeGreaterThan(0);
    const { withoutSidecar, withSidecar } = result.bytesPerProxy;
    for (const type of ["CDS", "EDS", "LDS", "RDS"])
      expect(withoutSidecar.byType[type]).toBeGreaterThan(0);
    // Five services against the Sidecar's two: fewer clusters, whatever their encoding.
    expect(withSidecar.byType.CDS).toBeLessThan(withoutSidecar.byType.CDS!);
  }, 60_000);
});
