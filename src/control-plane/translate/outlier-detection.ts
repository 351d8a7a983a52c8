// DestinationRule `outlierDetection` → Envoy outlier_detection, as istiod's applyOutlierDetection
// (cluster_traffic_policy.go). Istio writes only the fields the user set and leaves the rest to
// Envoy's defaults (consecutive_5xx 5 enforced at 100 %, interval 10s, base_ejection_time 30s,
// max_ejection_percent 10); success-rate ejection is always switched off, and the panic threshold is
// set to minHealthPercent (0 — no panic mode — when unset) whenever the block is present.
import type { JsonObject } from "../../xds/proto-json.ts";
import { childObject } from "./cluster-draft.ts";
import { numberAt, protoDuration } from "./cluster-traffic-policy.ts";
import type { Obj } from "./destination-rules.ts";

/** Sets healthy_panic_threshold (a Percent) on the cluster's common_lb_config. */
export function setHealthyPanicThreshold(cluster: JsonObject, percent: number): void {
  childObject(cluster, "common_lb_config").healthy_panic_threshold = { value: percent };
}

/** The Envoy OutlierDetection for an Istio one. */
export function outlierDetectionJson(outlier: Obj): JsonObject {
  const out: JsonObject = { enforcing_success_rate: 0 };
  // consecutive5xxErrors / consecutiveGatewayErrors are wrappers: present-but-0 disables.
  const consecutive5xx = numberAt(outlier, "consecutive5xxErrors");
  if (consecutive5xx !== undefined) {
    out.consecutive_5xx = consecutive5xx;
    out.enforcing_consecutive_5xx = consecutive5xx > 0 ? 100 : 0;
  }
  const gateway = numberAt(outlier, "consecutiveGatewayErrors");
  if (gateway !== undefined) {
    out.consecutive_gateway_failure = gateway;
    out.enforcing_consecutive_gateway_failure = gateway > 0 ? 100 : 0;
  }
  const interval = protoDuration(outlier.interval);
  if (interval) out.interval = interval;
  const baseEjectionTime = protoDuration(outlier.baseEjectionTime);
  if (baseEjectionTime) out.base_ejection_time = baseEjectionTime;
  const maxEjectionPercent = numberAt(outlier, "maxEjectionPercent");
  if (maxEjectionPercent !== undefined && maxEjectionPercent > 0) {
    out.max_ejection_percent = maxEjectionPercent;
  }
  if (outlier.splitExternalLocalOriginErrors === true) {
    out.split_external_local_origin_errors = true;
    const localOrigin = numberAt(outlier, "consecutiveLocalOriginFailures");
    if (localOrigin !== undefined && localOrigin > 0) {
      out.consecutive_local_origin_failure = localOrigin;
      out.enforcing_consecutive_local_origin_failure = 100;
    }
    out.enforcing_local_origin_success_rate = 0;
  }
  return out;
}

/**
 * Applies `outlier` (absent: nothing). With `sendUnhealthyEndpoints` (Istio's
 * PILOT_SEND_UNHEALTHY_ENDPOINTS) the panic threshold is always 0.
 */
export function applyOutlierDetection(
  cluster: JsonObject,
  outlier: Obj | undefined,
  sendUnhealthyEndpoints = false,
): void {
  if (!outlier) return;
  cluster.outlier_detection = outlierDetectionJson(outlier);
  const minHealthPercent = numberAt(outlier, "minHealthPercent") ?? 0;
  if (minHealthPercent >= 0) {
    setHealthyPanicThreshold(cluster, sendUnhealthyEndpoints ? 0 : minHealthPercent);
  }
}
