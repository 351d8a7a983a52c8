// What `crema proxy` is started with (flags and Istio-style environment, resolved by the CLI) and
// what a running proxy exposes to its caller.
import type { Clock } from "../base/clock.ts";
import type { Logger } from "../base/logger.ts";
import type { JsonObject } from "../xds/proto-json.ts";
import type { AppProbers } from "./agent/app-probers.ts";
import type { AppMetricsTarget } from "./agent/metrics-merge.ts";
import type { SecretProvider } from "./tls/secret-provider.ts";

export type ProxyType = "sidecar" | "router";

export interface ProxyOptions {
  /** gRPC target of the control plane's ADS server ("host:port"). */
  xdsAddress: string;
  /** Envoy's Node message as proto3 JSON: id `type~ip~pod.ns~ns.svc.cluster.local`, cluster,
   * metadata (NAME, NAMESPACE, LABELS, INSTANCE_IPS, SERVICE_ACCOUNT …), locality. */
  node: JsonObject;
  type: ProxyType;
  /**
   * xDS over TLS (Istio's 15012): the control plane's certificate is checked against the mesh
   * roots under `serverName`, and the proxy presents its workload certificate (from `secrets`).
   * Absent: plaintext xDS.
   */
  xdsTls?: { serverName: string; rootsPem: string | undefined };
  /** xDS flavour (default "sotw"). */
  xdsProtocol?: "sotw" | "delta";
  /** Admin server (Envoy's 15000), default 127.0.0.1:15000; port 0 picks one. */
  adminAddress?: { host: string; port: number };
  /** Readiness/health server (the agent's 15021 `/healthz/ready`); port 0 picks one; absent = none. */
  readinessAddress?: { host: string; port: number };
  /** The agent's status server (Istio's 15020: `/app-health/…` probes, `/healthz/ready`); port 0
   * picks one; absent = none. */
  statusAddress?: { host: string; port: number };
  /** Envoy's Prometheus listener (Istio's 15090 `/stats/prometheus`); port 0 picks one; absent =
   * none. */
  prometheusAddress?: { host: string; port: number };
  /** The app's metrics the status server merges into its `/stats/prometheus`
   * (ISTIO_PROMETHEUS_ANNOTATIONS); absent: none. */
  appMetrics?: AppMetricsTarget | undefined;
  /** The app probes the status server performs (ISTIO_KUBE_APP_PROBERS); default none. */
  appProbers?: AppProbers;
  /** Where app probes reach the app: where the sidecar forwards inbound traffic (metadata
   * CREMA_APP_ADDRESS in the local runtime); default 127.0.0.1. */
  appAddress?: string;
  /** Source address of every upstream connection the proxy opens (the pod IP in the local
   * runtime), unless a cluster's upstream_bind_config says otherwise. */
  sourceAddress?: string;
  /** TLS material by SDS name (`default`, `ROOTCA`): the agent's workload certificates; default none. */
  secrets?: SecretProvider;
  /** Resolves once `secrets` holds the workload certificate; readiness waits for it. */
  secretsReady?: Promise<void>;
  /** Threads carrying traffic (Envoy's --concurrency): the main thread plus concurrency − 1
   * worker threads on the same listener addresses; default 1 (the CLI's default is 2). */
  concurrency?: number;
  /** Time a draining listener keeps serving before it closes (Envoy's --drain-time-s), ms. */
  drainTimeMs?: number;
  logger: Logger;
  clock?: Clock;
  /** What `/quitquitquit` does (default: SIGTERM to this process, which the CLI drains on). */
  onQuit?: () => void;
}

export interface RunningProxy {
  /** The admin server's bound address. */
  readonly adminUrl: string;
  /** The readiness server's bound address, when one was asked for. */
  readonly readinessUrl: string | undefined;
  /** The agent's status server's bound address, when one was asked for. */
  readonly statusUrl?: string | undefined;
  /** The Prometheus endpoint's bound address, when one was asked for. */
  readonly prometheusUrl?: string | undefined;
  /** Resolves once the first full configuration is applied (every listener and cluster warm). */
  readonly ready: Promise<void>;
  /** Drains listeners, closes connections and the xDS stream. */
  close(): Promise<void>;
}
