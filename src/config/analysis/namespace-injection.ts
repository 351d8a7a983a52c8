// A namespace with workloads but no injection label runs them without sidecars (IST0102,
// info). Only Namespace objects in the input are checked (the labels of other namespaces are
// unknown); `istio-injection` with any value, `istio.io/rev` and ambient's
// `istio.io/dataplane-mode` count as a deliberate choice. System namespaces are skipped.
import type { Analyzer } from "./analyzer.ts";

const SYSTEM_NAMESPACES = new Set([
  "kube-system",
  "kube-public",
  "kube-node-lease",
  "istio-system",
]);
const ENROLMENT_LABELS = ["istio-injection", "istio.io/rev", "istio.io/dataplane-mode"];

export const namespaceInjection: Analyzer = {
  name: "namespace.injection",
  codes: ["IST0102"],
  run(ctx) {
    const withPods = new Set(ctx.workloads.filter((w) => w.injectable).map((w) => w.namespace));
    for (const ns of ctx.ofKind("Namespace")) {
      if (SYSTEM_NAMESPACES.has(ns.name) || ns.name === ctx.rootNamespace) continue;
      if (!withPods.has(ns.name) || ENROLMENT_LABELS.some((l) => l in ns.labels)) continue;
      ctx.report(
        ns,
        ["metadata", "name"],
        "IST0102",
        "info",
        `namespace ${ns.name} has workloads but no injection label, so its pods run without Istio sidecars; run 'kubectl label namespace ${ns.name} istio-injection=enabled' (or set istio.io/rev), or label it istio-injection=disabled to mark it as deliberately outside the mesh`,
      );
    }
  },
};
