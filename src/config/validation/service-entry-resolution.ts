// The ServiceEntry rules that depend on `resolution`: which endpoints each mode accepts, hosts
// that DNS must be able to resolve, and the port/host combinations a proxy can tell apart.
import type { ValidationContext } from "./context.ts";
import { isHttpProtocol, isTcpProtocol, isTlsProtocol } from "./ports.ts";
import { type Obj, objects, present } from "./rules.ts";
import { fqdnProblem } from "./virtual-service-hosts.ts";
import { checkWorkloadFields } from "./workload-entry-fields.ts";

const AUTOALLOCATE_LABEL = "networking.istio.io/enable-autoallocate-ip";

export interface ServiceEntryFacts {
  resolution: string;
  hosts: string[];
  ports: Obj[];
  /** Declared port names (endpoint ports must use them). */
  portNames: ReadonlySet<string>;
  hasAddresses: boolean;
}

function checkNone(ctx: ValidationContext, spec: Obj): void {
  if (Array.isArray(spec.endpoints) && spec.endpoints.length > 0) {
    ctx.error(
      ["spec", "endpoints"],
      "CREMA_VALIDATION_INVALID",
      "resolution NONE forwards to the original destination, so endpoints cannot be set; remove endpoints or use resolution STATIC or DNS",
    );
  }
  if (present(spec.workloadSelector)) {
    ctx.warn(
      ["spec", "workloadSelector"],
      "CREMA_VALIDATION_INVALID",
      "workloadSelector has no effect with resolution NONE; use resolution STATIC to send traffic to the selected workloads",
    );
  }
}

function checkDns(ctx: ValidationContext, spec: Obj, facts: ServiceEntryFacts): void {
  const endpoints = objects(spec.endpoints);
  if (endpoints.length === 0) {
    facts.hosts.forEach((host, i) => {
      const problem = fqdnProblem(host);
      if (!problem) return;
      ctx.error(
        ["spec", "hosts", i],
        "CREMA_VALIDATION_HOST",
        `host ${JSON.stringify(host)} cannot be resolved by ${facts.resolution} without endpoints (${problem}); list endpoints, or use resolution NONE for wildcard hosts`,
      );
    });
  }
  if (facts.resolution === "DNS_ROUND_ROBIN" && endpoints.length > 1) {
    ctx.error(
      ["spec", "endpoints", 1],
      "CREMA_VALIDATION_INVALID",
      `DNS_ROUND_ROBIN takes at most one endpoint (found ${endpoints.length}); keep one, or use resolution DNS to balance over several`,
    );
  }
  for (const [endpoint, i] of endpoints) {
    checkWorkloadFields(ctx, ["spec", "endpoints", i], endpoint, {
      mode: "dns",
      servicePorts: facts.portNames,
    });
  }
  if (facts.hasAddresses && facts.hosts.length > 1) {
    const tcp = facts.ports.findIndex((p) => isTcpProtocol(p.protocol));
    if (tcp >= 0) {
      ctx.warn(
        ["spec", "hosts"],
        "CREMA_VALIDATION_INVALID",
        "a ServiceEntry with addresses and a TCP port should have a single host: TCP traffic to the address cannot tell the hosts apart; split it into one ServiceEntry per host",
      );
    }
  }
}

/** Resolution-specific rules, then the rules for several hosts. */
export function checkResolution(ctx: ValidationContext, spec: Obj, facts: ServiceEntryFacts): void {
  switch (facts.resolution) {
    case "NONE":
      checkNone(ctx, spec);
      break;
    case "STATIC":
      for (const [endpoint, i] of objects(spec.endpoints)) {
        checkWorkloadFields(ctx, ["spec", "endpoints", i], endpoint, {
          mode: "static",
          servicePorts: facts.portNames,
        });
      }
      break;
    case "DNS":
    case "DNS_ROUND_ROBIN":
      checkDns(ctx, spec, facts);
      break;
  }
  if (facts.resolution !== "NONE" && facts.hosts.length > 1) {
    const at = facts.ports.findIndex(
      (p) => !isHttpProtocol(p.protocol) && !isTlsProtocol(p.protocol),
    );
    if (at >= 0) {
      ctx.error(
        ["spec", "ports", at, "protocol"],
        "CREMA_VALIDATION_INVALID",
        `with several hosts, every port must be HTTP-based or TLS so the proxy can tell the hosts apart by Host header or SNI; port ${String(facts.ports[at]!.name)} is ${typeof facts.ports[at]!.protocol === "string" && facts.ports[at]!.protocol !== "" ? facts.ports[at]!.protocol : "unset (TCP)"}; set its protocol or split the hosts into separate ServiceEntries`,
      );
    }
  }
}

/**
 * Without addresses and without automatic IP allocation (resolution NONE, or opted out with
 * the enable-autoallocate-ip label), a TCP port captures that port for every destination.
 */
export function checkTcpPortsNeedAddresses(ctx: ValidationContext, facts: ServiceEntryFacts): void {
  if (facts.hasAddresses) return;
  const optOut = ctx.resource.labels[AUTOALLOCATE_LABEL]?.toLowerCase() === "false";
  if (facts.resolution !== "NONE" && !optOut) return;
  facts.ports.forEach((port, i) => {
    const protocol = port.protocol;
    if (protocol !== undefined && protocol !== "" && protocol !== "TCP") return;
    ctx.warn(
      ["spec", "ports", i],
      "CREMA_VALIDATION_ADDRESS",
      `port ${String(port.number)} is ${protocol === "TCP" ? "TCP" : "unset (treated as TCP)"} and the ServiceEntry has no addresses${optOut ? " and opts out of automatic IP allocation" : " (resolution NONE gets no automatic IP)"}, so it matches all traffic on that port; add addresses or set an HTTP or TLS protocol`,
    );
  });
}
