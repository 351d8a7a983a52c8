// Endpoints of ServiceEntry hosts, as Istio's serviceentry registry builds them
// (conversion.go convertServiceEntryToInstances, convertWorkloadInstanceToServiceInstance).
import { objects } from "../../config/validation/rules.ts";
import type { ServicePort } from "./service.ts";
import type { Endpoint, Workload } from "./workload.ts";
import { addressEndpoint, type ServiceSource, workloadEndpoint } from "./workload-endpoint.ts";
import { entryWorkload, type WorkloadRecord } from "./workloads.ts";

/**
 * The port an endpoint listens on for a ServiceEntry port: its own port of the same name, else
 * the entry's targetPort, else the port number; 0 for a Unix domain socket address.
 */
export function serviceEntryTargetPort(port: ServicePort, workload: Workload): number {
  if (workload.address.startsWith("unix://")) return 0;
  const own = workload.ports[port.name];
  if (own) return own;
  return typeof port.targetPort === "number" ? port.targetPort : port.port;
}

/**
 * Per port of the entry's service: the selected workloads (workloadSelector; hostname-addressed
 * WorkloadEntries only for DNS resolution), else the inline `endpoints`, else — for DNS
 * resolution — the host itself on the target port; STATIC/NONE without endpoints have none.
 */
export function serviceEntryEndpoints(
  source: ServiceSource,
  select: (
    selector: Readonly<Record<string, string>>,
    namespace: string,
  ) => readonly WorkloadRecord[],
): Endpoint[][] {
  const { service, resource } = source;
  const dns = service.resolution === "DNS" || service.resolution === "DNS_ROUND_ROBIN";
  let records: readonly WorkloadRecord[];
  if (service.selector) {
    records = select(service.selector, service.namespace).filter(
      (r) => r.workload.address && (dns || !r.dnsOnly),
    );
  } else if (Array.isArray(resource.spec.endpoints) && resource.spec.endpoints.length > 0) {
    records = objects(resource.spec.endpoints).map(([entry]) => ({
      workload: entryWorkload(entry, {
        kind: "WorkloadEntry",
        name: "",
        namespace: service.namespace,
      }),
      workloadName: "",
      dnsOnly: false,
    }));
  } else if (dns) {
    return service.ports.map((port) => [
      addressEndpoint(
        service,
        port,
        service.hostname,
        typeof port.targetPort === "number" ? port.targetPort : port.port,
      ),
    ]);
  } else {
    records = [];
  }
  return service.ports.map((port) =>
    records.map((r) =>
      workloadEndpoint(service, port, serviceEntryTargetPort(port, r.workload), r),
    ),
  );
}
