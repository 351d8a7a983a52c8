// A Gateway must configure some workload: its selector must match a workload in the input
// (IST0101), and each server port must be one those workloads receive on — a port of a Service
// selecting them, its targetPort, or a container port (IST0104).
import { isObj, objects } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";
import { gatewaySelection, workloadPorts } from "./gateway-selection.ts";
import { formatSelector, isEmpty } from "./labels.ts";

export const gatewayWorkloads: Analyzer = {
  name: "gateway.workloads",
  codes: ["IST0101", "IST0104"],
  run(ctx) {
    // Without any workload in the input there is nothing to compare selectors with.
    if (!ctx.hasWorkloads()) return;
    for (const gateway of ctx.ofKind("Gateway")) {
      const { selector, workloads } = gatewaySelection(ctx, gateway);
      if (isEmpty(selector)) continue;
      if (workloads.length === 0) {
        ctx.report(
          gateway,
          ["spec", "selector"],
          "IST0101",
          "error",
          `selector ${formatSelector(selector)} matches no workload (Pod, Deployment or WorkloadEntry) in any namespace, so this Gateway configures no proxy; use the labels of the gateway deployment's pods (for the default ingress gateway, istio: ingressgateway)`,
        );
        continue;
      }
      const ports = new Set<number>();
      for (const workload of workloads) for (const p of workloadPorts(ctx, workload)) ports.add(p);
      if (ports.size === 0) continue;
      for (const [server, i] of objects(gateway.spec.servers)) {
        const number = isObj(server.port) ? server.port.number : undefined;
        if (typeof number !== "number" || ports.has(number)) continue;
        ctx.report(
          gateway,
          ["spec", "servers", i, "port", "number"],
          "IST0104",
          "warning",
          `port ${number} is not exposed by the workloads this Gateway selects (${formatSelector(selector)}), which receive on ${[...ports].sort((a, b) => a - b).join(", ")}; use one of those ports or add ${number} to the gateway's Service`,
        );
      }
    }
  },
};
