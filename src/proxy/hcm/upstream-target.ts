// The pool key for one upstream stream: the picked host with its cluster's protocol, timeouts,
// bind address and limits. Shared by the router's attempts and its request mirrors.
import type { Cluster } from "../upstream/cluster-manager.ts";
import type { Host } from "../upstream/lb/host-set.ts";
import type { UpstreamTarget } from "./upstream-types.ts";

export function upstreamTarget(
  cluster: Cluster,
  host: Host,
  downstreamProtocol: "http1" | "http2",
  sourceAddress: string | undefined,
): UpstreamTarget {
  const config = cluster.config;
  const protocol =
    config.protocol === "downstream"
      ? downstreamProtocol
      : config.protocol === "http2"
        ? "http2"
        : "http1";
  const bind = config.upstreamBindAddress?.address ?? sourceAddress;
  return {
    address: host.address,
    port: host.port,
    protocol,
    connectTimeoutMs: config.connectTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    ...(bind ? { sourceAddress: bind } : {}),
    limits: {
      cluster: config.name,
      breakers: cluster.circuitBreakers,
      maxRequestsPerConnection: config.maxRequestsPerConnection,
    },
  };
}
