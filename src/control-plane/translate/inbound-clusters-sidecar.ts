// Inbound CDS of a sidecar whose Sidecar resource declares `ingress` listeners, as istiod's
// buildInboundClustersFromSidecar: one `inbound|<port>||` cluster per ingress port, sent to the
// listener's `defaultEndpoint` (STATIC), or ORIGINAL_DST when it has none; the Sidecar's
// `ingress[].connectionPool` / `inboundConnectionPool` replaces the DestinationRule's pool.
import { isIPv4, isIPv6 } from "node:net";
import { INBOUND_PASSTHROUGH_CLUSTER } from "../../api/istio-names.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { Obj } from "./destination-rules.ts";
import {
  buildInboundCluster,
  buildInboundPassthroughCluster,
  type InboundEndpoint,
  type InboundOptions,
  type InboundTarget,
  inboundServiceTargets,
} from "./inbound-clusters.ts";
import { sortedByName } from "./proxy-resources.ts";
import type { IngressListenerScope, SidecarScope } from "./sidecar-scope.ts";

const UNIX_PREFIX = "unix://";

/** Istio's getWildcardsAndLocalHost: the loopback addresses of the proxy's IP families. */
function localHosts(proxy: ProxyNode): string[] {
  const v4 = proxy.ips.length === 0 || proxy.ips.some((ip) => isIPv4(ip));
  const v6 = proxy.ips.some((ip) => isIPv6(ip));
  return [...(v4 ? ["127.0.0.1"] : []), ...(v6 ? ["::1"] : [])];
}

/** "host:port" or "[v6]:port" → parts, or undefined when malformed (Go's net.SplitHostPort). */
function splitHostPort(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(value);
  if (!match) return undefined;
  return { host: match[1] ?? match[2] ?? "", port: Number(match[3]) };
}

/**
 * Where `defaultEndpoint` sends, as istiod resolves it: `unix://` paths as pipes; `0.0.0.0` and
 * `[::]` the proxy's first IPv4/IPv6 (else the matching loopback); `127.0.0.1` / `[::1]` the
 * loopback of the proxy's IP family, preferring the one written. No defaultEndpoint is
 * ORIGINAL_DST; an unparsable one is undefined (istiod skips the listener's cluster).
 */
export function defaultEndpointOf(
  defaultEndpoint: string | undefined,
  proxy: ProxyNode,
): InboundEndpoint | undefined {
  if (!defaultEndpoint) return { kind: "original_dst" };
  if (defaultEndpoint.startsWith(UNIX_PREFIX)) {
    return { kind: "pipe", path: defaultEndpoint.slice(UNIX_PREFIX.length) };
  }
  const parts = splitHostPort(defaultEndpoint);
  if (!parts) return undefined;
  const locals = localHosts(proxy);
  let address = "";
  switch (parts.host) {
    case "0.0.0.0":
      address = proxy.ips.find((ip) => isIPv4(ip)) ?? "127.0.0.1";
      break;
    case "::":
      address = proxy.ips.find((ip) => isIPv6(ip)) ?? "::1";
      break;
    case "127.0.0.1":
      address = locals.includes("127.0.0.1") ? "127.0.0.1" : (locals[0] ?? "");
      break;
    case "::1":
      address = locals.includes("::1") ? "::1" : (locals[0] ?? "");
      break;
  }
  // Any other host leaves istiod with an empty bind: an ORIGINAL_DST cluster.
  if (!address) return { kind: "original_dst" };
  return { kind: "socket", address, port: parts.port };
}

/** Istio's SidecarScope.InboundConnectionPoolForPort. */
export function inboundConnectionPoolFor(scope: SidecarScope, port: number): Obj | undefined {
  const sidecar = scope.sidecar;
  if (!sidecar) return undefined;
  const ingress = scope.ingressListeners.find((l) => l.port.number === port && l.connectionPool);
  if (ingress?.connectionPool) return ingress.connectionPool;
  const pool = sidecar.spec.inboundConnectionPool;
  return pool && typeof pool === "object" && !Array.isArray(pool) ? (pool as Obj) : undefined;
}

/** Istio's findOrCreateService: the service targeting the ingress port, or a placeholder. */
function ingressTarget(
  listener: IngressListenerScope,
  targets: readonly InboundTarget[],
  sidecar: { name: string; namespace: string },
): { target: InboundTarget; telemetry: boolean } {
  const port = {
    name: listener.port.name,
    port: listener.port.number,
    protocol: listener.port.protocol,
  };
  const real = targets.find((t) => t.targetPort === listener.port.number);
  if (real) return { target: { service: real.service, port, targetPort: 0 }, telemetry: true };
  const placeholder: Service = {
    hostname: `${sidecar.name}.${sidecar.namespace}`,
    namespace: sidecar.namespace,
    name: sidecar.name,
    kind: "Service",
    addresses: [],
    ports: [],
    resolution: "STATIC",
    location: "MESH_EXTERNAL",
    exportTo: ["*"],
    labels: {},
  };
  return { target: { service: placeholder, port, targetPort: 0 }, telemetry: false };
}

/** The inbound clusters of a proxy whose Sidecar has ingress listeners, plus InboundPassthroughCluster. */
export function buildSidecarIngressClusters(
  snapshot: MeshSnapshot,
  proxy: ProxyNode,
  scope: SidecarScope,
  options: InboundOptions = {},
): Map<string, JsonObject> {
  const sidecar = scope.sidecar;
  const out: Array<[string, JsonObject]> = [];
  if (sidecar) {
    const targets = inboundServiceTargets(snapshot, proxy);
    for (const listener of scope.ingressListeners) {
      const endpoint = defaultEndpointOf(listener.defaultEndpoint, proxy);
      if (!endpoint) continue;
      const { target, telemetry } = ingressTarget(listener, targets, sidecar);
      const pool = inboundConnectionPoolFor(scope, listener.port.number);
      const cluster = buildInboundCluster(
        snapshot,
        proxy,
        {
          clusterPort: listener.port.number,
          endpoint,
          targets: [target],
          telemetry,
          ...(pool ? { connectionPool: pool } : {}),
        },
        options,
      );
      const name = String(cluster.name);
      if (!out.some(([n]) => n === name)) out.push([name, cluster]);
    }
  }
  out.push([INBOUND_PASSTHROUGH_CLUSTER, buildInboundPassthroughCluster(snapshot, proxy, options)]);
  return sortedByName(out);
}
