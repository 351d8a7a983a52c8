// Pods and WorkloadEntries → registry Workloads (address, identity, readiness, sidecar), the
// instances that buildSnapshot later turns into endpoints. Deployments are templates, not workloads.
import { isIP } from "node:net";
import { stringMap } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import { isObj, objects } from "../../config/validation/rules.ts";
import { type Locality, localityFromLabels, type Workload } from "./workload.ts";

type Labels = Readonly<Record<string, string>>;

const TLS_MODE_LABEL = "security.istio.io/tlsMode";
const NETWORK_LABEL = "topology.istio.io/network";
const INJECT = "sidecar.istio.io/inject";

/** A workload plus what endpoints need and Workload does not carry. */
export interface WorkloadRecord {
  workload: Workload;
  /** Istio's workload name (telemetry): a pod's Deployment (owner ReplicaSet minus hash), else its name. */
  workloadName: string;
  /** A WorkloadEntry whose address is a hostname: only DNS ServiceEntries may select it (Istio). */
  dnsOnly: boolean;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The status condition of `type`, as "True"/"False"/…, or undefined. */
function condition(body: Record<string, unknown>, type: string): string | undefined {
  const status = isObj(body.status) ? body.status : {};
  return objects(status.conditions).find(([c]) => c.type === type)?.[0].status as
    | string
    | undefined;
}

/**
 * Whether Istio's injector would give this pod a sidecar (the default webhooks' selectors):
 * `sidecar.istio.io/inject: "false"` (label or annotation) and hostNetwork never; a namespace
 * labelled `istio-injection=enabled`, or `istio.io/rev` without `istio-injection`, injects;
 * a namespace without either injects pods labelled `sidecar.istio.io/inject: "true"`.
 */
export function sidecarInjected(pod: Resource, namespaceLabels: Labels): boolean {
  const optOut = [pod.labels[INJECT], pod.annotations[INJECT]].some(
    (v) => v !== undefined && !["true", "yes", "y", "on", ""].includes(v.toLowerCase()),
  );
  if (optOut || pod.spec.hostNetwork === true) return false;
  const injection = namespaceLabels["istio-injection"];
  if (injection !== undefined) return injection === "enabled";
  if (namespaceLabels["istio.io/rev"] !== undefined) return true;
  return pod.labels[INJECT] === "true" || pod.labels["istio.io/rev"] !== undefined;
}

/** Whether the pod runs a sidecar: an explicit tlsMode label decides, else the injector's status or policy. */
function podHasSidecar(pod: Resource, namespaceLabels: Labels): boolean {
  const tlsMode = pod.labels[TLS_MODE_LABEL];
  if (tlsMode !== undefined) return tlsMode === "istio";
  return "sidecar.istio.io/status" in pod.annotations || sidecarInjected(pod, namespaceLabels);
}

function podWorkloadName(pod: Resource): string {
  const metadata = isObj(pod.body.metadata) ? pod.body.metadata : {};
  const owners = objects(metadata.ownerReferences).map(([o]) => o);
  const owner = owners.find((o) => o.controller === true) ?? owners[0];
  if (!owner || !str(owner.name)) return pod.name;
  const hash = pod.labels["pod-template-hash"];
  if (owner.kind === "ReplicaSet" && hash && str(owner.name).endsWith(`-${hash}`))
    return str(owner.name).slice(0, -hash.length - 1);
  return str(owner.name);
}

function podIp(pod: Resource): string {
  const status = isObj(pod.body.status) ? pod.body.status : {};
  return str(status.podIP) || str(objects(status.podIPs)[0]?.[0].ip);
}

/** Named container ports (name → containerPort). */
function containerPorts(pod: Resource): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [container] of objects(pod.spec.containers)) {
    for (const [port] of objects(container.ports)) {
      const name = str(port.name);
      if (name && typeof port.containerPort === "number" && !(name in out))
        out[name] = port.containerPort;
    }
  }
  return out;
}

