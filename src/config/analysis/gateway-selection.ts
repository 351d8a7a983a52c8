// Which workloads a Gateway configures: its `selector` matched against workload labels in every
// namespace (Istio's default, PILOT_SCOPE_GATEWAY_TO_NAMESPACE off), and the ports they expose.
import type { Resource } from "../resource.ts";
import type { AnalysisContext } from "./analyzer.ts";
import { isEmpty, type Labels, selectorMatches, stringMap } from "./labels.ts";
import type { Workload } from "./mesh-index.ts";

export interface GatewaySelection {
  selector: Labels;
  workloads: Workload[];
}

export function gatewaySelection(ctx: AnalysisContext, gateway: Resource): GatewaySelection {
  const selector = stringMap(gateway.spec.selector);
  return { selector, workloads: isEmpty(selector) ? [] : ctx.workloadsSelectedBy(selector) };
}

/**
 * Ports a gateway workload can receive on: the port and numeric (or resolved named) targetPort
 * of every Kubernetes Service in its namespace that selects it, and its declared container ports.
 */
export function workloadPorts(ctx: AnalysisContext, workload: Workload): Set<number> {
  const ports = new Set(workload.ports.map((p) => p.number));
  for (const service of ctx.services) {
    if (!service.kubernetes || service.namespace !== workload.namespace) continue;
    if (isEmpty(service.selector) || !selectorMatches(service.selector, workload.labels)) continue;
    for (const port of service.ports) {
      if (port.protocol !== "TCP" && port.protocol !== "") continue;
      ports.add(port.number);
      if (typeof port.targetPort === "number") ports.add(port.targetPort);
      else if (typeof port.targetPort === "string") {
        const named = workload.ports.find((p) => p.name === port.targetPort);
        if (named) ports.add(named.number);
      }
    }
  }
  return ports;
}
