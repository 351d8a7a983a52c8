// Upstream TLS of outbound clusters, as istiod's cluster_tls.go builds it: the DestinationRule's
// `tls` (DISABLE / SIMPLE / MUTUAL / ISTIO_MUTUAL), or — when the rule sets none — auto-mTLS:
// Istio mTLS to endpoints marked `tlsMode: istio` and plaintext to the others, through
// transport_socket_matches (buildUpstreamTLSSettings, applyUpstreamTLSSettings,
// buildUpstreamClusterTLSContext). Also which endpoints carry that mark (the EDS mtlsChecker).
// Istio mTLS (ISTIO_MUTUAL, auto-mTLS) waits for meshConfig.workloadCertificates: without it those
// clusters stay plaintext. TLS origination (SIMPLE, MUTUAL) needs no workload certificate.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service, ServicePort } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { Endpoint } from "../model/workload.ts";
import { isObj, numberAt, objAt, subsetNamed } from "./cluster-traffic-policy.ts";
import type { EffectiveDestinationRule, Obj } from "./destination-rules.ts";
import { istioMutualAlpn } from "./metadata-exchange.ts";
import { mtlsModeForPort, namespaceMtlsMode, peerAuthenticationOf } from "./peer-authentication.ts";
import {
  credentialSdsSecretConfig,
  exactMatches,
  fileCertificateResource,
  fileRootResource,
  rawBufferTransportSocket,
  SDS_CA_SUFFIX,
  SDS_DEFAULT_RESOURCE,
  SDS_ROOT_RESOURCE,
  sdsSecretConfig,
  tlsTransportSocket,
  upstreamTlsParams,
} from "./tls-context.ts";

export interface UpstreamTlsInput {
  snapshot: MeshSnapshot;
  proxy: ProxyNode;
  service: Service;
  port: ServicePort;
  /** The effective policy's `tls` block, if any. */
  tls: Obj | undefined;
  subset: string;
  /** SNI istiod uses for Istio mTLS: `outbound_.9080_.v1_.reviews.default.svc.cluster.local`. */
  istioMtlsSni: string;
  /** The DestinationRule that applies (its workloadSelector and top-level load balancer matter). */
  dr?: EffectiveDestinationRule | undefined;
  /** The cluster's discovery type once the load balancer is applied. */
  clusterType?: string;
  /** Whether the cluster speaks HTTP/2 upstream (Istio's isHttp2Cluster): ALPN h2. */
  http2?: boolean;
}

/** What TLS adds to a cluster: a transport socket, or per-endpoint matches (auto-mTLS). */
export interface UpstreamTls {
  transport_socket?: JsonObject;
  transport_socket_matches?: JsonObject[];
  /** `upstream_http_protocol_options` (auto_sni, auto_san_validation) for SIMPLE/MUTUAL. */
  upstreamHttpProtocolOptions?: JsonObject;
}

type TlsMode = "DISABLE" | "SIMPLE" | "MUTUAL" | "ISTIO_MUTUAL";

