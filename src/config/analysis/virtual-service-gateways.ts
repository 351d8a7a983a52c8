// VirtualService → Gateway bindings: every gateway a VirtualService names must exist (IST0101),
// and must accept at least one of its hosts (IST0132); a host that none of its gateways accepts
// (on a VirtualService not bound to the mesh) is reported too.
import type { Resource } from "../resource.ts";
import { items, objects } from "../validation/rules.ts";
import type { AnalysisContext, Analyzer } from "./analyzer.ts";
import { hostsOverlap, MESH_GATEWAY, parseGatewayRef, parseServerHost } from "./hosts.ts";
import { stringList } from "./labels.ts";

export const virtualServiceGateways: Analyzer = {
  name: "virtualservice.gateways",
  codes: ["IST0101", "IST0132"],
  run(ctx) {
    const gateways = new Map<string, Resource>();
    for (const gw of ctx.ofKind("Gateway")) gateways.set(`${gw.namespace}/${gw.name}`, gw);
    for (const vs of ctx.ofKind("VirtualService")) checkVirtualService(ctx, vs, gateways);
  },
};

function checkVirtualService(
  ctx: AnalysisContext,
  vs: Resource,
  gateways: ReadonlyMap<string, Resource>,
): void {
  const hosts = stringList(vs.spec.hosts);
  const refs = items(vs.spec.gateways);
  const bound: Array<{ gateway: Resource; accepts: boolean[] }> = [];
  for (const [ref, i] of refs) {
    if (typeof ref !== "string" || ref === MESH_GATEWAY) continue;
    const { namespace, name } = parseGatewayRef(ref, vs.namespace);
    const gateway = gateways.get(`${namespace}/${name}`);
    if (!gateway) {
      ctx.report(
        vs,
        ["spec", "gateways", i],
        "IST0101",
        "error",
        `gateway ${JSON.stringify(ref)} not found: there is no Gateway ${name} in namespace ${namespace}, so this VirtualService is bound to nothing there; create the Gateway or fix the name (write namespace/name for a Gateway in another namespace)`,
      );
      continue;
    }
    const accepts = hosts.map((host) => gatewayAccepts(ctx, gateway, host, vs.namespace));
    bound.push({ gateway, accepts });
    if (hosts.length > 0 && !accepts.some(Boolean)) {
      ctx.report(
        vs,
        ["spec", "gateways", i],
        "IST0132",
        "warning",
        `Gateway ${namespace}/${name} accepts none of this VirtualService's hosts (${hosts.join(", ")}), so its routes are never used on that gateway; add a matching host to one of the Gateway's servers (e.g. hosts: ["${hosts[0]}"]) or correct the VirtualService's hosts`,
      );
    }
  }
  const meshBound = refs.length === 0 || refs.some(([ref]) => ref === MESH_GATEWAY);
  if (meshBound || !bound.some((b) => b.accepts.some(Boolean))) return;
  hosts.forEach((host, k) => {
    if (bound.some((b) => b.accepts[k])) return;
    const names = bound.map((b) => `${b.gateway.namespace}/${b.gateway.name}`).join(", ");
    ctx.report(
      vs,
      ["spec", "hosts", k],
      "IST0132",
      "warning",
      `host ${JSON.stringify(host)} is accepted by none of the gateways this VirtualService is bound to (${names}), so requests for it are never routed by it; add the host to a Gateway server or remove it here`,
    );
  });
}

/** Whether some server of `gateway` accepts `host` for a VirtualService in `vsNamespace`. */
function gatewayAccepts(
  ctx: AnalysisContext,
  gateway: Resource,
  host: string,
  vsNamespace: string,
): boolean {
  const raw = host.toLowerCase();
  const resolved = ctx.resolveHost(host, vsNamespace);
  for (const [server] of objects(gateway.spec.servers)) {
    for (const entry of stringList(server.hosts)) {
      const { namespace, host: serverHost } = parseServerHost(entry, gateway.namespace);
      if (namespace !== "*" && namespace !== vsNamespace) continue;
      if (hostsOverlap(serverHost, raw) || hostsOverlap(serverHost, resolved)) return true;
    }
  }
  return false;
}
