// The decoded shape of an HCM's `tracing` block (HttpConnectionManager.Tracing) with its
// provider (envoy.tracers.opentelemetry's OpenTelemetryConfig), as the proxy's tracer uses it.

/** Where spans go: an OTLP collector named by a cluster of the proxy's own config. */
export interface OpenTelemetryProvider {
  kind: "opentelemetry";
  /** grpc_service.envoy_grpc (OTLP/gRPC) or http_service (OTLP/HTTP, JSON). */
  transport: "grpc" | "http";
  /** The cluster whose endpoints receive spans (resolved through the ClusterManager). */
  clusterName: string;
  /** envoy_grpc.authority, or the host of http_uri.uri: the :authority / Host of exports. */
  authority: string;
  /** OTLP/HTTP: the path of http_uri.uri (e.g. /v1/traces). */
  path: string;
  /** grpc_service.timeout / http_uri.timeout, ms; undefined: the exporter's default. */
  timeoutMs: number | undefined;
  /** initial_metadata / request_headers_to_add. */
  headers: Readonly<Record<string, string>>;
  /** The resource's service.name (Istio sends the node's cluster: `<service>.<namespace>`). */
  serviceName: string;
}

export type TracingProvider = OpenTelemetryProvider;

/** envoy.type.tracing.v3.CustomTag; environment tags are read once, at decode time. */
export type CustomTag =
  | { tag: string; kind: "literal"; value: string }
  | { tag: string; kind: "request_header"; name: string; defaultValue: string }
  /** Filter dynamic metadata: Istio's dry-run RBAC tags. Set only when the metadata exists. */
  | {
      tag: string;
      kind: "metadata";
      filter: string;
      path: readonly string[];
      defaultValue: string;
    };

export interface TracingConfig {
  provider: TracingProvider;
  /** Percent of requests with x-client-trace-id that are traced (default 100). */
  clientSamplingPercent: number;
  /** Percent of other requests traced (default 100). */
  randomSamplingPercent: number;
  /** A final cap over both (default 100). */
  overallSamplingPercent: number;
  customTags: readonly CustomTag[];
  /** Default 256: longer http.url tags are cut. */
  maxPathTagLength: number;
  /** A CLIENT span for the upstream request under the HCM's span (Istio: gateways). */
  spawnUpstreamSpan: boolean;
}
