// The immutable, indexed picture of the mesh that translation reads: services, endpoints,
// workloads and Istio config at one version. Built by buildSnapshot (build-snapshot.ts) from
// config resources; never mutated afterwards — a change produces a new snapshot.
import type { Resource } from "../../config/resource.ts";
import type { MeshConfig } from "./mesh-config.ts";
import type { Service } from "./service.ts";
import type { Endpoint, Workload } from "./workload.ts";

/** Istio config resources of one kind, sorted by creation order (file order) — Istio's tie-break. */
export type ConfigList = readonly Resource[];

export interface IstioConfig {
  virtualServices: ConfigList;
  destinationRules: ConfigList;
  gateways: ConfigList;
  serviceEntries: ConfigList;
  sidecars: ConfigList;
  workloadEntries: ConfigList;
  workloadGroups: ConfigList;
  envoyFilters: ConfigList;
  peerAuthentications: ConfigList;
  requestAuthentications: ConfigList;
  authorizationPolicies: ConfigList;
  telemetries: ConfigList;
  wasmPlugins: ConfigList;
  /** Kubernetes Secrets (core v1): TLS credentials a Gateway names with credentialName. */
  secrets: ConfigList;
}

/** JWKS the control plane fetched for RequestAuthentication's jwksUri (istiod's JwksResolver). */
export interface KeySets {
  /** The key set's JSON text, or undefined while it has not been fetched. */
  lookup(issuer: string, jwksUri: string): string | undefined;
}

export interface MeshSnapshot {
  /** Changes whenever anything in the snapshot changes (fetched key sets included). */
  readonly version: string;
  /**
   * Changes whenever anything a sidecar's own (inbound) configuration reads changes: the
   * version without Pods, Endpoints and EndpointSlices (endpoints) and without VirtualServices
   * and Gateways (routing); fetched key sets included. translate/local-proxy.ts shows the
   * sidecar's own translators a snapshot without those. Absent: not known, so nothing may be
   * assumed unchanged between snapshots.
   */
  readonly localConfigVersion?: string;
  readonly meshConfig: MeshConfig;
  readonly config: IstioConfig;
  /** Every service, sorted by hostname then namespace. */
  readonly services: readonly Service[];
  readonly workloads: readonly Workload[];
  /** Namespace name → labels (namespaces named by any resource appear, with {} when unknown). */
  readonly namespaces: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** Fetched JWKS; absent: none fetched (jwksUri rules get istiod's fake key set). */
  readonly jwks?: KeySets;
  /** Services visible from a namespace, honouring exportTo; a host may appear once per visible namespace. */
  servicesVisibleFrom(namespace: string): readonly Service[];
  /** The service for `hostname` as seen from `namespace` (Istio prefers the one in that namespace). */
  serviceFor(hostname: string, namespace: string): Service | undefined;
  /** Endpoints of hostname:port (service port), including unhealthy ones. */
  endpointsOf(hostname: string, servicePort: number, namespace?: string): readonly Endpoint[];
  /** Workloads whose labels match `selector` in `namespace` (undefined namespace: any). */
  workloadsMatching(
    selector: Readonly<Record<string, string>>,
    namespace?: string,
  ): readonly Workload[];
  /** Resolves a host written in config in `namespace` (short name, name.ns, FQDN) to a FQDN. */
  resolveHost(host: string, namespace: string): string;
}
