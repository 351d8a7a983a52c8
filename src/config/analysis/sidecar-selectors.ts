// Sidecar resources per namespace: at most one without a workloadSelector (IST0111); no two
// whose selectors match the same workload (IST0110); and a selector must match some workload
// in the namespace (IST0101, as Istio reports it) when the input has workloads there.
import type { Resource } from "../resource.ts";
import { isObj } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";
import { formatSelector, isEmpty, stringMap } from "./labels.ts";
import type { Workload } from "./mesh-index.ts";

export const sidecarSelectors: Analyzer = {
  name: "sidecar.selectors",
  codes: ["IST0101", "IST0110", "IST0111"],
  run(ctx) {
    const byNamespace = new Map<string, Resource[]>();
    for (const sidecar of ctx.ofKind("Sidecar")) {
      const list = byNamespace.get(sidecar.namespace) ?? [];
      list.push(sidecar);
      byNamespace.set(sidecar.namespace, list);
    }
    for (const [namespace, sidecars] of byNamespace) {
      const defaults = sidecars.filter((s) => isEmpty(selectorOf(s)));
      if (defaults.length > 1) {
        for (const sidecar of defaults) {
          const others = defaults.filter((o) => o !== sidecar).map((o) => o.name);
          ctx.report(
            sidecar,
            ["metadata", "name"],
            "IST0111",
            "error",
            `namespace ${namespace} has several Sidecars without a workloadSelector (this one and ${others.join(", ")}); only one can be the namespace default and which one applies is undefined — keep one and give the others a workloadSelector`,
          );
        }
      }
      const selecting = new Map<Workload, Resource[]>();
      for (const sidecar of sidecars) {
        const selector = selectorOf(sidecar);
        if (isEmpty(selector)) continue;
        const workloads = ctx.workloadsSelectedBy(selector, namespace);
        if (workloads.length === 0 && ctx.hasWorkloads(namespace)) {
          ctx.report(
            sidecar,
            ["spec", "workloadSelector", "labels"],
            "IST0101",
            "error",
            `workloadSelector ${formatSelector(selector)} matches no workload in namespace ${namespace}, so this Sidecar configures no proxy; fix the labels to match the pods it is meant for`,
          );
        }
        for (const w of workloads) selecting.set(w, [...(selecting.get(w) ?? []), sidecar]);
      }
      const conflicts = new Map<Resource, { others: Set<string>; workload: Workload }>();
      for (const [workload, list] of selecting) {
        if (list.length < 2) continue;
        for (const sidecar of list) {
          const entry = conflicts.get(sidecar) ?? { others: new Set<string>(), workload };
          for (const o of list) if (o !== sidecar) entry.others.add(o.name);
          conflicts.set(sidecar, entry);
        }
      }
      for (const [sidecar, { others, workload }] of conflicts) {
        ctx.report(
          sidecar,
          ["spec", "workloadSelector", "labels"],
          "IST0110",
          "error",
          `this Sidecar and ${[...others].join(", ")} both select ${workload.resource.kind} ${namespace}/${workload.name}; which one applies to it is undefined — make the workloadSelectors disjoint`,
        );
      }
    }
  },
};

function selectorOf(sidecar: Resource): Record<string, string> {
  const selector = sidecar.spec.workloadSelector;
  return isObj(selector) ? stringMap(selector.labels) : {};
}
