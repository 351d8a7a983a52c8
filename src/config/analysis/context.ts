// Builds the AnalysisContext: the mesh indexes (once per run), host resolution and lookup,
// workload selection, and `report`, which locates a finding via diagnosticAt and drops findings
// about resources outside the namespaces the caller asked about.
import type { Diagnostic } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";
import { diagnosticAt } from "../validate.ts";
import type { AnalysisContext } from "./analyzer.ts";
import { exportedTo, hostCovers, resolveHost } from "./hosts.ts";
import { selectorMatches } from "./labels.ts";
import { buildMeshIndex, type MeshService } from "./mesh-index.ts";

export interface ContextOptions {
  rootNamespace: string;
  /** Report only findings about resources in these namespaces (all when undefined). */
  namespaces?: readonly string[];
}

export function createAnalysisContext(
  resources: readonly Resource[],
  options: ContextOptions,
  sink: (diagnostic: Diagnostic) => void,
): AnalysisContext {
  const index = buildMeshIndex(resources);
  const reported = options.namespaces ? new Set(options.namespaces) : undefined;
  const isNamespace = (name: string) => index.namespaces.has(name);
  const resolve = (host: string, namespace: string) => resolveHost(host, namespace, isNamespace);
  const workloadNamespaces = new Set(index.workloads.map((w) => w.namespace));

  const servicesForHost = (host: string, fromNamespace: string): MeshService[] => {
    const fqdn = resolve(host, fromNamespace);
    const raw = host.toLowerCase();
    return index.services.filter(
      (service) =>
        exportedTo(service.exportTo, service.namespace, fromNamespace) &&
        service.hosts.some(
          (h) =>
            h === fqdn ||
            h === raw ||
            (h.startsWith("*") && hostCovers(h, fqdn)) ||
            (fqdn.startsWith("*") && hostCovers(fqdn, h)),
        ),
    );
  };

  return {
    rootNamespace: options.rootNamespace,
    resources,
    ofKind: (kind) => index.byKind.get(kind) ?? [],
    services: index.services,
    workloads: index.workloads,
    namespaces: index.namespaces,
    resolveHost: resolve,
    servicesForHost,
    workloadsSelectedBy: (selector, namespace) =>
      index.workloads.filter(
        (w) =>
          (namespace === undefined || w.namespace === namespace) &&
          selectorMatches(selector, w.labels),
      ),
    hasWorkloads: (namespace) =>
      namespace === undefined ? index.workloads.length > 0 : workloadNamespaces.has(namespace),
    report(resource, path, code, severity, message) {
      const namespace = resource.kind === "Namespace" ? resource.name : resource.namespace;
      if (reported && !reported.has(namespace)) return;
      sink(diagnosticAt(resource, path, "value", { code, severity, message }));
    },
  };
}
