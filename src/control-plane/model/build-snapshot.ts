// buildSnapshot: config resources → the immutable, indexed MeshSnapshot that translation reads
// (the control plane's service registry step: ingest → model → translate). Pure.
import type { Resource } from "../../config/resource.ts";
import { buildEndpoints, endpointKey } from "./endpoints.ts";
import { resolveHostname } from "./hosts.ts";
import { istioConfigOf } from "./istio-config.ts";
import { kubernetesService } from "./kubernetes-services.ts";
import { DEFAULT_MESH_CONFIG, type MeshConfig } from "./mesh-config.ts";
import type { Service } from "./service.ts";
import { serviceEntryServices } from "./service-entries.ts";
import { collapseServices } from "./service-registry.ts";
import type { KeySets, MeshSnapshot } from "./snapshot.ts";
import { snapshotVersions } from "./version.ts";
import { isVisibleFrom, pickService } from "./visibility.ts";
import type { Endpoint, Workload } from "./workload.ts";
import type { ServiceSource } from "./workload-endpoint.ts";
import { indexWorkloads } from "./workload-index.ts";
import { podWorkload, type WorkloadRecord, workloadEntryWorkload } from "./workloads.ts";

type Labels = Readonly<Record<string, string>>;

/** Namespace → labels: Namespace objects first, then every namespace a resource lives in. */
function namespacesOf(resources: readonly Resource[]): Map<string, Labels> {
  const labels = new Map<string, Labels>();
  for (const r of resources)
    if (r.kind === "Namespace" && r.group === "") labels.set(r.name, r.labels);
  for (const r of resources)
    if (r.namespace && !labels.has(r.namespace)) labels.set(r.namespace, {});
  return new Map([...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function byHostnameThenNamespace(a: Service, b: Service): number {
  if (a.hostname !== b.hostname) return a.hostname < b.hostname ? -1 : 1;
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const list = out.get(key(item));
    if (list) list.push(item);
    else out.set(key(item), [item]);
  }
  return out;
}

// Every change rebuilds the snapshot from every resource; a Pod's workload depends on the Pod
// (never edited: a change is a new object) and its namespace's labels, so it is kept per Pod
// object while those labels read the same.
const podWorkloads = new WeakMap<
  Resource,
  { namespaceLabels: string; record: WorkloadRecord | undefined }
>();

function podWorkloadOnce(
  pod: Resource,
  namespaceLabels: Labels,
  labels: string,
): WorkloadRecord | undefined {
  const known = podWorkloads.get(pod);
  if (known?.namespaceLabels === labels) return known.record;
  const record = podWorkload(pod, namespaceLabels);
  podWorkloads.set(pod, { namespaceLabels: labels, record });
  return record;
}

/**
 * Builds the snapshot: Kubernetes Services and ServiceEntry hosts as services (one per host and
 * namespace), Pods and WorkloadEntries as workloads, each service port's endpoints, Istio
 * config by kind, namespaces, and a content-hash version. Lookups are precomputed indexes.
 */
export function buildSnapshot(
  resources: readonly Resource[],
  meshConfig: Partial<MeshConfig> = {},
  keys: { jwks: KeySets; generation: number } | undefined = undefined,
): MeshSnapshot {
  const mesh: MeshConfig = { ...DEFAULT_MESH_CONFIG, ...meshConfig };
  const namespaces = namespacesOf(resources);
  const sources: ServiceSource[] = [];
  const records: WorkloadRecord[] = [];
  const endpointObjects: Resource[] = [];
  const labelTexts = new Map<string, string>();
  for (const resource of resources) {
    const core = resource.group === "";
    if (core && resource.kind === "Service") {
      sources.push({ service: kubernetesService(resource, mesh.domainSuffix), resource });
    } else if (resource.group === "networking.istio.io" && resource.kind === "ServiceEntry") {
      for (const service of serviceEntryServices(resource)) sources.push({ service, resource });
    } else if (core && resource.kind === "Pod") {
      const labels = namespaces.get(resource.namespace) ?? {};
      let text = labelTexts.get(resource.namespace);
      if (text === undefined) {
        text = JSON.stringify(labels);
        labelTexts.set(resource.namespace, text);
      }
      const pod = podWorkloadOnce(resource, labels, text);
      if (pod) records.push(pod);
    } else if (resource.group === "networking.istio.io" && resource.kind === "WorkloadEntry") {
      records.push(workloadEntryWorkload(resource));
    } else if (
      (core && resource.kind === "Endpoints") ||
      (resource.group === "discovery.k8s.io" && resource.kind === "EndpointSlice")
    ) {
      endpointObjects.push(resource);
    }
  }

  const selectRecords = indexWorkloads(records, (r) => r.workload);
  const contributions = buildEndpoints({
    sources,
    endpointObjects,
    pods: records.filter((r) => r.workload.kind === "Pod"),
    select: (selector, namespace) => selectRecords(selector, namespace),
  });

  const registry = collapseServices(sources.map((s) => s.service));
  const byHost = groupBy(registry, (s) => s.hostname);
  // endpointsOf runs for every service port of every proxy translated (inbound listeners look
  // for the proxy's own endpoints), so its lookups are nested maps rather than composed string
  // keys: hostname → namespace → service, and service → port number → endpoints.
  const byHostAndNamespace = new Map<string, Map<string, Service>>();
  for (const s of registry) {
    const byNamespace = byHostAndNamespace.get(s.hostname) ?? new Map<string, Service>();
    if (!byNamespace.has(s.namespace)) byNamespace.set(s.namespace, s);
    byHostAndNamespace.set(s.hostname, byNamespace);
  }
  const endpointsByService = new Map<Service, Map<number, readonly Endpoint[]>>();
  for (const service of registry) {
    const byPort = new Map<number, readonly Endpoint[]>();
    for (const port of service.ports) {
      const found = contributions.get(endpointKey(service.hostname, service.namespace, port.name));
      byPort.set(
        port.port,
        (found ?? []).map((e) =>
          e.servicePort === port.port ? e : { ...e, servicePort: port.port },
        ),
      );
    }
    endpointsByService.set(service, byPort);
  }

  const services = [...registry].sort(byHostnameThenNamespace);
  const workloads = records.map((r) => r.workload);
  // Translation does not select workloads (debug and analysis may): indexed on first use.
  let selectWorkloads: ReturnType<typeof indexWorkloads<Workload>> | undefined;
  const visible = new Map<string, readonly Service[]>();

  const serviceFor = (hostname: string, namespace: string): Service | undefined =>
    pickService(
      (byHost.get(hostname) ?? []).filter((s) => isVisibleFrom(s, namespace)),
      namespace,
    );

  const versions = snapshotVersions(resources, mesh);
  // A fetched key set changes what translation inlines, so it must change the versions too.
  const keySuffix = keys?.generation ? `-k${keys.generation}` : "";
  return {
    version: `${versions.version}${keySuffix}`,
    localConfigVersion: `${versions.localConfigVersion}${keySuffix}`,
    ...(keys ? { jwks: keys.jwks } : {}),
    meshConfig: mesh,
    config: istioConfigOf(resources),
    services,
    workloads,
    namespaces,
    servicesVisibleFrom(namespace) {
      let list = visible.get(namespace);
      if (!list) {
        list = services.filter((s) => isVisibleFrom(s, namespace));
        visible.set(namespace, list);
      }
      return list;
    },
    serviceFor,
    endpointsOf(hostname, servicePort, namespace) {
      const service =
        namespace === undefined
          ? pickService(byHost.get(hostname) ?? [], undefined)
          : (byHostAndNamespace.get(hostname)?.get(namespace) ?? serviceFor(hostname, namespace));
      if (!service) return [];
      return endpointsByService.get(service)?.get(servicePort) ?? [];
    },
    workloadsMatching: (selector, namespace) => {
      selectWorkloads ??= indexWorkloads(workloads, (w) => w);
      return selectWorkloads(selector, namespace);
    },
    resolveHost: (host, namespace) => resolveHostname(host, namespace, mesh.domainSuffix),
  };
}
