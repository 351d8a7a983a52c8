// Semantic validation of ServiceEntry (Istio's validating-webhook and CRD rules): hosts,
// addresses, ports, endpoints or workload selector per resolution mode, and exportTo.
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkPortName, checkProtocol } from "./ports.ts";
import { checkCidr, checkExportTo, checkPort, type Obj, objects, present } from "./rules.ts";
import {
  checkResolution,
  checkTcpPortsNeedAddresses,
  type ServiceEntryFacts,
} from "./service-entry-resolution.ts";
import { wildcardDomainProblem } from "./virtual-service-hosts.ts";
import { checkNetworkingSelector } from "./workload-entry-fields.ts";

function checkHosts(ctx: ValidationContext, spec: Obj): string[] {
  const hosts = spec.hosts;
  if (!Array.isArray(hosts)) return [];
  if (hosts.length === 0) {
    ctx.error(
      ["spec", "hosts"],
      "CREMA_VALIDATION_REQUIRED",
      "a ServiceEntry needs at least one host; list the service's DNS names, e.g. api.example.com",
    );
  }
  hosts.forEach((host, i) => {
    if (typeof host !== "string") return;
    const at = ["spec", "hosts", i];
    if (host === "*") {
      ctx.error(
        at,
        "CREMA_VALIDATION_HOST",
        `a ServiceEntry host cannot be "*" alone; name the service, or use a wildcard domain such as *.example.com`,
      );
      return;
    }
    const problem = wildcardDomainProblem(host);
    if (problem) {
      ctx.error(at, "CREMA_VALIDATION_HOST", `invalid host ${JSON.stringify(host)}: ${problem}`);
    } else if (host.includes("*") && !host.startsWith("*.")) {
      ctx.warn(
        at,
        "CREMA_VALIDATION_HOST",
        `partial wildcard host ${JSON.stringify(host)} is not supported by all proxies; use a leading "*." (e.g. *.example.com)`,
      );
    }
  });
  return hosts.filter((h): h is string => typeof h === "string");
}

function checkAddresses(ctx: ValidationContext, spec: Obj, resolution: string): void {
  let cidr: number | undefined;
  (Array.isArray(spec.addresses) ? spec.addresses : []).forEach((address, i) => {
    if (typeof address !== "string") return;
    checkCidr(ctx, ["spec", "addresses", i], address);
    if (address.includes("/") && cidr === undefined) cidr = i;
  });
  if (cidr !== undefined && resolution !== "NONE" && resolution !== "STATIC") {
    ctx.error(
      ["spec", "addresses", cidr],
      "CREMA_VALIDATION_ADDRESS",
      `CIDR addresses are only allowed with resolution NONE or STATIC, not ${resolution}; list single IP addresses or change the resolution`,
    );
  }
}

function checkPorts(ctx: ValidationContext, ports: Array<[Obj, number]>): Set<string> {
  const names = new Map<string, number>();
  const numbers = new Map<number, number>();
  for (const [port, i] of ports) {
    const at = ["spec", "ports", i];
    const { name, number } = port;
    if (typeof name === "string" && checkPortName(ctx, [...at, "name"], name)) {
      const first = names.get(name);
      if (first !== undefined) {
        ctx.error(
          [...at, "name"],
          "CREMA_VALIDATION_DUPLICATE",
          `port name ${JSON.stringify(name)} is already used by ports[${first}]; port names must be unique`,
        );
      } else {
        names.set(name, i);
      }
    }
    if (typeof number === "number" && checkPort(ctx, [...at, "number"], number)) {
      const first = numbers.get(number);
      if (first !== undefined) {
        ctx.error(
          [...at, "number"],
          "CREMA_VALIDATION_DUPLICATE",
          `port ${number} is already declared by ports[${first}]; each port number may appear once`,
        );
      } else {
        numbers.set(number, i);
      }
    }
    if (present(port.targetPort)) checkPort(ctx, [...at, "targetPort"], port.targetPort);
    checkProtocol(ctx, [...at, "protocol"], port.protocol);
  }
  return new Set(names.keys());
}

function checkOwnNamespaceExport(ctx: ValidationContext, exportTo: unknown): void {
  if (!Array.isArray(exportTo)) return;
  const namespace = ctx.resource.namespace;
  if (namespace && exportTo.includes(".") && exportTo.includes(namespace)) {
    ctx.error(
      ["spec", "exportTo", exportTo.indexOf(namespace)],
      "CREMA_VALIDATION_DUPLICATE",
      `exportTo lists both "." and this ServiceEntry's own namespace ${JSON.stringify(namespace)}; keep one`,
    );
  }
}

export const validateServiceEntry: KindValidator = (spec, ctx) => {
  const resolution = typeof spec.resolution === "string" ? spec.resolution : "NONE";
  checkNetworkingSelector(ctx, ["spec", "workloadSelector"], spec.workloadSelector, "ServiceEntry");
  if (present(spec.workloadSelector) && present(spec.endpoints)) {
    ctx.error(
      ["spec", "endpoints"],
      "CREMA_VALIDATION_EXCLUSIVE",
      "endpoints and workloadSelector cannot be combined; list endpoints explicitly, or select WorkloadEntries and pods with workloadSelector",
    );
  }
  const hosts = checkHosts(ctx, spec);
  checkAddresses(ctx, spec, resolution);
  const ports = objects(spec.ports);
  const portNames = checkPorts(ctx, ports);
  const facts: ServiceEntryFacts = {
    resolution,
    hosts,
    ports: ports.map(([p]) => p),
    portNames,
    hasAddresses: Array.isArray(spec.addresses) && spec.addresses.length > 0,
  };
  checkTcpPortsNeedAddresses(ctx, facts);
  checkResolution(ctx, spec, facts);
  checkExportTo(ctx, ["spec", "exportTo"], spec.exportTo);
  checkOwnNamespaceExport(ctx, spec.exportTo);
};
