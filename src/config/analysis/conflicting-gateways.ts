// Two Gateways that configure the same workloads, on the same port (and bind address), with
// overlapping server hosts conflict: which server handles a request is undefined (IST0145).
// "Same workloads" means their selected workloads intersect, or — when the input has none of
// them — that their selectors are equal.
import type { Resource } from "../resource.ts";
import { isObj, objects } from "../validation/rules.ts";
import type { Analyzer } from "./analyzer.ts";
import { gatewaySelection } from "./gateway-selection.ts";
import { hostsOverlap, parseServerHost } from "./hosts.ts";
import { formatSelector, isEmpty, stringList } from "./labels.ts";
import type { Workload } from "./mesh-index.ts";

interface Server {
  gateway: Resource;
  index: number;
  port: number;
  bind: string;
  hosts: string[];
  selector: string;
  workloads: ReadonlySet<Workload>;
}

export const conflictingGateways: Analyzer = {
  name: "gateway.conflicts",
  codes: ["IST0145"],
  run(ctx) {
    const servers: Server[] = [];
    for (const gateway of ctx.ofKind("Gateway")) {
      const { selector, workloads } = gatewaySelection(ctx, gateway);
      if (isEmpty(selector)) continue;
      for (const [server, index] of objects(gateway.spec.servers)) {
        const port = isObj(server.port) ? server.port.number : undefined;
        if (typeof port !== "number") continue;
        servers.push({
          gateway,
          index,
          port,
          bind: typeof server.bind === "string" ? server.bind : "",
          hosts: stringList(server.hosts).map((h) => parseServerHost(h, gateway.namespace).host),
          selector: formatSelector(selector),
          workloads: new Set(workloads),
        });
      }
    }
    for (const server of servers) {
      const rivals = servers.filter(
        (other) => other.gateway !== server.gateway && conflict(server, other),
      );
      if (rivals.length === 0) continue;
      const names = [...new Set(rivals.map((r) => `${r.gateway.namespace}/${r.gateway.name}`))];
      const shared = server.hosts.filter((h) =>
        rivals.some((r) => r.hosts.some((o) => hostsOverlap(h, o))),
      );
      ctx.report(
        server.gateway,
        ["spec", "servers", server.index, "port", "number"],
        "IST0145",
        "error",
        `this server conflicts with Gateway ${names.join(", ")}: both configure the workloads selected by ${server.selector} on port ${server.port} for host ${shared.join(", ")}, so which server handles those requests is undefined; merge the Gateways or give them distinct hosts`,
      );
    }
  },
};

function conflict(a: Server, b: Server): boolean {
  if (a.port !== b.port || a.bind !== b.bind) return false;
  if (!a.hosts.some((h) => b.hosts.some((o) => hostsOverlap(h, o)))) return false;
  if (a.workloads.size > 0 && b.workloads.size > 0) {
    for (const w of a.workloads) if (b.workloads.has(w)) return true;
    return false;
  }
  return a.workloads.size === 0 && b.workloads.size === 0 && a.selector === b.selector;
}
