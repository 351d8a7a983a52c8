// ServiceEntries → registry Services, one per host, as Istio's serviceentry registry converts
// them (pilot/pkg/serviceregistry/serviceentry/conversion.go convertServices).
import { stringList, stringMap } from "../../config/analysis/labels.ts";
import type { Resource } from "../../config/resource.ts";
import { isObj, objects } from "../../config/validation/rules.ts";
import { parseProtocol, type Resolution, type Service, type ServicePort } from "./service.ts";
import { normalizeExportTo } from "./visibility.ts";

const RESOLUTIONS: ReadonlySet<string> = new Set(["STATIC", "DNS", "DNS_ROUND_ROBIN", "NONE"]);

/** `resolution` as written; NONE (the proto default) when absent. */
export function resolutionOf(resource: Resource): Resolution {
  const value = resource.spec.resolution;
  return typeof value === "string" && RESOLUTIONS.has(value) ? (value as Resolution) : "NONE";
}

export function serviceEntryPorts(resource: Resource): ServicePort[] {
  const out: ServicePort[] = [];
  for (const [port] of objects(resource.spec.ports)) {
    if (typeof port.number !== "number") continue;
    out.push({
      name: typeof port.name === "string" ? port.name : "",
      port: port.number,
      ...(typeof port.targetPort === "number" && port.targetPort > 0
        ? { targetPort: port.targetPort }
        : {}),
      protocol: parseProtocol(typeof port.protocol === "string" ? port.protocol : ""),
    });
  }
  return out;
}

/** The workloadSelector labels, or undefined when the entry has no workloadSelector. */
export function workloadSelectorOf(resource: Resource): Record<string, string> | undefined {
  const selector = resource.spec.workloadSelector;
  return isObj(selector) ? stringMap(selector.labels) : undefined;
}

/**
 * One Service per host (lowercased): addresses as written (a /32 or /128 CIDR becomes the bare
 * IP), location MESH_EXTERNAL unless MESH_INTERNAL (the proto default is MESH_EXTERNAL),
 * exportTo from the spec (default "*"), labels from metadata.
 */
export function serviceEntryServices(resource: Resource): Service[] {
  const spec = resource.spec;
  const addresses = [...new Set(stringList(spec.addresses).map(bareHostCidr))];
  const ports = serviceEntryPorts(resource);
  const resolution = resolutionOf(resource);
  const location = spec.location === "MESH_INTERNAL" ? "MESH_INTERNAL" : "MESH_EXTERNAL";
  const exportTo = normalizeExportTo(stringList(spec.exportTo), resource.namespace);
  const selector = workloadSelectorOf(resource);
  const hosts = [...new Set(stringList(spec.hosts).map((h) => h.toLowerCase()))];
  return hosts.map((hostname) => ({
    hostname,
    namespace: resource.namespace,
    name: resource.name,
    kind: "ServiceEntry",
    addresses,
    ports,
    resolution,
    location,
    exportTo,
    labels: resource.labels,
    ...(selector ? { selector } : {}),
  }));
}

function bareHostCidr(address: string): string {
  const match = /^(.*)\/(32|128)$/.exec(address);
  if (!match) return address;
  const ip = match[1]!;
  return (match[2] === "32") === !ip.includes(":") ? ip : address;
}
