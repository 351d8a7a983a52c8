// Kubernetes Services → registry Services, as Istio's kube registry converts them
// (pilot/pkg/serviceregistry/kube/conversion.go); first step of buildSnapshot for kind Service.
import { stringMap } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import { objects } from "../../config/validation/rules.ts";
import { kubernetesHostname } from "./hosts.ts";
import { protocolOf, type Service, type ServicePort } from "./service.ts";
import { normalizeExportTo } from "./visibility.ts";

export const EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo";

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The ExternalName target of a `type: ExternalName` Service, else undefined. */
export function externalNameOf(resource: Resource): string | undefined {
  const spec = resource.spec;
  return spec.type === "ExternalName" && str(spec.externalName)
    ? str(spec.externalName).toLowerCase()
    : undefined;
}

/** True for `clusterIP: None` (headless): no VIP, clients connect to endpoints directly. */
export function isHeadless(resource: Resource): boolean {
  return resource.spec.clusterIP === "None";
}

/**
 * Ports as written, with Istio's protocol selection. A missing targetPort is the port itself
 * (as the API server defaults it).
 */
export function kubernetesPorts(resource: Resource): ServicePort[] {
  const out: ServicePort[] = [];
  for (const [port] of objects(resource.spec.ports)) {
    if (typeof port.port !== "number") continue;
    const target = port.targetPort;
    out.push({
      name: str(port.name),
      port: port.port,
      targetPort:
        (typeof target === "number" && target > 0) || (typeof target === "string" && target)
          ? target
          : port.port,
      protocol: protocolOf({
        name: str(port.name),
        appProtocol: str(port.appProtocol),
        protocol: str(port.protocol),
      }),
    });
  }
  return out;
}

/**
 * Hostname `name.ns.svc.<domainSuffix>`; the ClusterIP as address (none when headless or not
 * assigned); exportTo from the `networking.istio.io/exportTo` annotation (comma list, default
 * "*"). Resolution STATIC (Istio's ClientSideLB), except headless → NONE (Istio's Passthrough)
 * and ExternalName → DNS, MESH_EXTERNAL, endpoint = the external name.
 */
export function kubernetesService(resource: Resource, domainSuffix: string): Service {
  const spec = resource.spec;
  const clusterIps = [
    str(spec.clusterIP),
    ...(Array.isArray(spec.clusterIPs) ? spec.clusterIPs.map(str) : []),
  ].filter((ip) => ip && ip !== "None");
  const external = externalNameOf(resource);
  const selector = stringMap(spec.selector);
  const exportTo = resource.annotations[EXPORT_TO_ANNOTATION];
  return {
    hostname: kubernetesHostname(resource.name, resource.namespace, domainSuffix),
    namespace: resource.namespace,
    name: resource.name,
    kind: "Service",
    addresses: external ? [] : [...new Set(clusterIps)],
    ports: kubernetesPorts(resource),
    resolution: external ? "DNS" : isHeadless(resource) ? "NONE" : "STATIC",
    location: external ? "MESH_EXTERNAL" : "MESH_INTERNAL",
    exportTo: normalizeExportTo(exportTo ? exportTo.split(",") : [], resource.namespace),
    labels: resource.labels,
    ...(!external && Object.keys(selector).length > 0 ? { selector } : {}),
  };
}
