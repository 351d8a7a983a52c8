// MeshConfig: the mesh-wide settings istiod reads from its `mesh` ConfigMap. Only the fields
// crema honours so far; names and defaults as in Istio's meshconfig.MeshConfig.

export type OutboundTrafficPolicyMode = "ALLOW_ANY" | "REGISTRY_ONLY";
export type PathNormalization = "NONE" | "BASE" | "MERGE_SLASHES" | "DECODE_AND_MERGE_SLASHES";
export type AccessLogEncoding = "TEXT" | "JSON";

export interface MeshConfig {
  /** Namespace whose config applies mesh-wide (Istio: istio-system). */
  rootNamespace: string;
  trustDomain: string;
  /** DNS suffix of Kubernetes services. */
  domainSuffix: string;
  outboundTrafficPolicy: OutboundTrafficPolicyMode;
  /** Default connect timeout for upstream clusters, ms (Istio: 10 s). */
  connectTimeoutMs: number;
  /** Default HTTP idle timeout of upstream connections, ms (Istio: 1 h). */
  httpIdleTimeoutMs: number;
  /** Send Istio mTLS automatically to destinations that have a sidecar. */
  enableAutoMtls: boolean;
  pathNormalization: PathNormalization;
  /** Locality-aware load balancing (only takes effect with outlier detection). */
  localityLbEnabled: boolean;
  /** Default tracing sample percentage (0–100). */
  tracingSamplingPercent: number;
  /**
   * crema's switch, not Istio's: proxies carry workload certificates (crema's CA issues them,
   * SDS `default`/`ROOTCA`). Istio mTLS and the identity-based AuthorizationPolicy depend on it.
   * Off, proxies talk plaintext — no DestinationRule `tls`, no auto-mTLS, no mTLS inbound chains,
   * PeerAuthentication ignored — and AuthorizationPolicy is not enforced (a principal could never
   * match).
   */
  workloadCertificates: boolean;
  /** Where every proxy writes access logs (`/dev/stdout` …); "" turns them off. */
  accessLogFile: string;
  accessLogEncoding: AccessLogEncoding;
  /**
   * Custom format: an Envoy format string (TEXT), or a JSON object of format strings (JSON);
   * "" for Istio's default format.
   */
  accessLogFormat: string;
  /** Ports the ingress gateway pods listen on, by Gateway server port (local runtime). */
  ingressGatewayPorts?: Readonly<Record<number, number>>;
}

export const DEFAULT_MESH_CONFIG: Readonly<MeshConfig> = {
  rootNamespace: "istio-system",
  trustDomain: "cluster.local",
  domainSuffix: "cluster.local",
  outboundTrafficPolicy: "ALLOW_ANY",
  connectTimeoutMs: 10_000,
  httpIdleTimeoutMs: 3_600_000,
  enableAutoMtls: true,
  pathNormalization: "BASE",
  localityLbEnabled: true,
  tracingSamplingPercent: 1,
  workloadCertificates: false,
  accessLogFile: "",
  accessLogEncoding: "TEXT",
  accessLogFormat: "",
};
