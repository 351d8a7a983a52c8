// VirtualService destinations must exist (IST0101): the host must be a Service or ServiceEntry
// host visible from the VirtualService's namespace, a given port must be one of its ports, and a
// named subset must be defined by a DestinationRule for that host. A destination without a port
// whose service has several ports is ambiguous (IST0112).
import type { Resource } from "../resource.ts";
import { objects } from "../validation/rules.ts";
import type { AnalysisContext, Analyzer } from "./analyzer.ts";
import { type RouteDestination, routeDestinations } from "./destinations.ts";
import { hostCovers } from "./hosts.ts";
import type { MeshService } from "./mesh-index.ts";

export const virtualServiceDestinations: Analyzer = {
  name: "virtualservice.destinations",
  codes: ["IST0101", "IST0112"],
  run(ctx) {
    const subsets = subsetIndex(ctx);
    for (const vs of ctx.ofKind("VirtualService")) {
      for (const destination of routeDestinations(vs)) {
        const fqdn = ctx.resolveHost(destination.host, vs.namespace);
        const services = ctx.servicesForHost(destination.host, vs.namespace);
        if (services.length === 1) checkPort(ctx, vs, destination, services[0]!);
        if (services.length === 0) {
          ctx.report(
            vs,
            [...destination.path, "host"],
            "IST0101",
            "error",
            `destination host ${JSON.stringify(destination.host)}${fqdn === destination.host ? "" : ` (${fqdn})`} not found: no Service or ServiceEntry visible from namespace ${vs.namespace} has that host, so requests routed there fail with 503 (NC); fix the host, create the Service, or declare an external host with a ServiceEntry`,
          );
        }
        const subset = destination.subset;
        if (subset === undefined) continue;
        const defined = subsets.some(
          (s) => s.names.has(subset) && (s.host === fqdn || hostCovers(s.host, fqdn)),
        );
        if (!defined) {
          ctx.report(
            vs,
            [...destination.path, "subset"],
            "IST0101",
            "error",
            `subset ${JSON.stringify(subset)} of host ${fqdn} not found: no DestinationRule for that host defines it, so requests routed to it fail with 503 (NC); add "- name: ${subset}" with the pod labels to the DestinationRule's subsets, or route to an existing subset`,
          );
        }
      }
    }
  },
};

/** The destination port must be a port of the service; without one, the service needs a single port. */
function checkPort(
  ctx: AnalysisContext,
  vs: Resource,
  destination: RouteDestination,
  service: MeshService,
): void {
  const numbers = [...new Set(service.ports.map((p) => p.number))];
  if (numbers.length === 0) return;
  const name = `${service.resource.kind} ${service.namespace}/${service.resource.name}`;
  if (destination.port === undefined) {
    if (numbers.length < 2) return;
    ctx.report(
      vs,
      [...destination.path, "host"],
      "IST0112",
      "error",
      `destination ${JSON.stringify(destination.host)} names no port, but ${name} exposes several (${numbers.join(", ")}); add port: {number: …} to say which one this route sends to`,
    );
  } else if (!numbers.includes(destination.port)) {
    ctx.report(
      vs,
      [...destination.path, "port", "number"],
      "IST0101",
      "error",
      `port ${destination.port} of ${JSON.stringify(destination.host)} not found: ${name} exposes ${numbers.join(", ")}; use one of those ports`,
    );
  }
}

interface Subsets {
  host: string;
  names: ReadonlySet<string>;
  rule: Resource;
}

function subsetIndex(ctx: AnalysisContext): Subsets[] {
  return ctx.ofKind("DestinationRule").flatMap((rule) =>
    typeof rule.spec.host === "string"
      ? [
          {
            host: ctx.resolveHost(rule.spec.host, rule.namespace),
            names: new Set(
              objects(rule.spec.subsets)
                .map(([s]) => s.name)
                .filter((n): n is string => typeof n === "string"),
            ),
            rule,
          },
        ]
      : [],
  );
}
