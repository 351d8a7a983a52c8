// Type URLs of the xDS resource types, as they appear in DiscoveryRequest.type_url.

const PREFIX = "type.googleapis.com/";

export const TYPE_URL = {
  listener: `${PREFIX}envoy.config.listener.v3.Listener`,
  routeConfiguration: `${PREFIX}envoy.config.route.v3.RouteConfiguration`,
  cluster: `${PREFIX}envoy.config.cluster.v3.Cluster`,
  clusterLoadAssignment: `${PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`,
  secret: `${PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`,
  virtualHost: `${PREFIX}envoy.config.route.v3.VirtualHost`,
} as const;

export type ResourceTypeUrl = (typeof TYPE_URL)[keyof typeof TYPE_URL];

/** Short names used in logs, debug output and metrics (Istio's: LDS, RDS, CDS, EDS, SDS). */
export const TYPE_SHORT_NAME: Record<string, string> = {
  [TYPE_URL.listener]: "LDS",
  [TYPE_URL.routeConfiguration]: "RDS",
  [TYPE_URL.cluster]: "CDS",
  [TYPE_URL.clusterLoadAssignment]: "EDS",
  [TYPE_URL.secret]: "SDS",
  [TYPE_URL.virtualHost]: "VHDS",
};

/** Envoy's warming order: clusters before endpoints, listeners before routes. */
export const PUSH_ORDER: readonly string[] = [
  TYPE_URL.cluster,
  TYPE_URL.clusterLoadAssignment,
  TYPE_URL.listener,
  TYPE_URL.routeConfiguration,
  TYPE_URL.secret,
];

export function messageNameOf(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

export function shortTypeName(typeUrl: string): string {
  return TYPE_SHORT_NAME[typeUrl] ?? messageNameOf(typeUrl);
}
