// Service visibility (`exportTo`) as Istio's PushContext indexes it, and the choice among
// services that share a hostname — what servicesVisibleFrom and serviceFor answer in the snapshot.
import type { Service } from "./service.ts";

/**
 * Normalises an exportTo list: trimmed, de-duplicated, "." replaced by the owner's namespace;
 * empty means the mesh default ["*"] (meshConfig.defaultServiceExportTo).
 */
export function normalizeExportTo(values: readonly string[], namespace: string): string[] {
  const out: string[] = [];
  for (const raw of values) {
    const value = raw.trim() === "." ? namespace : raw.trim();
    if (value && !out.includes(value)) out.push(value);
  }
  return out.length > 0 ? out : ["*"];
}

/**
 * Istio's rule (push_context.go initServiceRegistry): "*" makes a service public whatever else
 * is listed; otherwise "~" hides it from everyone; otherwise it is visible exactly in the
 * listed namespaces — not even in its own unless listed (or ".").
 */
export function isVisibleFrom(service: Pick<Service, "exportTo">, namespace: string): boolean {
  const exportTo = service.exportTo;
  if (exportTo.includes("*")) return true;
  if (exportTo.includes("~")) return false;
  return exportTo.includes(namespace);
}

/** True when the service reaches `namespace` only by being listed (not public). */
function exportedExplicitly(service: Service, namespace: string): boolean {
  return !service.exportTo.includes("*") && service.exportTo.includes(namespace);
}

/**
 * Picks one of the visible services sharing a hostname, as Istio's sidecar scope does
 * (sidecar.go selectServices): one in the client's namespace wins; otherwise the first —
 * services listed for the namespace before public ones, each by creation order — with a
 * Kubernetes Service preferred over ServiceEntries. `candidates` are in creation order.
 */
export function pickService(
  candidates: readonly Service[],
  namespace: string | undefined,
): Service | undefined {
  if (candidates.length <= 1) return candidates[0];
  if (namespace !== undefined) {
    const local = candidates.find((s) => s.namespace === namespace);
    if (local) return local;
  }
  const ordered =
    namespace === undefined
      ? candidates
      : [
          ...candidates.filter((s) => exportedExplicitly(s, namespace)),
          ...candidates.filter((s) => !exportedExplicitly(s, namespace)),
        ];
  return ordered.find((s) => s.kind === "Service") ?? ordered[0];
}
