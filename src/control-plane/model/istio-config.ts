// Istio config resources (and the Kubernetes Secrets gateways read) sorted into one list per kind (every served version in the same
// list), in input order — creation order, Istio's tie-break — for translation to read.
import type { Resource } from "../../config/resource.ts";
import type { IstioConfig } from "./snapshot.ts";

const LISTS: Readonly<Record<string, keyof IstioConfig>> = {
  "networking.istio.io/VirtualService": "virtualServices",
  "networking.istio.io/DestinationRule": "destinationRules",
  "networking.istio.io/Gateway": "gateways",
  "networking.istio.io/ServiceEntry": "serviceEntries",
  "networking.istio.io/Sidecar": "sidecars",
  "networking.istio.io/WorkloadEntry": "workloadEntries",
  "networking.istio.io/WorkloadGroup": "workloadGroups",
  "networking.istio.io/EnvoyFilter": "envoyFilters",
  "security.istio.io/PeerAuthentication": "peerAuthentications",
  "security.istio.io/RequestAuthentication": "requestAuthentications",
  "security.istio.io/AuthorizationPolicy": "authorizationPolicies",
  "telemetry.istio.io/Telemetry": "telemetries",
  "extensions.istio.io/WasmPlugin": "wasmPlugins",
  // Gateways' TLS credentials (credentialName), served to them over SDS.
  "/Secret": "secrets",
};

export function istioConfigOf(resources: readonly Resource[]): IstioConfig {
  const lists: Record<keyof IstioConfig, Resource[]> = {
    virtualServices: [],
    destinationRules: [],
    gateways: [],
    serviceEntries: [],
    sidecars: [],
    workloadEntries: [],
    workloadGroups: [],
    envoyFilters: [],
    peerAuthentications: [],
    requestAuthentications: [],
    authorizationPolicies: [],
    telemetries: [],
    wasmPlugins: [],
    secrets: [],
  };
  for (const resource of resources) {
    const list = LISTS[`${resource.group}/${resource.kind}`];
    if (list) lists[list].push(resource);
  }
  return lists;
}
