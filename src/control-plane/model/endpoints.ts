// Endpoints of registry services: the instances behind each service port, gathered from the
// workloads a Service or ServiceEntry selects, ServiceEntry `endpoints`, ExternalName targets
// and explicit Endpoints/EndpointSlice objects. buildSnapshot indexes what this returns.
import type { Resource } from "../../config/resource.ts";
import { endpointsFromObjects, type ObjectEndpointSource } from "./endpoint-objects.ts";
import { externalNameOf } from "./kubernetes-services.ts";
import type { ServicePort } from "./service.ts";
import { serviceEntryEndpoints } from "./service-entry-endpoints.ts";
import type { Endpoint } from "./workload.ts";
import { addressEndpoint, type ServiceSource, workloadEndpoint } from "./workload-endpoint.ts";
import type { WorkloadRecord } from "./workloads.ts";

export interface EndpointInputs {
  sources: readonly ServiceSource[];
  /** Endpoints and EndpointSlice resources, in input order. */
  endpointObjects: readonly Resource[];
  pods: readonly WorkloadRecord[];
  /** Workloads in `namespace` whose labels match `selector`, in input order. */
  select(selector: Readonly<Record<string, string>>, namespace: string): readonly WorkloadRecord[];
}

/** Key of one service port's endpoints: hostname, namespace and port name (EDS matches by name). */
export function endpointKey(hostname: string, namespace: string, portName: string): string {
  return `${hostname}\u0000${namespace}\u0000${portName}`;
}

/**
 * The port a selected workload listens on for a Kubernetes service port (Kubernetes' FindPort
 * for pods; Istio's serviceInstanceFromWorkloadInstance for WorkloadEntries): a named
 * targetPort must be one of its named ports (else undefined: not an endpoint of this port); a
 * numeric one is used as is, except that a WorkloadEntry port named like the service port wins.
 */
export function kubernetesTargetPort(
  port: ServicePort,
  record: WorkloadRecord,
): number | undefined {
  const ports = record.workload.ports;
  const target = port.targetPort ?? port.port;
  if (typeof target === "string") return ports[target];
  if (record.workload.kind === "WorkloadEntry" && port.name && ports[port.name])
    return ports[port.name];
  return target;
}

/** Endpoints of a Kubernetes Service from the Pods and WorkloadEntries its selector matches. */
function selectedEndpoints(source: ServiceSource, inputs: EndpointInputs): Endpoint[][] {
  const { service } = source;
  const selector = service.selector;
  if (!selector) return service.ports.map(() => []);
  const selected = inputs.select(selector, service.namespace).filter((record) => {
    const w = record.workload;
    if (!w.address) return false;
    // Istio: WorkloadEntries need labels and an IP, and headless services do not take them.
    return w.kind === "Pod" || (!record.dnsOnly && service.resolution !== "NONE");
  });
  return service.ports.map((port) =>
    selected.flatMap((record) => {
      if (record.workload.kind === "WorkloadEntry" && port.protocol === "UDP") return [];
      const target = kubernetesTargetPort(port, record);
      return target === undefined ? [] : [workloadEndpoint(service, port, target, record)];
    }),
  );
}

function kubernetesEndpoints(
  source: ServiceSource,
  inputs: EndpointInputs,
  objects: ReadonlyMap<string, ObjectEndpointSource[]>,
): Endpoint[][] {
  const { service, resource } = source;
  const external = externalNameOf(resource);
  if (external)
    return service.ports.map((port) => [
      addressEndpoint(service, port, external, port.port, resource.labels),
    ]);
  const selected = selectedEndpoints(source, inputs);
  const explicit = (objects.get(`${service.namespace}/${service.name}`) ?? []).filter(
    // Kubernetes manages the Endpoints of a selector service itself; EndpointSlices may be added.
    (o) => o.resource.kind === "EndpointSlice" || !service.selector,
  );
  return service.ports.map((port, i) => [
    ...selected[i]!,
    ...explicit.flatMap((o) => o.endpointsFor(service, port)),
  ]);
}

/** Every service port's endpoints, keyed by endpointKey, de-duplicated by address and port. */
export function buildEndpoints(inputs: EndpointInputs): Map<string, Endpoint[]> {
  const objects = endpointsFromObjects(inputs.endpointObjects, inputs.pods);
  const out = new Map<string, Endpoint[]>();
  for (const source of inputs.sources) {
    const perPort =
      source.service.kind === "Service"
        ? kubernetesEndpoints(source, inputs, objects)
        : serviceEntryEndpoints(source, inputs.select);
    source.service.ports.forEach((port, i) => {
      const key = endpointKey(source.service.hostname, source.service.namespace, port.name);
      const list = out.get(key) ?? [];
      const seen = new Set(list.map((e) => `${e.address}|${e.port}`));
      for (const endpoint of perPort[i] ?? []) {
        const id = `${endpoint.address}|${endpoint.port}`;
        if (seen.has(id)) continue;
        seen.add(id);
        list.push(endpoint);
      }
      out.set(key, list);
    });
  }
  return out;
}