/** A DestinationRule ClientTLSSettings, decoded. */
interface ClientTls {
  mode: TlsMode;
  sni: string;
  subjectAltNames: string[];
  credentialName: string;
  clientCertificate: string;
  privateKey: string;
  caCertificates: string;
  caCrl: string;
  insecureSkipVerify: boolean;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function decodeClientTls(tls: Obj): ClientTls {
  const mode = str(tls.mode);
  const sans = Array.isArray(tls.subjectAltNames) ? tls.subjectAltNames : [];
  return {
    mode: mode === "SIMPLE" || mode === "MUTUAL" || mode === "ISTIO_MUTUAL" ? mode : "DISABLE",
    sni: str(tls.sni),
    subjectAltNames: sans.filter((s): s is string => typeof s === "string"),
    credentialName: str(tls.credentialName),
    clientCertificate: str(tls.clientCertificate),
    privateKey: str(tls.privateKey),
    caCertificates: str(tls.caCertificates),
    caCrl: str(tls.caCrl),
    insecureSkipVerify: tls.insecureSkipVerify === true || tls.insecureSkipVerify === "true",
  };
}

function istioMutual(subjectAltNames: string[], sni: string): ClientTls {
  return {
    mode: "ISTIO_MUTUAL",
    sni,
    subjectAltNames,
    credentialName: "",
    clientCertificate: "",
    privateKey: "",
    caCertificates: "",
    caCrl: "",
    insecureSkipVerify: false,
  };
}

/**
 * istiod's ServiceAccounts(host, namespace): the SPIFFE identities of the service's workloads
 * (every endpoint of every port, ready or not) plus a ServiceEntry's `subjectAltNames`, sorted.
 */
export function serviceAccountsOf(snapshot: MeshSnapshot, service: Service): string[] {
  const accounts = new Set<string>();
  const trustDomain = snapshot.meshConfig.trustDomain;
  for (const port of service.ports) {
    for (const endpoint of snapshot.endpointsOf(service.hostname, port.port, service.namespace)) {
      if (!endpoint.serviceAccount) continue;
      accounts.add(
        endpoint.serviceAccount.startsWith("spiffe://")
          ? endpoint.serviceAccount
          : `spiffe://${trustDomain}/ns/${endpoint.namespace}/sa/${endpoint.serviceAccount}`,
      );
    }
  }
  if (service.kind === "ServiceEntry") {
    const entry = snapshot.config.serviceEntries.find(
      (r) => r.name === service.name && r.namespace === service.namespace,
    );
    const sans = Array.isArray(entry?.spec.subjectAltNames) ? entry.spec.subjectAltNames : [];
    for (const san of sans) if (typeof san === "string" && san) accounts.add(san);
  }
  return [...accounts].sort();
}

type ServiceMtlsMode = "UNKNOWN" | "DISABLE" | "PERMISSIVE" | "STRICT";

/**
 * istiod BestEffortInferServiceMTLSMode: external services are unknown; passthrough services
 * (resolution NONE, or a PASSTHROUGH load balancer) are DISABLE unless every endpoint has a
 * sidecar; then the namespace/mesh PeerAuthentication; PERMISSIVE when there is none.
 */
export function inferServiceMtlsMode(
  snapshot: MeshSnapshot,
  service: Service,
  port: ServicePort,
  rootTrafficPolicy: Obj | undefined,
): ServiceMtlsMode {
  if (service.location === "MESH_EXTERNAL") return "UNKNOWN";
  const passthroughLb = objAt(rootTrafficPolicy, "loadBalancer")?.simple === "PASSTHROUGH";
  if (service.resolution === "NONE" || passthroughLb) {
    const endpoints = snapshot.endpointsOf(service.hostname, port.port, service.namespace);
    if (endpoints.length === 0 || endpoints.some((e) => e.tlsMode !== "istio")) return "DISABLE";
  }
  return namespaceMtlsMode(snapshot, service.namespace) ?? "PERMISSIVE";
}

/** istiod buildUpstreamTLSSettings: the settings to apply, and whether auto-mTLS chose them. */
function upstreamTlsSettings(
  input: UpstreamTlsInput,
): { tls: ClientTls; auto: boolean } | undefined {
  const { snapshot, service } = input;
  if (input.tls) {
    const tls = decodeClientTls(input.tls);
    if (tls.mode !== "ISTIO_MUTUAL") return { tls, auto: false };
    // The DR's SNI and SANs when it sets them; the cluster's SNI and the service accounts if not.
    const sans = tls.subjectAltNames.length
      ? tls.subjectAltNames
      : serviceAccountsOf(snapshot, service);
    return { tls: istioMutual(sans, tls.sni || input.istioMtlsSni), auto: false };
  }
  if (service.location === "MESH_EXTERNAL" || !snapshot.meshConfig.enableAutoMtls) return undefined;
  const mode = inferServiceMtlsMode(snapshot, service, input.port, input.dr?.trafficPolicy);
  if (mode === "UNKNOWN" || mode === "DISABLE") return undefined;
  return {
    tls: istioMutual(serviceAccountsOf(snapshot, service), input.istioMtlsSni),
    auto: true,
  };
}

/** The `common_tls_context` of ISTIO_MUTUAL: the workload certificate and roots from the agent. */
function istioMutualContext(tls: ClientTls, http2: boolean, proxy: ProxyNode): JsonObject {
  return {
    common_tls_context: {
      tls_params: upstreamTlsParams(),
      alpn_protocols: istioMutualAlpn(proxy, http2),
      tls_certificate_sds_secret_configs: [sdsSecretConfig(SDS_DEFAULT_RESOURCE)],
      combined_validation_context: {
        default_validation_context: subjectAltNameMatch(tls.subjectAltNames),
        validation_context_sds_secret_config: sdsSecretConfig(SDS_ROOT_RESOURCE),
      },
    },
    sni: tls.sni,
  };
}

function subjectAltNameMatch(sans: readonly string[]): JsonObject {
  return sans.length ? { match_subject_alt_names: exactMatches(sans) } : {};
}

/** istiod constructUpstreamTLS: SIMPLE and MUTUAL, from a credentialName secret or mounted files. */
function originatedContext(
  input: UpstreamTlsInput,
  given: ClientTls,
): { context: JsonObject; autoOptions?: JsonObject } | undefined {
  let tls = given;
  // ServiceEntry hosts are verified against their subjectAltNames / workload identities by default.
  if (input.service.kind === "ServiceEntry" && tls.subjectAltNames.length === 0) {
    tls = { ...tls, subjectAltNames: serviceAccountsOf(input.snapshot, input.service) };
  }
  const common: JsonObject = { tls_params: upstreamTlsParams() };
  if (tls.credentialName) {
    common.tls_certificate_sds_secret_configs = [credentialSdsSecretConfig(tls.credentialName)];
    if (!tls.insecureSkipVerify) {
      common.combined_validation_context = {
        default_validation_context: subjectAltNameMatch(tls.subjectAltNames),
        validation_context_sds_secret_config: credentialSdsSecretConfig(
          `${tls.credentialName}${SDS_CA_SUFFIX}`,
        ),
      };
    }
  } else {
    if (tls.mode === "MUTUAL") {
      // Validation requires both files for MUTUAL without credentialName; istiod sends no TLS.
      if (!tls.clientCertificate || !tls.privateKey) return undefined;
      common.tls_certificate_sds_secret_configs = [
        sdsSecretConfig(fileCertificateResource(tls.clientCertificate, tls.privateKey)),
      ];
    }
    if (tls.insecureSkipVerify) {
      common.validation_context = {};
    } else {
      const validation = subjectAltNameMatch(tls.subjectAltNames);
      if (tls.caCrl) validation.crl = { filename: tls.caCrl };
      common.combined_validation_context = {
        default_validation_context: validation,
        validation_context_sds_secret_config: sdsSecretConfig(
          fileRootResource(tls.caCertificates || "system"),
        ),
      };
    }
  }
  if (input.http2) common.alpn_protocols = ["h2"];
  // setAutoSniAndAutoSanValidation: without a DR SNI, Envoy sends the request's host as SNI and
  // (without SANs either) checks the certificate against it.
  const autoSni = !tls.sni;
  const autoSan = autoSni && tls.subjectAltNames.length === 0 && !tls.insecureSkipVerify;
  const autoOptions: JsonObject = {};
  if (autoSni) autoOptions.auto_sni = true;
  if (autoSan) autoOptions.auto_san_validation = true;
  return {
    context: { common_tls_context: common, ...(tls.sni ? { sni: tls.sni } : {}) },
    ...(autoSni ? { autoOptions } : {}),
  };
}

/** A credentialName outside the mesh's own certificates (istiod's privilegedCredentialLookup). */
function privilegedCredential(name: string): boolean {
  return name !== "" && !name.startsWith("configmap://") && name !== "invalid://";
}

/** Builds the cluster's TLS: undefined means plaintext (no transport socket at all). */
export function buildUpstreamTls(input: UpstreamTlsInput): UpstreamTls | undefined {
  const settings = upstreamTlsSettings(input);
  if (!settings) return undefined;
  const { tls, auto } = settings;
  const mesh = auto || tls.mode === "ISTIO_MUTUAL";
  if (mesh && !input.snapshot.meshConfig.workloadCertificates) return undefined;
  switch (tls.mode) {
    case "DISABLE":
      return undefined;
    case "ISTIO_MUTUAL": {
      const socket = tlsTransportSocket(
        "UpstreamTlsContext",
        istioMutualContext(tls, input.http2 === true, input.proxy),
      );
      // Auto-mTLS picks per endpoint; headless (ORIGINAL_DST) clusters keep the socket as is.
      if (auto && input.clusterType !== "ORIGINAL_DST") {
        return {
          transport_socket_matches: [
            { name: "tlsMode-istio", match: { tlsMode: "istio" }, transport_socket: socket },
            { name: "tlsMode-disabled", match: {}, transport_socket: rawBufferTransportSocket() },
          ],
        };
      }
      return { transport_socket: socket };
    }
    default: {
      // Sidecars get credentialName secrets only from a DR that selects them (workloadSelector).
      const selected = hasWorkloadSelector(input.dr);
      if (privilegedCredential(tls.credentialName) && input.proxy.kind === "sidecar" && !selected) {
        return undefined;
      }
      const built = originatedContext(input, tls);
      if (!built) return undefined;
      return {
        transport_socket: tlsTransportSocket("UpstreamTlsContext", built.context),
        ...(built.autoOptions ? { upstreamHttpProtocolOptions: built.autoOptions } : {}),
      };
    }
  }
}

function hasWorkloadSelector(dr: EffectiveDestinationRule | undefined): boolean {
  const selector = objAt(dr?.sources[0]?.spec, "workloadSelector");
  return Object.keys(objAt(selector, "matchLabels") ?? {}).length > 0;
}

/** istiod BuildDNSSrvSubsetKey: the SNI of Istio mTLS to one cluster. */
export function istioMtlsSni(port: number, subset: string, host: string): string {
  return `outbound_.${port}_.${subset}_.${host}`;
}

/** A `tls` block's mode; DISABLE (the enum's zero value) when the block omits it. */
function modeOf(tls: Obj | undefined): string | undefined {
  if (!tls) return undefined;
  return typeof tls.mode === "string" ? tls.mode : "DISABLE";
}

/** The DR `tls.mode` for a port of the rule-level policy, or of one subset's policy only. */
function tlsModeFor(policy: Obj | undefined, port: number): string | undefined {
  if (!policy) return undefined;
  const settings = Array.isArray(policy.portLevelSettings) ? policy.portLevelSettings : [];
  for (const entry of settings) {
    if (isObj(entry) && numberAt(objAt(entry, "port"), "number") === port && objAt(entry, "tls")) {
      return modeOf(objAt(entry, "tls"));
    }
  }
  return modeOf(objAt(policy, "tls"));
}

/**
 * istiod's mtlsChecker: whether endpoints get `envoy.transport_socket_match {tlsMode: istio}`.
 * A DR tls mode decides outright (only ISTIO_MUTUAL keeps it); otherwise the endpoint needs a
 * sidecar, and — once proxies have workload certificates — a PeerAuthentication that does not
 * DISABLE mTLS on the endpoint's port.
 */
export function endpointUsesIstioMtls(
  dr: EffectiveDestinationRule | undefined,
  subset: string,
  servicePort: number,
  endpoint: Endpoint,
  snapshot?: MeshSnapshot,
): boolean {
  const policy = subset
    ? objAt(subsetNamed(dr, subset), "trafficPolicy")
    : (dr?.trafficPolicy as Obj | undefined);
  const mode = tlsModeFor(policy, servicePort);
  if (mode !== undefined) return mode === "ISTIO_MUTUAL";
  if (endpoint.tlsMode !== "istio") return false;
  if (!snapshot?.meshConfig.workloadCertificates) return true;
  const merged = peerAuthenticationOf(snapshot, endpoint);
  return mtlsModeForPort(merged, endpoint.port) !== "DISABLE";
}
