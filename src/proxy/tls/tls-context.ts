// The decoded form of Envoy's TLS transport socket (envoy.transport_sockets.tls): what a filter
// chain's DownstreamTlsContext and a cluster's UpstreamTlsContext ask for. Plain data, compared by
// content across updates; SDS secrets stay names, looked up when a handshake needs them.

/** Protocol versions as node:tls names them. */
export type TlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** TlsParameters mapped to node:tls options (absent: Envoy's defaults for the side). */
export interface TlsParams {
  minVersion?: TlsVersion;
  maxVersion?: TlsVersion;
  /** OpenSSL cipher list (BoringSSL's `[a|b]` equal-preference groups flattened). */
  ciphers?: string;
  /** ecdh_curves joined with ":". */
  ecdhCurve?: string;
  /** signature_algorithms joined with ":". */
  sigalgs?: string;
}

/**
 * A DataSource: inline text, or a file read when a handshake first needs it (and again after a
 * rotation), so a file that is missing here fails handshakes instead of the whole config.
 */
export type DataSource = { inline: string } | { filename: string };

/** A certificate and its key (tls_certificates), or an SDS secret by name. */
export type CertificateSource =
  | { kind: "inline"; certificateChain: DataSource; privateKey: DataSource; password?: DataSource }
  | { kind: "sds"; name: string };

/** Which SAN of the peer certificate a matcher looks at ("ANY": DNS, URI, email or IP). */
export type SanType = "URI" | "DNS" | "EMAIL" | "IP_ADDRESS" | "ANY";

/** One StringMatcher over a SAN type; regex is RE2, matching the whole SAN. */
export interface SanMatcher {
  sanType: SanType;
  kind: "exact" | "prefix" | "suffix" | "contains" | "regex";
  value: string;
  ignoreCase: boolean;
}

/** CertificateValidationContext (merged with its SDS part for combined_validation_context). */
export interface ValidationConfig {
  /** trusted_ca. */
  trustedCa?: DataSource;
  /** validation_context_sds_secret_config: the trusted roots by SDS name (`ROOTCA`). */
  trustedCaSecret?: string;
  /** Any one must match (empty: no SAN check). */
  sanMatchers: SanMatcher[];
  /** ACCEPT_UNTRUSTED: the chain is not checked (SANs still are). */
  acceptUntrusted: boolean;
  allowExpiredCertificate: boolean;
  /** Certificate revocation lists (PEM); every certificate of the chain is checked. */
  crl?: DataSource;
}

export interface CommonTlsConfig {
  certificates: CertificateSource[];
  /** Absent: the peer's certificate is not verified (Envoy's behaviour without one). */
  validation?: ValidationConfig;
  alpnProtocols: string[];
  params: TlsParams;
}

/** DownstreamTlsContext: TLS termination on a filter chain. */
export interface DownstreamTlsConfig {
  common: CommonTlsConfig;
  requireClientCertificate: boolean;
  requireSni: boolean;
  /** prefer_client_ciphers (default: the server's order wins). */
  preferClientCiphers: boolean;
}

/** UpstreamTlsContext: TLS origination to a cluster's hosts. */
export interface UpstreamTlsConfig {
  common: CommonTlsConfig;
  /** SNI to send ("" none). */
  sni: string;
  /** auto_host_sni: the host's hostname as SNI when it has one. */
  autoHostSni: boolean;
}

/** A cluster's (or transport_socket_match's) transport socket. */
export type UpstreamTransportSocket =
  | { kind: "raw_buffer" }
  /** `key` identifies the settings (connection pools are kept apart by it). */
  | { kind: "tls"; tls: UpstreamTlsConfig; key: string };

/** Envoy's names for the transport sockets crema implements. */
export const TLS_TRANSPORT_SOCKET = "envoy.transport_sockets.tls";
export const RAW_BUFFER_TRANSPORT_SOCKET = "envoy.transport_sockets.raw_buffer";
export const DOWNSTREAM_TLS_CONTEXT_TYPE =
  "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
export const UPSTREAM_TLS_CONTEXT_TYPE =
  "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";
export const RAW_BUFFER_TYPE = "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";
