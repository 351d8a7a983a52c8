// SEAM (security issue): upstream TLS of outbound clusters — DestinationRule `tls` and auto-mTLS
// (istiod cluster_tls.go buildUpstreamTLSSettings / applyUpstreamTLSSettings). Until that lands,
// clusters carry no transport socket (plaintext); the endpoint-side part that is pure config
// lookup (which endpoints are marked for Istio mTLS) is implemented here already.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import type { Service, ServicePort } from "../model/service.ts";
import type { MeshSnapshot } from "../model/snapshot.ts";
import type { Endpoint } from "../model/workload.ts";
import { isObj, numberAt, objAt, subsetNamed } from "./cluster-traffic-policy.ts";
import type { EffectiveDestinationRule, Obj } from "./destination-rules.ts";

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
}

/** What TLS adds to a cluster: a transport socket, or per-endpoint matches (auto-mTLS). */
export interface UpstreamTls {
  transport_socket?: JsonObject;
  transport_socket_matches?: JsonObject[];
}

/** SEAM: returns undefined (plaintext) until the security issue implements DR TLS and auto-mTLS. */
export function buildUpstreamTls(_input: UpstreamTlsInput): UpstreamTls | undefined {
  return undefined;
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
 * sidecar. SEAM: PeerAuthentication DISABLE for the endpoint's port should also turn it off.
 */
export function endpointUsesIstioMtls(
  dr: EffectiveDestinationRule | undefined,
  subset: string,
  servicePort: number,
  endpoint: Endpoint,
): boolean {
  const policy = subset
    ? objAt(subsetNamed(dr, subset), "trafficPolicy")
    : (dr?.trafficPolicy as Obj | undefined);
  const mode = tlsModeFor(policy, servicePort);
  if (mode !== undefined) return mode === "ISTIO_MUTUAL";
  return endpoint.tlsMode === "istio";
}
