// envoy.tcp.metadataexchange.config.MetadataExchange, the typed config of Istio's
// `istio.metadata_exchange` network filter, whether on a filter chain (the server's side of the
// exchange) or among a cluster's upstream filters (the client's side). An empty protocol would
// make the filter exchange on every connection that negotiated no ALPN at all, which no peer
// expects, so it is a decode error, as is any field crema does not know.
import type { Fields } from "../routing/decode-reader.ts";

export const METADATA_EXCHANGE_TYPE = "envoy.tcp.metadataexchange.config.MetadataExchange";

export interface MetadataExchangeConfig {
  /** The ALPN protocol that turns the exchange on for a connection (`istio-peer-exchange`). */
  readonly protocol: string;
}

/** Decodes the filter's typed_config; problems are recorded on `f` with their field path. */
export function decodeMetadataExchange(f: Fields): MetadataExchangeConfig {
  f.skip("@type");
  const protocol = f.string("protocol", 1);
  f.finish();
  return { protocol };
}
