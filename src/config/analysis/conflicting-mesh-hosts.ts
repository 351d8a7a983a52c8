// Sidecars apply one VirtualService per host: several VirtualServices bound to the mesh (no
// `gateways`, or `mesh` among them) that define the same host, visible in a common namespace
// through exportTo, conflict (IST0109).
import type { Resource } from "../resource.ts";
import type { Analyzer } from "./analyzer.ts";
import { MESH_GATEWAY } from "./hosts.ts";
import { stringList } from "./labels.ts";

interface MeshHost {
  vs: Resource;
  index: number;
  /** Namespaces the VirtualService is exported to; "*" for all. */
  scope: "*" | ReadonlySet<string>;
}

export const conflictingMeshHosts: Analyzer = {
  name: "virtualservice.conflicting-mesh-hosts",
  codes: ["IST0109"],
  run(ctx) {
    const byHost = new Map<string, MeshHost[]>();
    for (const vs of ctx.ofKind("VirtualService")) {
      const gateways = stringList(vs.spec.gateways);
      if (gateways.length > 0 && !gateways.includes(MESH_GATEWAY)) continue;
      const scope = exportScope(stringList(vs.spec.exportTo), vs.namespace);
      if (scope !== "*" && scope.size === 0) continue;
      stringList(vs.spec.hosts).forEach((host, index) => {
        const fqdn = ctx.resolveHost(host, vs.namespace);
        const list = byHost.get(fqdn) ?? [];
        if (!list.some((entry) => entry.vs === vs)) list.push({ vs, index, scope });
        byHost.set(fqdn, list);
      });
    }
    for (const [fqdn, entries] of byHost) {
      for (const entry of entries) {
        const others = entries.filter((o) => o.vs !== entry.vs && scopesMeet(o.scope, entry.scope));
        if (others.length === 0) continue;
        const names = others.map((o) => `${o.vs.namespace}/${o.vs.name}`).join(", ");
        ctx.report(
          entry.vs,
          ["spec", "hosts", entry.index],
          "IST0109",
          "error",
          `host ${fqdn} is also defined by VirtualService ${names}, and all are bound to the mesh; sidecars apply only one VirtualService per host, so which routes win is undefined — merge them into a single VirtualService`,
        );
      }
    }
  },
};

function exportScope(exportTo: readonly string[], namespace: string): "*" | Set<string> {
  if (exportTo.length === 0 || exportTo.includes("*")) return "*";
  return new Set(exportTo.filter((e) => e !== "~").map((e) => (e === "." ? namespace : e)));
}

function scopesMeet(a: MeshHost["scope"], b: MeshHost["scope"]): boolean {
  if (a === "*" || b === "*") return true;
  for (const ns of a) if (b.has(ns)) return true;
  return false;
}
