// Which clusters a proxy gets, by kind: the shared (outbound) part — outbound clusters, a
// gateway's SNI-DNAT clusters, a proxyless client's — and the per-proxy (inbound) part of sidecars.
import type { JsonObject } from "../../xds/proto-json.ts";
import { buildOutboundClusters } from "./clusters.ts";
import { buildSniDnatClusters } from "./gateway-auto-passthrough.ts";
import { buildInboundClusters } from "./inbound-clusters.ts";
import {
  buildSidecarIngressClusters,
  inboundConnectionPoolFor,
} from "./inbound-clusters-sidecar.ts";
import type { ListenerContext } from "./listener-common.ts";
import { hasAutoPassthroughServer } from "./listeners-gateway.ts";
import { buildProxylessClusters } from "./proxyless-clusters.ts";

/** Clusters that depend only on the reduced (shared) proxy. */
export function sharedClusters(ctx: ListenerContext): Map<string, JsonObject> {
  const { snapshot, proxy } = ctx;
  if (proxy.kind === "proxyless") return buildProxylessClusters(snapshot, proxy);
  const clusters = new Map(buildOutboundClusters(snapshot, proxy));
  if (proxy.kind === "router" && hasAutoPassthroughServer(ctx)) {
    for (const [name, cluster] of buildSniDnatClusters(snapshot, proxy)) {
      if (!clusters.has(name)) clusters.set(name, cluster);
    }
  }
  return clusters;
}

/** A sidecar's inbound clusters, from the real proxy; `appAddress` overrides CREMA_APP_ADDRESS. */
export function localClusters(ctx: ListenerContext, appAddress?: string): Map<string, JsonObject> {
  const { snapshot, proxy, scope } = ctx;
  if (proxy.kind !== "sidecar") return new Map();
  // Istio: a Sidecar with ingress listeners replaces the service-derived inbound clusters.
  if (scope.sidecar && scope.ingressListeners.length > 0) {
    return buildSidecarIngressClusters(snapshot, proxy, scope);
  }
  const metadataApp = proxy.metadata.CREMA_APP_ADDRESS;
  const app = appAddress ?? (typeof metadataApp === "string" ? metadataApp : undefined);
  return buildInboundClusters(snapshot, proxy, undefined, {
    ...(app ? { appAddress: app } : {}),
    inboundConnectionPool: (port) => inboundConnectionPoolFor(scope, port),
  });
}
