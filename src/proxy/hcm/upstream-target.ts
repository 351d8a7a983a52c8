// The pool key for one upstream stream: the picked host with its cluster's protocol, timeouts,
// bind address and limits. Shared by the router's attempts and its request mirrors; built once per
// cluster config, host, protocol and source address, as every attempt to a host asks for the same.
import { isIP } from "node:net";
import { addressWithoutPort } from "../access-log/command-operators.ts";
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
  /** With the cluster's auto_sni: by protocol and request host. */
  byName?: Map<string, UpstreamTarget>;
}

/** Request hosts remembered per host; more get a target each time (their pools still dedupe). */
const MAX_AUTO_SNI_NAMES = 64;

// Weak on both levels: a removed cluster or host takes its targets with it.
const targetsByCluster = new WeakMap<Cluster, ClusterTargets>();

/** The pool a target's streams go to: per cluster, as Envoy's pools are (each enforces its limits). */
export function poolKey(target: UpstreamTarget): string {
  return (
    target.poolKey ??
    `${target.protocol}|${target.address}|${target.port}|${target.sourceAddress ?? ""}|${target.limits?.cluster ?? ""}|${target.tls?.target.key ?? ""}|${target.tls?.target.autoSni ?? ""}`
  );
}

/**
 * The target for a stream to `host`; the same object for every stream while nothing changes.
 * `authority`: the request's, which names the TLS server when the cluster has auto_sni.
 */
export function upstreamTarget(
  cluster: Cluster,
  host: Host,
  downstreamProtocol: UpstreamHttpProtocol,
  sourceAddress: string | undefined,
  stats: ClusterStats,
  tls?: UpstreamTlsConnector,
  authority?: string,
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
  const target = forHost[downstreamProtocol];
  const autoSni = config.autoSni;
  const name = autoSni && target.tls && authority !== undefined ? sniOf(authority) : undefined;
  if (!autoSni || !name) return target;
  const key = `${downstreamProtocol}|${name}`;
  forHost.byName ??= new Map();
  const byName = forHost.byName;
  let named = byName.get(key);
  if (!named) {
    named = withAutoSni(target, name, autoSni.sanValidation);
    if (byName.size < MAX_AUTO_SNI_NAMES) byName.set(key, named);
  }
  return named;
}

/** The host of an :authority, as SNI: without the port; none for an IP address (RFC 6066). */
function sniOf(authority: string): string | undefined {
  const host = addressWithoutPort(authority);
  return !host || isIP(host) !== 0 ? undefined : host;
}

function withAutoSni(base: UpstreamTarget, name: string, sanValidation: boolean): UpstreamTarget {
  const tls = base.tls!;
  const target: UpstreamTarget = {
    ...base,
    tls: {
      connector: tls.connector,
      target: { ...tls.target, autoSni: name, ...(sanValidation ? { verifySan: name } : {}) },
    },
  };
  delete target.poolKey;
  target.poolKey = poolKey(target);
  return target;
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
    ...(config.maxConnectionDurationMs
      ? { maxConnectionDurationMs: config.maxConnectionDurationMs }
      : {}),
    ...(bind ? { sourceAddress: bind } : {}),
    limits,
    ...(tls ? { tls } : {}),
  };
  target.poolKey = poolKey(target);
  return target;
}
