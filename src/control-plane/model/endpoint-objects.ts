// Kubernetes Endpoints and EndpointSlice objects given explicitly (for Services without a
// selector, or slices added by hand): their addresses become endpoints of the named Service.
import type { Resource } from "../../config/resource.ts";
import { isObj, type Obj, objects } from "../../config/validation/rules.ts";
import type { Service, ServicePort } from "./service.ts";
import type { Endpoint } from "./workload.ts";
import { addressEndpoint, workloadEndpoint } from "./workload-endpoint.ts";
import type { WorkloadRecord } from "./workloads.ts";

const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

export interface ObjectEndpointSource {
  resource: Resource;
  /** The object's endpoints for one port of its Service (matched by port name). */
  endpointsFor(service: Service, port: ServicePort): Endpoint[];
}

interface Address {
  address: string;
  ready: boolean;
  pod?: WorkloadRecord;
  zone: string;
}

interface Group {
  ports: ReadonlyArray<{ name: string; port: number }>;
  addresses: readonly Address[];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function portsOf(value: unknown): Array<{ name: string; port: number }> {
  return objects(value)
    .filter(([p]) => typeof p.port === "number")
    .map(([p]) => ({ name: str(p.name), port: p.port as number }));
}

/** Endpoints' subsets: `addresses` are ready, `notReadyAddresses` are not. */
function endpointsGroups(resource: Resource, findPod: PodFinder): Group[] {
  return objects(resource.body.subsets).map(([subset]) => ({
    ports: portsOf(subset.ports),
    addresses: [
      ...objects(subset.addresses).map(([a]) => address(a, str(a.ip), true, "", findPod)),
      ...objects(subset.notReadyAddresses).map(([a]) => address(a, str(a.ip), false, "", findPod)),
    ].filter((a) => a.address),
  }));
}

/** An EndpointSlice: the first address of each endpoint; `conditions.ready` absent means ready. */
function sliceGroup(resource: Resource, findPod: PodFinder): Group {
  const body = resource.body;
  return {
    ports: portsOf(body.ports),
    addresses: objects(body.endpoints)
      .map(([e]) => {
        const first = Array.isArray(e.addresses) ? str(e.addresses[0]) : "";
        const conditions = isObj(e.conditions) ? e.conditions : {};
        return address(e, first, conditions.ready !== false, str(e.zone), findPod);
      })
      .filter((a) => a.address),
  };
}

type PodFinder = (ref: Obj | undefined, ip: string) => WorkloadRecord | undefined;

function address(
  entry: Obj,
  ip: string,
  ready: boolean,
  zone: string,
  findPod: PodFinder,
): Address {
  const pod = findPod(isObj(entry.targetRef) ? entry.targetRef : undefined, ip);
  return { address: ip, ready, zone, ...(pod ? { pod } : {}) };
}

function groupEndpoints(group: Group, service: Service, port: ServicePort): Endpoint[] {
  const match =
    group.ports.find((p) => p.name === port.name) ??
    (service.ports.length === 1 && group.ports.length === 1 && !group.ports[0]!.name
      ? group.ports[0]
      : undefined);
  if (!match) return [];
  return group.addresses.map((a) => {
    const base = a.pod
      ? workloadEndpoint(service, port, match.port, a.pod)
      : addressEndpoint(service, port, a.address, match.port);
    return {
      ...base,
      address: a.address,
      healthy: a.ready && base.healthy,
      ...(a.pod || !a.zone ? {} : { locality: { region: "", zone: a.zone, subzone: "" } }),
    };
  });
}

/**
 * Endpoints and EndpointSlice objects by `namespace/serviceName` (an Endpoints object is named
 * after its Service; a slice names it in the `kubernetes.io/service-name` label). Addresses are
 * linked to Pods by targetRef, else by IP, for identity, labels and sidecar.
 */
export function endpointsFromObjects(
  resources: readonly Resource[],
  pods: readonly WorkloadRecord[],
): Map<string, ObjectEndpointSource[]> {
  const byName = new Map<string, WorkloadRecord>();
  const byIp = new Map<string, WorkloadRecord>();
  for (const pod of pods) {
    byName.set(`${pod.workload.namespace}/${pod.workload.name}`, pod);
    if (pod.workload.address && !byIp.has(pod.workload.address))
      byIp.set(pod.workload.address, pod);
  }
  const out = new Map<string, ObjectEndpointSource[]>();
  for (const resource of resources) {
    const findPod: PodFinder = (ref, ip) =>
      (ref?.kind === "Pod"
        ? byName.get(`${str(ref.namespace) || resource.namespace}/${str(ref.name)}`)
        : undefined) ?? byIp.get(ip);
    const isSlice = resource.kind === "EndpointSlice";
    const serviceName = isSlice ? resource.labels[SERVICE_NAME_LABEL] : resource.name;
    if (!serviceName) continue;
    const groups = isSlice ? [sliceGroup(resource, findPod)] : endpointsGroups(resource, findPod);
    const key = `${resource.namespace}/${serviceName}`;
    const list = out.get(key) ?? [];
    list.push({
      resource,
      endpointsFor: (service, port) => groups.flatMap((g) => groupEndpoints(g, service, port)),
    });
    out.set(key, list);
  }
  return out;
}
