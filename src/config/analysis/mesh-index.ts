// The mesh as the input describes it, indexed once per analysis: services (Kubernetes Services
// and ServiceEntries) with their hosts and ports, workloads (Pods, Deployment pod templates,
// WorkloadEntries) with labels and ports, and namespaces with labels.
import type { FieldPath } from "../diagnostic.ts";
import type { Resource } from "../resource.ts";
import { isObj, objects } from "../validation/rules.ts";
import { CLUSTER_DOMAIN } from "./hosts.ts";
import { type Labels, stringList, stringMap } from "./labels.ts";

export interface ServicePort {
  name: string;
  number: number;
  /** As written (Service: TCP/UDP/SCTP, ServiceEntry: HTTP, GRPC …); "" when absent. */
  protocol: string;
  appProtocol: string;
  /** Service targetPort: a number, a container port name, or undefined (= number). */
  targetPort?: number | string;
  path: FieldPath;
}

export interface MeshService {
  resource: Resource;
  /** True for a Kubernetes Service, false for a ServiceEntry. */
  kubernetes: boolean;
  namespace: string;
  /** Lowercase FQDNs (ServiceEntry hosts as written, possibly wildcards). */
  hosts: readonly string[];
  ports: readonly ServicePort[];
  /** Service spec.selector or ServiceEntry workloadSelector labels; {} when none. */
  selector: Labels;
  exportTo: readonly string[];
}

export interface WorkloadPort {
  name: string;
  number: number;
}

export interface Workload {
  resource: Resource;
  name: string;
  namespace: string;
  labels: Labels;
  ports: readonly WorkloadPort[];
  /** Pods and Deployments get sidecars by injection; WorkloadEntries do not. */
  injectable: boolean;
}

export interface MeshNamespace {
  name: string;
  labels: Labels;
  /** The Namespace object, when the input has one. */
  resource?: Resource;
}

export interface MeshIndex {
  byKind: ReadonlyMap<string, readonly Resource[]>;
  services: readonly MeshService[];
  workloads: readonly Workload[];
  namespaces: ReadonlyMap<string, MeshNamespace>;
}

const EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo";

export function buildMeshIndex(resources: readonly Resource[]): MeshIndex {
  const byKind = new Map<string, Resource[]>();
  const services: MeshService[] = [];
  const workloads: Workload[] = [];
  const namespaces = new Map<string, MeshNamespace>();
  for (const resource of resources) {
    const list = byKind.get(resource.kind);
    if (list) list.push(resource);
    else byKind.set(resource.kind, [resource]);
    if (resource.kind === "Namespace") {
      namespaces.set(resource.name, {
        name: resource.name,
        labels: resource.labels,
        resource,
      });
    } else if (resource.namespace && !namespaces.has(resource.namespace)) {
      namespaces.set(resource.namespace, { name: resource.namespace, labels: {} });
    }
    if (resource.kind === "Service") services.push(kubernetesService(resource));
    else if (resource.kind === "ServiceEntry") services.push(serviceEntry(resource));
    const workload = workloadOf(resource);
    if (workload) workloads.push(workload);
  }
  return { byKind, services, workloads, namespaces };
}

function kubernetesService(resource: Resource): MeshService {
  const spec = resource.spec;
  const exportTo = resource.annotations[EXPORT_TO_ANNOTATION];
  return {
    resource,
    kubernetes: true,
    namespace: resource.namespace,
    hosts: [`${resource.name}.${resource.namespace}.${CLUSTER_DOMAIN}`],
    ports: objects(spec.ports).map(([port, i]) => ({
      name: typeof port.name === "string" ? port.name : "",
      number: typeof port.port === "number" ? port.port : 0,
      protocol: typeof port.protocol === "string" ? port.protocol : "TCP",
      appProtocol: typeof port.appProtocol === "string" ? port.appProtocol : "",
      ...(typeof port.targetPort === "number" || typeof port.targetPort === "string"
        ? { targetPort: port.targetPort }
        : {}),
      path: ["spec", "ports", i],
    })),
    selector: stringMap(spec.selector),
    exportTo: exportTo
      ? exportTo
          .split(",")
          .map((e) => e.trim())
          .filter(Boolean)
      : [],
  };
}

function serviceEntry(resource: Resource): MeshService {
  const spec = resource.spec;
  return {
    resource,
    kubernetes: false,
    namespace: resource.namespace,
    hosts: stringList(spec.hosts).map((h) => h.toLowerCase()),
    ports: objects(spec.ports).map(([port, i]) => ({
      name: typeof port.name === "string" ? port.name : "",
      number: typeof port.number === "number" ? port.number : 0,
      protocol: typeof port.protocol === "string" ? port.protocol : "",
      appProtocol: "",
      ...(typeof port.targetPort === "number" ? { targetPort: port.targetPort } : {}),
      path: ["spec", "ports", i],
    })),
    selector: isObj(spec.workloadSelector) ? stringMap(spec.workloadSelector.labels) : {},
    exportTo: stringList(spec.exportTo),
  };
}

function workloadOf(resource: Resource): Workload | undefined {
  const base = { resource, name: resource.name, namespace: resource.namespace };
  switch (resource.kind) {
    case "Pod":
      return {
        ...base,
        labels: resource.labels,
        ports: containerPorts(resource.spec),
        injectable: true,
      };
    case "Deployment": {
      const template = isObj(resource.spec.template) ? resource.spec.template : {};
      const metadata = isObj(template.metadata) ? template.metadata : {};
      return {
        ...base,
        labels: stringMap(metadata.labels),
        ports: containerPorts(isObj(template.spec) ? template.spec : {}),
        injectable: true,
      };
    }
    case "WorkloadEntry": {
      const ports = isObj(resource.spec.ports) ? resource.spec.ports : {};
      return {
        ...base,
        labels: stringMap(resource.spec.labels),
        ports: Object.entries(ports)
          .filter((entry): entry is [string, number] => typeof entry[1] === "number")
          .map(([name, number]) => ({ name, number })),
        injectable: false,
      };
    }
    default:
      return undefined;
  }
}

function containerPorts(podSpec: Record<string, unknown>): WorkloadPort[] {
  const out: WorkloadPort[] = [];
  for (const [container] of objects(podSpec.containers)) {
    for (const [port] of objects(container.ports)) {
      if (typeof port.containerPort !== "number") continue;
      out.push({
        name: typeof port.name === "string" ? port.name : "",
        number: port.containerPort,
      });
    }
  }
  return out;
}