/**
 * A Pod as a workload, or undefined once it has finished (phase Succeeded/Failed). Healthy =
 * its Ready condition (true when the pod reports none) and not being deleted.
 */
export function podWorkload(pod: Resource, namespaceLabels: Labels): WorkloadRecord | undefined {
  const phase = isObj(pod.body.status) ? pod.body.status.phase : undefined;
  if (phase === "Succeeded" || phase === "Failed") return undefined;
  const metadata = isObj(pod.body.metadata) ? pod.body.metadata : {};
  const ready = condition(pod.body, "Ready");
  return {
    workload: {
      kind: "Pod",
      name: pod.name,
      namespace: pod.namespace,
      address: podIp(pod),
      labels: pod.labels,
      serviceAccount: str(pod.spec.serviceAccountName) || str(pod.spec.serviceAccount) || "default",
      locality: localityFromLabels(pod.labels),
      network: pod.labels[NETWORK_LABEL] ?? namespaceLabels[NETWORK_LABEL] ?? "",
      weight: 1,
      healthy: (ready === undefined || ready === "True") && !metadata.deletionTimestamp,
      hasSidecar: podHasSidecar(pod, namespaceLabels),
      ports: containerPorts(pod),
    },
    workloadName: podWorkloadName(pod),
    dnsOnly: false,
  };
}

/** `region/zone/subzone` as WorkloadEntry.locality writes it. */
export function parseLocality(value: string): Locality {
  const [region = "", zone = "", subzone = ""] = value.split("/");
  return { region, zone, subzone };
}

/**
 * The fields of a WorkloadEntry spec (also the shape of ServiceEntry `endpoints`). Labels:
 * spec.labels overlaid with `extraLabels` (a WorkloadEntry's metadata labels, which win).
 * Sidecar (tlsMode "istio"): the `security.istio.io/tlsMode` label if present, else whether a
 * serviceAccount is set (Istio's getTLSModeFromWorkloadEntry). Weight 0/absent → 1.
 */
export function entryWorkload(
  spec: Record<string, unknown>,
  base: { kind: "WorkloadEntry"; name: string; namespace: string },
  extraLabels: Labels = {},
): Workload {
  const labels = { ...stringMap(spec.labels), ...extraLabels };
  const serviceAccount = str(spec.serviceAccount);
  const tlsMode = labels[TLS_MODE_LABEL];
  const ports = isObj(spec.ports) ? spec.ports : {};
  return {
    ...base,
    address: str(spec.address),
    labels,
    serviceAccount,
    locality: str(spec.locality) ? parseLocality(str(spec.locality)) : localityFromLabels(labels),
    network: str(spec.network) || labels[NETWORK_LABEL] || "",
    weight: typeof spec.weight === "number" && spec.weight > 0 ? spec.weight : 1,
    healthy: true,
    hasSidecar: tlsMode !== undefined ? tlsMode === "istio" : serviceAccount !== "",
    ports: Object.fromEntries(
      Object.entries(ports).filter((e): e is [string, number] => typeof e[1] === "number"),
    ),
  };
}

/**
 * A WorkloadEntry as a workload. With health checks on (annotation
 * `proxy.istio.io/health-checks-enabled: "true"`) it is healthy only while its Healthy
 * condition is True, as Istio's isHealthy.
 */
export function workloadEntryWorkload(entry: Resource): WorkloadRecord {
  const workload = entryWorkload(
    entry.spec,
    { kind: "WorkloadEntry", name: entry.name, namespace: entry.namespace },
    entry.labels,
  );
  const checked = entry.annotations["proxy.istio.io/health-checks-enabled"] === "true";
  if (checked && condition(entry.body, "Healthy") !== "True") workload.healthy = false;
  return {
    workload,
    workloadName: entry.name,
    dnsOnly: !workload.address.startsWith("unix://") && isIP(workload.address) === 0,
  };
}
