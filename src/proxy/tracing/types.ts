// The decoded shape of an HCM's `tracing` block (HttpConnectionManager.Tracing) with its
// provider (envoy.tracers.opentelemetry's OpenTelemetryConfig or envoy.tracers.zipkin's
// ZipkinConfig), as the proxy's tracer uses it.

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

/**
 * Zipkin v2 JSON spans POSTed to a collector named by a cluster of the proxy's own config, with
 * B3 propagation. The spans' service name is the node's cluster, as Envoy's Zipkin tracer takes it.
 */
export interface ZipkinProvider {
  kind: "zipkin";
  /** collector_cluster. */
  clusterName: string;
  /** collector_hostname, else the cluster's name: the Host of span reports. */
  authority: string;
  /** collector_endpoint (e.g. /api/v2/spans). */
  path: string;
  /** trace_id_128bit: new traces get 128-bit ids; otherwise 64-bit ones. */
  traceId128bit: boolean;
  /**
   * trace_context_option USE_B3_WITH_W3C_PROPAGATION: a traceparent is read when no B3 context
   * came, and written beside the B3 headers. Otherwise (USE_B3) W3C headers are left alone.
   */
  w3cPropagation: boolean;
}

export type TracingProvider = OpenTelemetryProvider | ZipkinProvider;

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
