// Whether a stream is traced, decided as Envoy does: the HCM's decision from x-client-trace-id
// (client_sampling), x-envoy-force-trace, then random_sampling, capped by overall_sampling; the
// tracer then follows a sampling decision that arrived with the parent context (traceparent's
// flag, B3's sampled state) and uses the HCM's decision only when none came.
import type { MutableHeaders } from "../routing/types.ts";
import { b3SamplingOnly, type ParentContext } from "./propagation.ts";
import type { TracingConfig } from "./types.ts";

export type SamplingReason = "client_forced" | "service_forced" | "sampling" | "not_traceable";

function enabled(percent: number, random: () => number): boolean {
  return percent > 0 && random() * 100 < percent;
}

/** The HCM's decision (Envoy's trace reason from the request id extension). */
export function hcmSamplingReason(
  config: Pick<
    TracingConfig,
    "clientSamplingPercent" | "randomSamplingPercent" | "overallSamplingPercent"
  >,
  headers: MutableHeaders,
  random: () => number,
): SamplingReason {
  let reason: SamplingReason = "not_traceable";
  if (headers["x-client-trace-id"] !== undefined && enabled(config.clientSamplingPercent, random))
    reason = "client_forced";
  else if (headers["x-envoy-force-trace"] !== undefined) reason = "service_forced";
  else if (enabled(config.randomSamplingPercent, random)) reason = "sampling";
  if (reason !== "not_traceable" && !enabled(config.overallSamplingPercent, random))
    reason = "not_traceable";
  return reason;
}

/** The tracer's decision: the parent's when it carried one, else the HCM's. */
export function decideSampled(
  parent: ParentContext | undefined,
  headers: MutableHeaders,
  reason: SamplingReason,
): boolean {
  if (parent?.sampled !== undefined) return parent.sampled;
  if (!parent) {
    const only = b3SamplingOnly(headers);
    if (only !== undefined) return only;
  }
  return reason !== "not_traceable";
}
