// The kinds crema reads: Istio's CRDs at every version Istio serves, and the Kubernetes kinds
// a mesh needs. Lookup by apiVersion + kind.

export interface KindInfo {
  /** API group, "" for the Kubernetes core group. */
  group: string;
  kind: string;
  /** Served versions, newest first. */
  versions: readonly string[];
  clusterScoped: boolean;
  /** True for Istio's own CRDs (as opposed to Kubernetes kinds). */
  istio: boolean;
}

const NETWORKING = ["v1", "v1beta1", "v1alpha3"] as const;
const SECURITY = ["v1", "v1beta1"] as const;

function istio(group: string, versions: readonly string[], ...kinds: string[]): KindInfo[] {
  return kinds.map((kind) => ({ group, kind, versions, clusterScoped: false, istio: true }));
}

function kube(group: string, kind: string, clusterScoped = false): KindInfo {
  return { group, kind, versions: ["v1"], clusterScoped, istio: false };
}

export const KINDS: readonly KindInfo[] = [
  ...istio(
    "networking.istio.io",
    NETWORKING,
    "VirtualService",
    "DestinationRule",
    "Gateway",
    "ServiceEntry",
    "Sidecar",
    "WorkloadEntry",
    "WorkloadGroup",
  ),
  ...istio("networking.istio.io", ["v1alpha3"], "EnvoyFilter"),
  ...istio("networking.istio.io", ["v1beta1"], "ProxyConfig"),
  ...istio(
    "security.istio.io",
    SECURITY,
    "PeerAuthentication",
    "RequestAuthentication",
    "AuthorizationPolicy",
  ),
  ...istio("extensions.istio.io", ["v1alpha1"], "WasmPlugin"),
  ...istio("telemetry.istio.io", ["v1", "v1alpha1"], "Telemetry"),
  ...istio("install.istio.io", ["v1alpha1"], "IstioOperator"),
  kube("", "Namespace", true),
  kube("", "Service"),
  kube("", "Pod"),
  kube("", "ServiceAccount"),
  kube("", "Secret"),
  kube("", "ConfigMap"),
  kube("", "Endpoints"),
  kube("apps", "Deployment"),
  kube("discovery.k8s.io", "EndpointSlice"),
];

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf("/");
  return slash < 0
    ? { group: "", version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function findKind(group: string, kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.group === group && k.kind === kind);
}

/** Kinds with this name in any group (to suggest the right apiVersion). */
export function kindsNamed(kind: string): KindInfo[] {
  const lower = kind.toLowerCase();
  return KINDS.filter(
    (k) => k.kind.toLowerCase() === lower || `${k.kind.toLowerCase()}s` === lower,
  );
}
