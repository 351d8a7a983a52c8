// Cluster `metadata.filter_metadata.istio`, as istiod writes it: `services` (host, name,
// namespace — read by telemetry), `config` (the DestinationRule's API path), `subset`, `external`
// for MESH_EXTERNAL services and `alpn_override: "false"` when a DR originates SIMPLE/MUTUAL TLS.
import type { Resource } from "../../config/resource.ts";
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import type { Service } from "../model/service.ts";
import { childObject } from "./cluster-draft.ts";

/** The `istio` filter metadata struct of a cluster, created on first use. */
export function istioMetadata(cluster: JsonObject): JsonObject {
  return childObject(childObject(childObject(cluster, "metadata"), "filter_metadata"), "istio");
}

/** One entry of `services`. ServiceEntry services are named by their host, as in istiod. */
export function serviceMetadata(service: Service): JsonObject {
  return {
    host: service.hostname,
    name: service.kind === "ServiceEntry" ? service.hostname : service.name,
    namespace: service.namespace,
  };
}

export function setServicesMetadata(cluster: JsonObject, services: readonly Service[]): void {
  const seen = new Set<string>();
  const list: Json[] = [];
  for (const service of services) {
    if (seen.has(service.hostname)) continue;
    seen.add(service.hostname);
    list.push(serviceMetadata(service));
  }
  istioMetadata(cluster).services = list;
}

function kebabCase(kind: string): string {
  return kind.replace(/(?<=[a-z0-9])([A-Z])/g, "-$1").toLowerCase();
}

/** `/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews` (istiod AddConfigInfoMetadata). */
export function configPath(resource: Resource): string {
  return `/apis/${resource.group}/${resource.version}/namespaces/${resource.namespace}/${kebabCase(resource.kind)}/${resource.name}`;
}

export function setConfigMetadata(cluster: JsonObject, resource: Resource): void {
  istioMetadata(cluster).config = configPath(resource);
}

/** `alpn_override: "false"` tells Istio's filters not to override ALPN for user-originated TLS. */
export function setAlpnOverrideMetadata(cluster: JsonObject, tlsMode: unknown): void {
  if (tlsMode === "SIMPLE" || tlsMode === "MUTUAL") istioMetadata(cluster).alpn_override = "false";
}
