// Istio's TCP metadata exchange as istiod configures it (xds/filters: TCPListenerMx,
// TCPClusterMx; util.ALPNInMeshWithMxc): the `istio.metadata_exchange` network filter first on
// every inbound TCP chain of a sidecar (before RBAC, so its failures can read the peer, and
// before the stats filter), the same filter as an upstream filter on every outbound service
// cluster, and `istio-peer-exchange` first in the ALPN list of Istio mTLS clusters, which is what
// turns the exchange on for a connection. An upstream Envoy without Istio's extensions would reject
// the filter and, offering the ALPN, make a server send it a frame it cannot read: it gets none.
import type { JsonObject } from "../../xds/proto-json.ts";
import type { ProxyNode } from "../model/proxy.ts";
import { typed } from "./listener-common.ts";

const METADATA_EXCHANGE_FILTER_NAME = "istio.metadata_exchange";
const METADATA_EXCHANGE_TYPE = "envoy.tcp.metadataexchange.config.MetadataExchange";
export const ISTIO_PEER_EXCHANGE = "istio-peer-exchange";

const FILTER: JsonObject = {
  name: METADATA_EXCHANGE_FILTER_NAME,
  typed_config: typed(METADATA_EXCHANGE_TYPE, { protocol: ISTIO_PEER_EXCHANGE }),
};

/** Whether the proxy runs Istio's extensions (crema's proxy and Istio's do). */
export function takesMetadataExchange(proxy: ProxyNode): boolean {
  return proxy.istioExtensions !== false;
}

/** The filter for the front of an inbound TCP chain (network filter) or a cluster's `filters`. */
export function metadataExchangeFilters(proxy: ProxyNode): JsonObject[] {
  return takesMetadataExchange(proxy) ? [FILTER] : [];
}

/** ISTIO_MUTUAL's ALPN list: `istio` marks in-mesh traffic; h2 clusters announce h2 too. */
export function istioMutualAlpn(proxy: ProxyNode, http2: boolean): string[] {
  const inMesh = http2 ? ["istio", "h2"] : ["istio"];
  return takesMetadataExchange(proxy) ? [ISTIO_PEER_EXCHANGE, ...inMesh] : inMesh;
}
