// One upstream connection to a cluster's host for a raw TCP stream (TCP proxy, HTTP upgrades):
// from the cluster's bind address, with the outcome recorded in the cluster's connect stats and
// its outlier detector, as Envoy's TCP connection pool does. Connections carrying HTTP never
// offer Istio's `istio-peer-exchange`: Istio's `istio.alpn` HTTP filter replaces the ALPN list of
// its upstream HTTP connections, so only TCP proxying ever negotiates the metadata exchange.
import type { Socket } from "node:net";
import type { ClusterStats } from "../stats/stats-store.ts";
import { ISTIO_PEER_EXCHANGE } from "../telemetry/tcp-metadata-exchange.ts";
import { NO_SECRETS } from "../tls/secret-provider.ts";
import type { UpstreamTlsConfig } from "../tls/tls-context.ts";
import { UpstreamTlsConnector } from "../tls/upstream-tls.ts";
import type { Cluster } from "./cluster-manager.ts";
import { DialError, dial, type UpstreamTls } from "./dial.ts";
import type { Host } from "./lb/host-set.ts";
import { transportSocketFor } from "./transport-socket-match.ts";

export interface DialHostOptions {
  /** The proxy's default source address (the cluster's upstream_bind_address wins). */
  sourceAddress: string | undefined;
  stats: ClusterStats;
  /**
   * What an established connection tells the outlier detector: "connect" when an HTTP status
   * follows (upgrades), "final" when none will (TCP proxy).
   */
  success: "connect" | "final";
  /** Opens TLS to hosts whose transport socket asks for it (absent: one without secrets). */
  tls?: UpstreamTlsConnector | undefined;
  /** The connection carries HTTP (an upgrade), not a TCP proxy's bytes. */
  http?: boolean;
}

let withoutSecrets: UpstreamTlsConnector | undefined;

/** For callers given no connector (hand-built deps): TLS still happens, with no secrets. */
function defaultConnector(): UpstreamTlsConnector {
  withoutSecrets ??= new UpstreamTlsConnector(NO_SECRETS);
  return withoutSecrets;
}

const httpAlpnByConfig = new WeakMap<UpstreamTlsConfig, string[]>();

/** The context's ALPN list without `istio-peer-exchange`, worked out once per context. */
function httpAlpn(config: UpstreamTlsConfig): string[] {
  let alpn = httpAlpnByConfig.get(config);
  if (!alpn) {
    alpn = config.common.alpnProtocols.filter((p) => p !== ISTIO_PEER_EXCHANGE);
    httpAlpnByConfig.set(config, alpn);
  }
  return alpn;
}

/**
 * The TLS a connection to `host` needs, with the connector that opens it (undefined: TCP).
 * `http`: the connection carries HTTP, so it does not offer the TCP metadata exchange.
 */
export function upstreamTlsFor(
  cluster: Cluster,
  host: Host,
  connector: UpstreamTlsConnector | undefined,
  http = false,
): UpstreamTls | undefined {
  const socket = transportSocketFor(cluster.config, host);
  if (socket?.kind !== "tls") return undefined;
  const alpn = http ? httpAlpn(socket.tls) : undefined;
  return {
    connector: connector ?? defaultConnector(),
    target: {
      config: socket.tls,
      key: socket.key,
      ...(host.hostname ? { hostname: host.hostname } : {}),
      ...(alpn && alpn.length !== socket.tls.common.alpnProtocols.length ? { alpn } : {}),
    },
  };
}

/** Connects to `host`, or rejects with a DialError once the failure is recorded. */
export async function dialHost(
  cluster: Cluster,
  host: Host,
  options: DialHostOptions,
): Promise<Socket> {
  const bind = cluster.config.upstreamBindAddress?.address ?? options.sourceAddress;
  try {
    const tls = upstreamTlsFor(cluster, host, options.tls, options.http);
    const upstream = await dial({
      address: host.address,
      port: host.port,
      connectTimeoutMs: cluster.config.connectTimeoutMs,
      ...(bind ? { localAddress: bind } : {}),
      ...(tls ? { tls } : {}),
    });
    cluster.outlierDetector?.onResult(host, { localOriginSuccess: options.success });
    return upstream;
  } catch (err) {
    const failure =
      err instanceof DialError ? err : new DialError("remote_connection_failure", String(err));
    const timeout = failure.reason === "connection_timeout";
    options.stats.upstreamCxConnectFail.inc();
    if (timeout) options.stats.upstreamCxConnectTimeout.inc();
    cluster.outlierDetector?.onResult(host, {
      localOriginFailure: timeout ? "timeout" : "connect",
    });
    throw failure;
  }
}
