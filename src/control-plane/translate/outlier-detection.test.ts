import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { expectEncodable } from "./clusters-testing.ts";
import type { Obj } from "./destination-rules.ts";
import { applyOutlierDetection } from "./outlier-detection.ts";

function apply(outlier: Obj | undefined, sendUnhealthy = false): JsonObject {
  const cluster: JsonObject = { name: "c", type: "EDS", common_lb_config: {} };
  applyOutlierDetection(cluster, outlier, sendUnhealthy);
  expectEncodable([cluster]);
  return cluster;
}

describe("outlierDetection → outlier_detection", () => {
  it("adds nothing when the block is absent", () => {
    expect(apply(undefined)).toEqual({ name: "c", type: "EDS", common_lb_config: {} });
  });

  it("an empty block leaves Envoy's defaults, disables success-rate ejection and panic mode", () => {
    // Envoy's defaults then apply: 5 consecutive 5xx, interval 10s, base 30s, max 10 %.
    expect(apply({})).toEqual({
      name: "c",
      type: "EDS",
      common_lb_config: { healthy_panic_threshold: { value: 0 } },
      outlier_detection: { enforcing_success_rate: 0 },
    });
  });

  it("maps every field", () => {
    const cluster = apply({
      consecutive5xxErrors: 7,
      consecutiveGatewayErrors: 2,
      interval: "5s",
      baseEjectionTime: "1m",
      maxEjectionPercent: 50,
      minHealthPercent: 25,
    });
    expect(cluster.outlier_detection).toEqual({
      enforcing_success_rate: 0,
      consecutive_5xx: 7,
      enforcing_consecutive_5xx: 100,
      consecutive_gateway_failure: 2,
      enforcing_consecutive_gateway_failure: 100,
      interval: "5s",
      base_ejection_time: "60s",
      max_ejection_percent: 50,
    });
    expect(cluster.common_lb_config).toEqual({ healthy_panic_threshold: { value: 25 } });
  });

  it("0 consecutive errors disables that detector (enforcing 0)", () => {
    expect(
      apply({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 0 }).outlier_detection,
    ).toEqual({
      enforcing_success_rate: 0,
      consecutive_5xx: 0,
      enforcing_consecutive_5xx: 0,
      consecutive_gateway_failure: 0,
      enforcing_consecutive_gateway_failure: 0,
    });
  });

  it("splits local-origin errors when asked", () => {
    expect(
      apply({ splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 4 })
        .outlier_detection,
    ).toEqual({
      enforcing_success_rate: 0,
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: 4,
      enforcing_consecutive_local_origin_failure: 100,
      enforcing_local_origin_success_rate: 0,
    });
    expect(apply({ consecutiveLocalOriginFailures: 4 }).outlier_detection).toEqual({
      enforcing_success_rate: 0,
    });
  });

  it("keeps the panic threshold at 0 when unhealthy endpoints are sent", () => {
    expect(apply({ minHealthPercent: 30 }, true).common_lb_config).toEqual({
      healthy_panic_threshold: { value: 0 },
    });
  });
});
