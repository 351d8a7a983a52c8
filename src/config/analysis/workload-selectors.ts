// Policies that target workloads by label must match some workload (IST0127, a warning):
// AuthorizationPolicy, PeerAuthentication, RequestAuthentication, Telemetry and WasmPlugin
// (selector.matchLabels) and EnvoyFilter (workloadSelector.labels). A policy in the root
// namespace may select workloads anywhere. Checked only where the input has workloads; policies
// using targetRef(s) instead of a selector are skipped.
import type { FieldPath } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";
import { isObj } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";
import { formatSelector, isEmpty, stringMap } from "./labels.ts";

const SELECTOR_PATHS: Record<string, FieldPath> = {
  AuthorizationPolicy: ["spec", "selector", "matchLabels"],
  PeerAuthentication: ["spec", "selector", "matchLabels"],
  RequestAuthentication: ["spec", "selector", "matchLabels"],
  Telemetry: ["spec", "selector", "matchLabels"],
  WasmPlugin: ["spec", "selector", "matchLabels"],
  EnvoyFilter: ["spec", "workloadSelector", "labels"],
};

export const workloadSelectors: Analyzer = {
  name: "policy.workload-selectors",
  codes: ["IST0127"],
  run(ctx) {
    for (const [kind, path] of Object.entries(SELECTOR_PATHS)) {
      for (const policy of ctx.ofKind(kind)) {
        if (policy.spec.targetRef !== undefined || policy.spec.targetRefs !== undefined) continue;
        const selector = stringMap(valueAt(policy, path));
        if (isEmpty(selector)) continue;
        const scope = policy.namespace === ctx.rootNamespace ? undefined : policy.namespace;
        if (!ctx.hasWorkloads(scope)) continue;
        if (ctx.workloadsSelectedBy(selector, scope).length > 0) continue;
        const where = scope === undefined ? "in any namespace" : `in namespace ${scope}`;
        ctx.report(
          policy,
          path,
          "IST0127",
          "warning",
          `selector ${formatSelector(selector)} matches no workload ${where}, so this ${kind} applies to nothing; fix the labels to match the pods it is meant for (a selector only sees workloads in the ${kind}'s own namespace, except in the root namespace ${ctx.rootNamespace})`,
        );
      }
    }
  },
};

function valueAt(resource: Resource, path: FieldPath): unknown {
  let value: unknown = resource.body;
  for (const segment of path) value = isObj(value) ? value[String(segment)] : undefined;
  return value;
}
