// One Service per hostname and namespace, as Istio's PushContext keeps them
// (push_context.go initServiceRegistry, sidecar.go appendSidecarServices): converted services
// in creation order collapse here before the snapshot indexes them.
import type { Service } from "./service.ts";

function sameLabels(
  a: Readonly<Record<string, string>> | undefined,
  b: Readonly<Record<string, string>> | undefined,
): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b ?? {}).length && ak.every((k) => a?.[k] === b?.[k]);
}

/** Istio's canMergeServices: two ServiceEntries for one host and namespace that agree on all but ports. */
function canMerge(a: Service, b: Service): boolean {
  return (
    a.kind === b.kind &&
    a.resolution === b.resolution &&
    a.location === b.location &&
    sameLabels(a.labels, b.labels) &&
    sameLabels(a.selector, b.selector) &&
    a.exportTo.length === b.exportTo.length &&
    a.exportTo.every((e) => b.exportTo.includes(e))
  );
}

/**
 * Collapses services sharing hostname and namespace: a Kubernetes Service wins over
 * ServiceEntries ("no domain squatting"); otherwise the first (oldest) wins, and a later
 * ServiceEntry that agrees on everything else adds its new port numbers (and addresses) to it.
 * The result keeps creation order.
 */
export function collapseServices(services: readonly Service[]): Service[] {
  const byKey = new Map<string, number>();
  const out: Service[] = [];
  for (const service of services) {
    const key = `${service.hostname}\u0000${service.namespace}`;
    const index = byKey.get(key);
    if (index === undefined) {
      byKey.set(key, out.length);
      out.push(service);
      continue;
    }
    const existing = out[index]!;
    if (existing.kind !== "Service" && service.kind === "Service") {
      out[index] = service;
    } else if (existing.kind === "ServiceEntry" && canMerge(existing, service)) {
      const known = new Set(existing.ports.map((p) => p.port));
      out[index] = {
        ...existing,
        ports: [...existing.ports, ...service.ports.filter((p) => !known.has(p.port))],
        addresses: [...new Set([...existing.addresses, ...service.addresses])],
      };
    }
  }
  return out;
}
