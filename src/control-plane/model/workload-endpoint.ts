// One endpoint of one service port, built from a workload or from a bare address; shared by the
// endpoint builders for Kubernetes Services and ServiceEntries.
import type { Resource } from "../../config/resource.ts";
import type { Service, ServicePort } from "./service.ts";
import { type Endpoint, NO_LOCALITY } from "./workload.ts";
import type { WorkloadRecord } from "./workloads.ts";

/** A service as converted, with the resource it came from (several hosts may share one). */
export interface ServiceSource {
  service: Service;
  resource: Resource;
}

/** The endpoint of `record` for one port of `service`, listening on `port`. */
export function workloadEndpoint(
  service: Service,
  servicePort: ServicePort,
  port: number,
  record: WorkloadRecord,
): Endpoint {
  const w = record.workload;
  return {
    hostname: service.hostname,
    servicePort: servicePort.port,
    address: w.address,
    port,
    labels: w.labels,
    locality: w.locality,
    weight: w.weight,
    healthy: w.healthy,
    serviceAccount: w.serviceAccount,
    namespace: w.namespace,
    workloadName: record.workloadName,
    tlsMode: w.hasSidecar ? "istio" : "disabled",
    network: w.network,
  };
}

/** An endpoint known only by address (DNS names, ExternalName targets): no identity, no sidecar. */
export function addressEndpoint(
  service: Service,
  servicePort: ServicePort,
  address: string,
  port: number,
  labels: Readonly<Record<string, string>> = {},
): Endpoint {
  return {
    hostname: service.hostname,
    servicePort: servicePort.port,
    address,
    port,
    labels,
    locality: NO_LOCALITY,
    weight: 1,
    healthy: true,
    serviceAccount: "",
    namespace: service.namespace,
    workloadName: "",
    tlsMode: "disabled",
    network: "",
  };
}
