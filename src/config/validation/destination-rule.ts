// Semantic validation of DestinationRule (Istio's validating-webhook rules,
// ValidateDestinationRule): host, traffic policy, subsets, exportTo and workload selector.
import type { FieldPath } from "../diagnostic.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkLabels, checkWorkloadSelector, isObj, objects } from "./rules.ts";
import { checkTrafficPolicy } from "./traffic-policy.ts";
import { checkNetworkingExportTo } from "./virtual-service-common.ts";
import { subsetNameProblem } from "./virtual-service-destinations.ts";
import { wildcardDomainProblem } from "./virtual-service-hosts.ts";

const SPEC: FieldPath = ["spec"];

export const validateDestinationRule: KindValidator = (spec, ctx) => {
  if (typeof spec.host === "string") {
    const problem = wildcardDomainProblem(spec.host);
    if (problem) {
      ctx.error(
        [...SPEC, "host"],
        "CREMA_VALIDATION_HOST",
        `invalid host ${JSON.stringify(spec.host)}: ${problem}`,
      );
    }
  }
  checkTrafficPolicy(ctx, [...SPEC, "trafficPolicy"], spec.trafficPolicy);
  checkSubsets(ctx, [...SPEC, "subsets"], spec.subsets);
  checkNetworkingExportTo(ctx, [...SPEC, "exportTo"], spec.exportTo);
  checkSelector(ctx, spec);
};

function checkSubsets(ctx: ValidationContext, path: FieldPath, subsets: unknown): void {
  const seen = new Set<string>();
  for (const [subset, i] of objects(subsets)) {
    const at = [...path, i];
    if (typeof subset.name === "string") {
      if (seen.has(subset.name)) {
        ctx.error(
          [...at, "name"],
          "CREMA_VALIDATION_DUPLICATE",
          `subset ${JSON.stringify(subset.name)} is defined twice; subset names must be unique`,
        );
      }
      seen.add(subset.name);
      const problem = subsetNameProblem(subset.name);
      if (problem) ctx.error([...at, "name"], "CREMA_VALIDATION_NAME", problem);
    }
    checkLabels(ctx, [...at, "labels"], subset.labels);
    checkTrafficPolicy(ctx, [...at, "trafficPolicy"], subset.trafficPolicy);
  }
}

/**
 * A DestinationRule with a workloadSelector applies to the selected workloads in its own
 * namespace only, so it may not be exported further.
 */
function checkSelector(ctx: ValidationContext, spec: Record<string, unknown>): void {
  const selector = spec.workloadSelector;
  if (!isObj(selector)) return;
  const path = [...SPEC, "workloadSelector"];
  const labels = selector.matchLabels;
  if (!isObj(labels) || Object.keys(labels).length === 0) {
    ctx.warn(
      path,
      "CREMA_VALIDATION_LABELS",
      "the workloadSelector has no matchLabels, so the rule applies to every workload in the namespace",
    );
  } else {
    checkWorkloadSelector(ctx, path, selector);
  }
  if (!Array.isArray(spec.exportTo) || spec.exportTo.length === 0) return;
  const namespace = ctx.resource.namespace;
  const targets = new Set(spec.exportTo.map((e) => (e === "." ? namespace : e)));
  if (!targets.has(namespace) || targets.size > 1) {
    ctx.error(
      [...SPEC, "exportTo"],
      "CREMA_VALIDATION_INVALID",
      `a DestinationRule with a workloadSelector can only be exported to its own namespace; use exportTo: ["."]`,
    );
  }
}
