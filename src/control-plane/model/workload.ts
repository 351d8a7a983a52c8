// Workloads (Pods and WorkloadEntries) and the endpoints they give services.

export interface Locality {
  region: string;
  zone: string;
  subzone: string;
}

export const NO_LOCALITY: Readonly<Locality> = { region: "", zone: "", subzone: "" };

export interface Workload {
  kind: "Pod" | "WorkloadEntry";
  name: string;
  namespace: string;
  /** Pod IP or WorkloadEntry address (may be a hostname for WorkloadEntry). */
  address: string;
  labels: Readonly<Record<string, string>>;
  serviceAccount: string;
  locality: Locality;
  network: string;
  /** Load-balancing weight (WorkloadEntry weight; 1 for pods). */
  weight: number;
  /** Ready/healthy: unhealthy endpoints are sent with health_status UNHEALTHY. */
  healthy: boolean;
  /** Whether the workload runs a sidecar (drives auto-mTLS: tlsMode "istio"). */
  hasSidecar: boolean;
  /** Named container/entry ports (name → number), for named targetPorts. */
  ports: Readonly<Record<string, number>>;
}

/** One endpoint of one service port. */
export interface Endpoint {
  /** Service hostname and port (the service port, not the target port). */
  hostname: string;
  servicePort: number;
  address: string;
  /** Port the workload listens on (target port). */
  port: number;
  labels: Readonly<Record<string, string>>;
  locality: Locality;
  weight: number;
  healthy: boolean;
  serviceAccount: string;
  namespace: string;
  workloadName: string;
  /** "istio" when the endpoint has a sidecar (istio.io/tls-mode), "disabled" otherwise. */
  tlsMode: "istio" | "disabled";
  network: string;
}

/** Region/zone/subzone from labels `topology.kubernetes.io/region|zone` and `topology.istio.io/subzone`, or the `istio-locality` label ("region.zone.subzone"). */
export function localityFromLabels(labels: Readonly<Record<string, string>>): Locality {
  const explicit = labels["istio-locality"];
  if (explicit) {
    const [region = "", zone = "", subzone = ""] = explicit.split(".");
    return { region, zone, subzone };
  }
  return {
    region: labels["topology.kubernetes.io/region"] ?? "",
    zone: labels["topology.kubernetes.io/zone"] ?? "",
    subzone: labels["topology.istio.io/subzone"] ?? "",
  };
}
