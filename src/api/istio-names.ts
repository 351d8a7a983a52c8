// Istio's names for Envoy resources and proxies, built and parsed in one place:
// clusters `outbound|9080|v1|reviews.default.svc.cluster.local`, `inbound|8080||`,
// listeners `0.0.0.0_9080` / `10.0.0.5_443`, route configs named by port, node IDs
// `sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local`.

export const BLACKHOLE_CLUSTER = "BlackHoleCluster";
export const PASSTHROUGH_CLUSTER = "PassthroughCluster";
export const INBOUND_PASSTHROUGH_CLUSTER = "InboundPassthroughCluster";
export const VIRTUAL_OUTBOUND_LISTENER = "virtualOutbound";
export const VIRTUAL_INBOUND_LISTENER = "virtualInbound";
export const DEFAULT_DOMAIN_SUFFIX = "cluster.local";

export type TrafficDirection = "inbound" | "outbound";

export interface ClusterName {
  direction: TrafficDirection;
  port: number;
  subset: string;
  host: string;
}

export function buildClusterName({ direction, port, subset, host }: ClusterName): string {
  return `${direction}|${port}|${subset}|${host}`;
}

export function parseClusterName(name: string): ClusterName | undefined {
  const parts = name.split("|");
  if (parts.length !== 4) return undefined;
  const [direction, port, subset, host] = parts as [string, string, string, string];
  if ((direction !== "inbound" && direction !== "outbound") || !/^\d+$/.test(port))
    return undefined;
  return { direction, port: Number(port), subset, host };
}

/** `0.0.0.0_9080`, `10.0.0.5_443`, `[::]_80` is written `::_80` as Istio does. */
export function buildListenerName(address: string, port: number): string {
  return `${address}_${port}`;
}

export function parseListenerName(name: string): { address: string; port: number } | undefined {
  const at = name.lastIndexOf("_");
  if (at <= 0) return undefined;
  const port = name.slice(at + 1);
  if (!/^\d+$/.test(port)) return undefined;
  return { address: name.slice(0, at), port: Number(port) };
}

/** Outbound HTTP route configurations are named by port ("9080"); gateways use `http.8080`. */
export function buildRouteConfigName(
  port: number,
  kind: "sidecar" | "gateway" = "sidecar",
): string {
  return kind === "gateway" ? `http.${port}` : String(port);
}

export type ProxyType = "sidecar" | "router";

export interface NodeId {
  type: ProxyType;
  ip: string;
  /** `pod-name.namespace` */
  id: string;
  /** `namespace.svc.cluster.local` */
  domain: string;
}

export function buildNodeId({ type, ip, id, domain }: NodeId): string {
  return `${type}~${ip}~${id}~${domain}`;
}

export function parseNodeId(nodeId: string): NodeId | undefined {
  const parts = nodeId.split("~");
  if (parts.length !== 4) return undefined;
  const [type, ip, id, domain] = parts as [string, string, string, string];
  if (type !== "sidecar" && type !== "router") return undefined;
  if (!ip || !id) return undefined;
  return { type, ip, id, domain };
}

/** `pod.namespace` → pod name and namespace. */
export function splitPodId(id: string): { name: string; namespace: string } {
  const dot = id.lastIndexOf(".");
  return dot < 0
    ? { name: id, namespace: "" }
    : { name: id.slice(0, dot), namespace: id.slice(dot + 1) };
}

/** Kubernetes Service FQDN: `name.namespace.svc.cluster.local`. */
export function serviceFqdn(
  name: string,
  namespace: string,
  domainSuffix = DEFAULT_DOMAIN_SUFFIX,
): string {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}

/** SPIFFE identity `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}
