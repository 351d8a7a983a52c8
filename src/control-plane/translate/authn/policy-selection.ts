// Which security policies apply to a workload, as istiod's getConfigsForWorkload and
// WorkloadPolicyMatcher.ShouldAttachPolicy pick them: policies in the workload's namespace and in
// the root namespace, chosen by selector (sidecars, plain gateways) or by targetRef (Kubernetes
// Gateway API gateways), in creation order per namespace.
import type { Resource } from "../../../config/resource.ts";
import type { ConfigList } from "../../model/snapshot.ts";

/** Label Kubernetes Gateway API deployments carry; its value is the Gateway's name. */
export const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

const GATEWAY_API_GROUP = "gateway.networking.k8s.io";

export interface PolicyWorkload {
  namespace: string;
  labels: Readonly<Record<string, string>>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `selector` absent selects every workload; otherwise its matchLabels must be a subset. */
function isSelected(spec: Record<string, unknown>, labels: Readonly<Record<string, string>>) {
  const selector = spec.selector;
  if (!isRecord(selector)) return true;
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  return Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

/** targetRefs, or the legacy single targetRef. */
function targetRefsOf(spec: Record<string, unknown>): Record<string, unknown>[] {
  const refs = Array.isArray(spec.targetRefs) ? spec.targetRefs.filter(isRecord) : [];
  if (refs.length === 0 && isRecord(spec.targetRef)) return [spec.targetRef];
  return refs;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** Istio's ShouldAttachPolicy for a non-waypoint proxy. */
export function shouldAttachPolicy(policy: Resource, workload: PolicyWorkload): boolean {
  const gatewayName = workload.labels[GATEWAY_NAME_LABEL];
  const refs = targetRefsOf(policy.spec);
  if (gatewayName === undefined) {
    // A policy with a targetRef never applies to a workload chosen by labels.
    return refs.length === 0 && isSelected(policy.spec, workload.labels);
  }
  // Gateway API gateways fall back to the selector (ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY, on).
  if (refs.length === 0) return isSelected(policy.spec, workload.labels);
  return refs.some(
    (ref) =>
      policy.namespace === workload.namespace &&
      (str(ref.namespace) === "" || str(ref.namespace) === workload.namespace) &&
      str(ref.group) === GATEWAY_API_GROUP &&
      str(ref.kind) === "Gateway" &&
      str(ref.name) === gatewayName,
  );
}

/**
 * The policies of one kind that apply to `workload`: those of its namespace first, then those of
 * the root namespace (mesh-wide), each group in creation order.
 */
export function policiesForWorkload(
  policies: ConfigList,
  workload: PolicyWorkload,
  rootNamespace: string,
): Resource[] {
  const namespaces = [...new Set([workload.namespace, rootNamespace])];
  const out: Resource[] = [];
  for (const namespace of namespaces) {
    for (const policy of policies) {
      if (policy.namespace === namespace && shouldAttachPolicy(policy, workload)) out.push(policy);
    }
  }
  return out;
}
