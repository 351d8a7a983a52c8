// Each DestinationRule subset must select some endpoint of its host (IST0173): its labels,
// together with the Service's selector, must match a workload in the Service's namespace.
// Checked only for hosts that are Kubernetes Services whose selector matches workloads in the
// input — elsewhere the endpoints are unknown.
import { objects } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";
import { formatSelector, isEmpty, selectorMatches, stringMap } from "./labels.ts";
import type { Workload } from "./mesh-index.ts";

export const destinationRuleSubsets: Analyzer = {
  name: "destinationrule.subsets",
  codes: ["IST0173"],
  run(ctx) {
    for (const rule of ctx.ofKind("DestinationRule")) {
      const host = rule.spec.host;
      if (typeof host !== "string" || host.startsWith("*")) continue;
      const endpoints: Workload[] = [];
      for (const service of ctx.servicesForHost(host, rule.namespace)) {
        if (!service.kubernetes || isEmpty(service.selector)) continue;
        endpoints.push(...ctx.workloadsSelectedBy(service.selector, service.namespace));
      }
      if (endpoints.length === 0) continue;
      const fqdn = ctx.resolveHost(host, rule.namespace);
      for (const [subset, i] of objects(rule.spec.subsets)) {
        const labels = stringMap(subset.labels);
        if (isEmpty(labels) || endpoints.some((w) => selectorMatches(labels, w.labels))) continue;
        const seen = new Set<string>();
        for (const w of endpoints) {
          const present = Object.fromEntries(
            Object.keys(labels).flatMap((k) =>
              w.labels[k] === undefined ? [] : [[k, w.labels[k]!]],
            ),
          );
          if (!isEmpty(present)) seen.add(formatSelector(present));
        }
        const found = seen.size > 0 ? ` (its pods have ${[...seen].sort().join("; ")})` : "";
        ctx.report(
          rule,
          ["spec", "subsets", i, "labels"],
          "IST0173",
          "error",
          `subset ${JSON.stringify(subset.name)} selects no pod of ${fqdn}: no workload behind the Service has labels ${formatSelector(labels)}${found}, so requests routed to this subset fail with 503 UH (no healthy upstream); fix the subset labels or deploy the pods it should select`,
        );
      }
    }
  },
};
