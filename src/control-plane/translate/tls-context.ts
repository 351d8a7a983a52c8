// The TLS building blocks istiod shares between upstream and downstream contexts: SDS secret
// configs (Istio's `default`/`ROOTCA` over the `sds-grpc` cluster, credentialName secrets over
// ADS, mounted files as `file-cert:`/`file-root:` resources), the transport sockets that wrap a
// context, and Istio's TLS parameters (pkg/model/authentication.go, security/model).
import type { JsonObject } from "../../xds/proto-json.ts";
import { typed } from "./listener-common.ts";

export const TLS_TRANSPORT_SOCKET_NAME = "envoy.transport_sockets.tls";
/** Istio's SDSClusterName: the bootstrap cluster through which the agent serves certificates. */
export const SDS_CLUSTER_NAME = "sds-grpc";
/** The workload's own certificate and key. */
export const SDS_DEFAULT_RESOURCE = "default";
/** The roots the workload trusts. */
export const SDS_ROOT_RESOURCE = "ROOTCA";
/** Suffix of the secret holding a credentialName's CA certificate. */
export const SDS_CA_SUFFIX = "-cacert";

const TLS_TYPE = "envoy.extensions.transport_sockets.tls.v3";

/**
 * Istio's ConstructSdsSecretConfig: the agent's SDS over the `sds-grpc` cluster. Only `default`
 * and `ROOTCA` wait for nothing at startup (initial_fetch_timeout 0s), as istiod writes them.
 */
export function sdsSecretConfig(name: string): JsonObject {
  const waitsNot = name === SDS_DEFAULT_RESOURCE || name === SDS_ROOT_RESOURCE;
  return {
    name,
    sds_config: {
      api_config_source: {
        api_type: "GRPC",
        grpc_services: [{ envoy_grpc: { cluster_name: SDS_CLUSTER_NAME } }],
        set_node_on_first_message_only: true,
        transport_api_version: "V3",
      },
      ...(waitsNot ? { initial_fetch_timeout: "0s" } : {}),
      resource_api_version: "V3",
    },
  };
}

const BUILTIN = "builtin://";
const INVALID = "invalid://";
const EXPLICIT_TYPES = ["kubernetes://", "kubernetes-gateway://", "configmap://"];

/** credentials.ToResourceName: a credentialName without an explicit type is a Kubernetes Secret. */
export function credentialResourceName(name: string): string {
  if (name.startsWith(BUILTIN)) return SDS_DEFAULT_RESOURCE;
  if (name.startsWith(INVALID)) return INVALID;
  if (EXPLICIT_TYPES.some((type) => name.startsWith(type))) return name;
  return `kubernetes://${name}`;
}

/**
 * ConstructSdsSecretConfigForCredential: a credentialName secret, fetched from the control plane
 * over ADS (no initial_fetch_timeout: a missing secret must not block the whole cluster);
 * `builtin://` stands for the workload's own certificate and roots.
 */
export function credentialSdsSecretConfig(name: string): JsonObject {
  if (name === BUILTIN) return sdsSecretConfig(SDS_DEFAULT_RESOURCE);
  if (name === `${BUILTIN}${SDS_CA_SUFFIX}`) return sdsSecretConfig(SDS_ROOT_RESOURCE);
  return {
    name: credentialResourceName(name),
    sds_config: { ads: {}, resource_api_version: "V3" },
  };
}

/** SdsCertificateConfig.GetResourceName: a certificate and key mounted in the proxy's files. */
export function fileCertificateResource(certificate: string, privateKey: string): string {
  return `file-cert:${certificate}~${privateKey}`;
}

/** SdsCertificateConfig.GetRootResourceName: a CA bundle in the proxy's files ("system": the OS roots). */
export function fileRootResource(caCertificates: string): string {
  return `file-root:${caCertificates}`;
}

/** util.StringToExactMatch. */
export function exactMatches(values: readonly string[]): JsonObject[] {
  return values.map((exact) => ({ exact }));
}

/** Istio's defaultUpstreamCommonTLSContext TLS parameters (Envoy's client default is 1.2 only). */
export function upstreamTlsParams(): JsonObject {
  return { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" };
}

/** Istio's SupportedCiphers for sidecar servers (authn/utils BuildInboundTLS). */
export const SUPPORTED_CIPHERS: readonly string[] = [
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "AES256-GCM-SHA384",
  "AES128-GCM-SHA256",
];

/** A `envoy.transport_sockets.tls` transport socket around an Upstream/DownstreamTlsContext. */
export function tlsTransportSocket(
  kind: "UpstreamTlsContext" | "DownstreamTlsContext",
  context: JsonObject,
): JsonObject {
  return { name: TLS_TRANSPORT_SOCKET_NAME, typed_config: typed(`${TLS_TYPE}.${kind}`, context) };
}

/** Istio's RawBufferTransportSocket: plaintext, named so a transport socket match can pick it. */
export function rawBufferTransportSocket(): JsonObject {
  return {
    name: "envoy.transport_sockets.raw_buffer",
    typed_config: typed("envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"),
  };
}
