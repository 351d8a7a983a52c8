// What the router filter is given: its dependencies (clusters, pools, stats) and one routed
// request as the HCM hands it over after route selection and header mutations.
import type { AccessLogFiles } from "../access-log/index.ts";
import type { RouterFilterConfig } from "../listener/types.ts";
import type { ForwardAction, MutableHeaders, RouteRequest } from "../routing/types.ts";
import type { StatsStore } from "../stats/stats-store.ts";
import type { ProxyTelemetry } from "../telemetry/proxy-telemetry.ts";
import type { UpstreamTlsConnector } from "../tls/upstream-tls.ts";
import type { ProxyTracing } from "../tracing/proxy-tracing.ts";
import type { StreamSpan } from "../tracing/stream-span.ts";
import type { ClusterManager } from "../upstream/cluster-manager.ts";
import type { Downstream } from "./downstream.ts";
import type { RequestBody } from "./request-body.ts";
import type { UpstreamPools } from "./upstream-types.ts";

export interface RouterDeps {
  clusters: ClusterManager;
  pools: UpstreamPools;
  stats: StatsStore;
  random: () => number;
  /** Source address for upstream connections unless the cluster binds its own. */
  sourceAddress?: string;
  /** TLS origination for clusters with an UpstreamTlsContext (raw TCP/upgrades; pools have theirs). */
  upstreamTls?: UpstreamTlsConnector;
  /** Istio's standard metrics and their peer-metadata exchange; absent: none. */
  telemetry?: ProxyTelemetry;
  /** Where access logs are written (one set of files per proxy thread); absent: no logs. */
  accessLogFiles?: AccessLogFiles;
  /** This thread's span exporters, for HCMs with a `tracing` config; absent: no tracing. */
  tracing?: ProxyTracing;
}

export interface RouterRequest {
  action: ForwardAction;
  clusterName: string | undefined;
  /** What routing saw (headers for retry_on headers, hash policies, source IP). */
  routeRequest: RouteRequest;
  method: string;
  /** The upstream :authority (host rewrites applied). */
  authority: string;
  /** The upstream :path (rewrites applied). */
  path: string;
  scheme: string;
  /** Headers to forward (HCM and route mutations applied). */
  headers: MutableHeaders;
  grpc: boolean;
  body: RequestBody;
  downstream: Downstream;
  /** Virtual host's include_request_attempt_count. */
  includeAttemptCount: boolean;
  /** Virtual host's include_attempt_count_in_response. */
  includeAttemptCountInResponse?: boolean;
  /** The router filter's typed_config (routerFilterConfig of the HCM's filters). */
  routerConfig: RouterFilterConfig;
  /** The HCM's max_stream_duration (common_http_protocol_options), used unless the route sets one. */
  maxStreamDurationMs?: number;
  /** When the stream started (performance.now()): the stream duration counts from there. */
  startedAt?: number;
  /** The stream's tracing span (HCM `tracing`): its context goes into every upstream attempt. */
  span?: StreamSpan | undefined;
}
