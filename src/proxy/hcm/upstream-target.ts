// The pool key for one upstream stream: the picked host with its cluster's protocol, timeouts,
// bind address and limits. Shared by the router's attempts and its request mirrors; built once per
// cluster config, host, protocol and source address, as every attempt to a host asks for the same.
import type { ClusterStats } from "../stats/stats-store.ts";
import type { UpstreamTlsConnector } from "../tls/upstream-tls.ts";
import type { ClusterConfig } from "../upstream/cluster-config.ts";
import type { Cluster } from "../upstream/cluster-manager.ts";
import { upstreamTlsFor } from "../upstream/dial-host.ts";
import type { Host } from "../upstream/lb/host-set.ts";
import type { PoolLimits, UpstreamHttpProtocol, UpstreamTarget } from "./upstream-types.ts";

/** The targets of one cluster as configured now: rebuilt when CDS replaces its config. */
interface ClusterTargets {
  readonly config: ClusterConfig;
  readonly limits: PoolLimits;
  readonly byHost: WeakMap<Host, HostTargets>;
}

/** One host's targets by downstream protocol, for one source address. */
interface HostTargets {
  readonly sourceAddress: string | undefined;
  http1?: UpstreamTarget;
  http2?: UpstreamTarget;
}

// Weak on both levels: a removed cluster or host takes its targets with it.
const targetsByCluster = new WeakMap<Cluster, ClusterTargets>();

/** The pool a target's streams go to: per cluster, as Envoy's pools are (each enforces its limits). */
export function poolKey(target: UpstreamTarget): string {
  return (
    target.poolKey ??
    `${target.protocol}|${target.address}|${target.port}|${target.sourceAddress ?? ""}|${target.limits?.cluster ?? ""}|${target.tls?.target.key ?? ""}`
  );
}

/** The target for a stream to `host`; the same object for every stream while nothing changes. */
export function upstreamTarget(
  cluster: Cluster,
  host: Host,
  downstreamProtocol: UpstreamHttpProtocol,
  sourceAddress: string | undefined,
  stats: ClusterStats,
  tls?: UpstreamTlsConnector,
): UpstreamTarget {
  const config = cluster.config;
  let targets = targetsByCluster.get(cluster);
  if (
    !targets ||
    targets.config !== config ||
    targets.limits.breakers !== cluster.circuitBreakers ||
    targets.limits.stats !== stats
  ) {
    targets = {
      config,
      limits: {
        cluster: config.name,
        breakers: cluster.circuitBreakers,
        maxRequestsPerConnection: config.maxRequestsPerConnection,
        stats,
      },
      byHost: new WeakMap(),
    };
    targetsByCluster.set(cluster, targets);
  }
  let forHost = targets.byHost.get(host);
  if (!forHost || forHost.sourceAddress !== sourceAddress) {
    forHost = { sourceAddress };
    targets.byHost.set(host, forHost);
  }
  forHost[downstreamProtocol] ??= buildTarget(
    cluster,
    targets.limits,
    host,
    downstreamProtocol,
    sourceAddress,
    tls,
  );
  return forHost[downstreamProtocol];
}

function buildTarget(
  cluster: Cluster,
  limits: PoolLimits,
  host: Host,
  downstreamProtocol: UpstreamHttpProtocol,
  sourceAddress: string | undefined,
  connector: UpstreamTlsConnector | undefined,
): UpstreamTarget {
  const config = cluster.config;
  const tls = upstreamTlsFor(cluster, host, connector, true);
  const protocol =
    config.protocol === "downstream"
      ? downstreamProtocol
      : config.protocol === "http2"
        ? "http2"
        : "http1";
  const bind = config.upstreamBindAddress?.address ?? sourceAddress;
  const target: UpstreamTarget = {
    address: host.address,
    port: host.port,
    protocol,
    connectTimeoutMs: config.connectTimeoutMs,
    idleTimeoutMs: config.idleTimeoutMs,
    ...(bind ? { sourceAddress: bind } : {}),
    limits,
    ...(tls ? { tls } : {}),
  };
  target.poolKey = poolKey(target);
  return target;
}
