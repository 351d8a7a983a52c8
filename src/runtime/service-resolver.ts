// What kube-proxy and cluster DNS answer for a pod without a sidecar: a host as a client writes
// it (`name`, `name.ns`, `name.ns.svc`, FQDN, or a ClusterIP) and a Service port → the ready
// endpoints of that Kubernetes Service. Pure: the node forwarder (node-forwarder.ts) calls it
// for every connection over the control plane's current MeshSnapshot.
import { isIP } from "node:net";
import type { Service } from "../control-plane/model/service.ts";
import type { MeshSnapshot } from "../control-plane/model/snapshot.ts";

/** Where to connect: a pod IP (or address) and the port it listens on (the target port). */
export interface ResolvedEndpoint {
  address: string;
  port: number;
}

export type ServiceResolution =
  /** No Kubernetes Service by that name (a cluster's DNS would answer NXDOMAIN). */
  | { kind: "unknown-host"; host: string }
  /** The Service exists but has no TCP port `port`. */
  | { kind: "unknown-port"; hostname: string; port: number }
  /** The Service port exists but no ready endpoint backs it (a cluster refuses the connection). */
  | { kind: "no-ready-endpoints"; hostname: string; port: number }
  | {
      kind: "endpoints";
      hostname: string;
      port: number;
      endpoints: readonly ResolvedEndpoint[];
    };

/** A pod's resolv.conf in Kubernetes: `options ndots:5`. */
const NDOTS = 5;

/**
 * The names cluster DNS tries for `host` from a pod in `namespace`, in order: the search path
 * `<ns>.svc.<suffix>`, `svc.<suffix>`, `<suffix>` first unless the name has at least ndots
 * dots; a trailing dot makes the name absolute.
 */
export function dnsCandidates(host: string, namespace: string, domainSuffix: string): string[] {
  const name = host.toLowerCase();
  if (name.endsWith(".")) return [name.slice(0, -1)];
  const searched = [`${namespace}.svc.${domainSuffix}`, `svc.${domainSuffix}`, domainSuffix].map(
    (suffix) => `${name}.${suffix}`,
  );
  const dots = name.split(".").length - 1;
  return dots >= NDOTS ? [name, ...searched] : [...searched, name];
}

/** Kubernetes Services only: kube-proxy and cluster DNS know nothing of ServiceEntries. */
function findService(snapshot: MeshSnapshot, namespace: string, host: string): Service | undefined {
  const services = snapshot.services.filter((s) => s.kind === "Service");
  if (isIP(host) !== 0) return services.find((s) => s.addresses.includes(host));
  for (const candidate of dnsCandidates(host, namespace, snapshot.meshConfig.domainSuffix)) {
    const service = services.find((s) => s.hostname === candidate);
    if (service) return service;
  }
  return undefined;
}

/**
 * The ready endpoints of the Kubernetes Service that a client pod in `namespace` reaches as
 * `host:port` — `host` as the client wrote it (short names resolve in `namespace`, as a pod's
 * DNS search path does), `port` the Service port (80 when the URL names none). The parameters
 * after `snapshot` are the node forwarder's ResolveService. Istio's exportTo does not apply: it
 * scopes sidecars, not DNS. A headless Service's endpoints are given with their target ports.
 */
export function resolveServiceEndpoints(
  snapshot: MeshSnapshot,
  namespace: string,
  host: string,
  port: number,
): ServiceResolution {
  const service = findService(snapshot, namespace, host);
  if (!service) return { kind: "unknown-host", host };
  const { hostname } = service;
  if (!service.ports.some((p) => p.port === port && p.protocol !== "UDP"))
    return { kind: "unknown-port", hostname, port };
  const endpoints = snapshot
    .endpointsOf(hostname, port, service.namespace)
    .filter((e) => e.healthy)
    .map((e) => ({ address: e.address, port: e.port }));
  if (endpoints.length === 0) return { kind: "no-ready-endpoints", hostname, port };
  return { kind: "endpoints", hostname, port, endpoints };
}
