// Istio's standard metrics as its stats filter (istio/proxy `istio_stats`) emits them: names,
// types, label names in the order the filter appends them, and the histogram buckets Envoy
// exposes for them. Dashboards and alerts key on these, so every string here is Istio's.

/**
 * The labels that say who talked to whom, in the filter's order: reporter, the source workload,
 * then the destination workload and service. The gRPC message counters carry only these.
 */
export const PEER_LABELS = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_workload",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_service",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_service_name",
  "destination_service_namespace",
  "destination_cluster",
] as const;

/** Labels of the HTTP/gRPC request metrics: the peer labels, then the request's outcome. */
export const HTTP_LABELS = [
  ...PEER_LABELS,
  "request_protocol",
  "response_code",
  "grpc_response_status",
  "response_flags",
  "connection_security_policy",
] as const;

/** Labels of the TCP metrics: no response code or gRPC status. */
export const TCP_LABELS = [
  ...PEER_LABELS,
  "request_protocol",
  "response_flags",
  "connection_security_policy",
] as const;

export type IstioLabel = (typeof HTTP_LABELS)[number];

/**
 * Envoy's default histogram buckets, which Istio's duration and size histograms use (Istio sets
 * no bucket override unless a pod asks with `sidecar.istio.io/statsHistogramBuckets`).
 */
export const ISTIO_HISTOGRAM_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];

export type IstioMetricType = "counter" | "histogram";

export interface IstioMetricDefinition {
  readonly name: string;
  readonly type: IstioMetricType;
  readonly labels: readonly IstioLabel[];
  readonly buckets?: readonly number[];
  /** What the metric measures (for docs; Envoy's exposition has no HELP lines). */
  readonly help: string;
}

export const ISTIO_REQUESTS_TOTAL: IstioMetricDefinition = {
  name: "istio_requests_total",
  type: "counter",
  labels: HTTP_LABELS,
  help: "Requests handled by the proxy, counted when the stream completes.",
};

export const ISTIO_REQUEST_DURATION_MILLISECONDS: IstioMetricDefinition = {
  name: "istio_request_duration_milliseconds",
  type: "histogram",
  labels: HTTP_LABELS,
  buckets: ISTIO_HISTOGRAM_BUCKETS,
  help: "Time from the first request byte to the last response byte, whole milliseconds.",
};

export const ISTIO_REQUEST_BYTES: IstioMetricDefinition = {
  name: "istio_request_bytes",
  type: "histogram",
  labels: HTTP_LABELS,
  buckets: ISTIO_HISTOGRAM_BUCKETS,
  help: "Bytes received from the downstream for the request, headers included.",
};

export const ISTIO_RESPONSE_BYTES: IstioMetricDefinition = {
  name: "istio_response_bytes",
  type: "histogram",
  labels: HTTP_LABELS,
  buckets: ISTIO_HISTOGRAM_BUCKETS,
  help: "Bytes sent to the downstream for the response, headers included.",
};

export const ISTIO_REQUEST_MESSAGES_TOTAL: IstioMetricDefinition = {
  name: "istio_request_messages_total",
  type: "counter",
  labels: PEER_LABELS,
  help: "gRPC messages sent by the client.",
};

export const ISTIO_RESPONSE_MESSAGES_TOTAL: IstioMetricDefinition = {
  name: "istio_response_messages_total",
  type: "counter",
  labels: PEER_LABELS,
  help: "gRPC messages sent by the server.",
};

export const ISTIO_TCP_SENT_BYTES_TOTAL: IstioMetricDefinition = {
  name: "istio_tcp_sent_bytes_total",
  type: "counter",
  labels: TCP_LABELS,
  help: "Bytes sent to the downstream over a TCP connection.",
};

export const ISTIO_TCP_RECEIVED_BYTES_TOTAL: IstioMetricDefinition = {
  name: "istio_tcp_received_bytes_total",
  type: "counter",
  labels: TCP_LABELS,
  help: "Bytes received from the downstream over a TCP connection.",
};

export const ISTIO_TCP_CONNECTIONS_OPENED_TOTAL: IstioMetricDefinition = {
  name: "istio_tcp_connections_opened_total",
  type: "counter",
  labels: TCP_LABELS,
  help: "TCP connections opened.",
};

export const ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL: IstioMetricDefinition = {
  name: "istio_tcp_connections_closed_total",
  type: "counter",
  labels: TCP_LABELS,
  help: "TCP connections closed.",
};

/** Every standard metric, in the order the stats filter registers them. */
export const ISTIO_METRICS: readonly IstioMetricDefinition[] = [
  ISTIO_REQUESTS_TOTAL,
  ISTIO_REQUEST_DURATION_MILLISECONDS,
  ISTIO_REQUEST_BYTES,
  ISTIO_RESPONSE_BYTES,
  ISTIO_REQUEST_MESSAGES_TOTAL,
  ISTIO_RESPONSE_MESSAGES_TOTAL,
  ISTIO_TCP_CONNECTIONS_OPENED_TOTAL,
  ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL,
  ISTIO_TCP_SENT_BYTES_TOTAL,
  ISTIO_TCP_RECEIVED_BYTES_TOTAL,
];

/** Label values the filter writes when it knows nothing better. */
export const UNKNOWN = "unknown";
/** The canonical revision of a workload without one. */
export const LATEST = "latest";
/** `response_flags` when the stream had none. */
export const NO_RESPONSE_FLAGS = "-";

export type Reporter = "source" | "destination";
export type RequestProtocol = "http" | "grpc";
export type ConnectionSecurityPolicy = "mutual_tls" | "none" | "unknown";
