// The TCP proxy's downstream stats under `tcp.<stat_prefix>.` (Envoy's names), as held handles.
import { type Counter, heldStats } from "../stats/stats-store.ts";

export interface TcpProxyStats {
  downstreamCxTotal: Counter;
  /** No cluster found for the connection. */
  downstreamCxNoRoute: Counter;
  downstreamCxRxBytesTotal: Counter;
  downstreamCxTxBytesTotal: Counter;
  idleTimeout: Counter;
  maxDownstreamConnectionDuration: Counter;
}

export const tcpProxyStats = heldStats((store, statPrefix): TcpProxyStats => {
  // Istio's stat prefixes are cluster names with dots in them: record the tag, don't parse it.
  const tags = [["envoy_tcp_prefix", statPrefix]] as const;
  const counter = (stat: string) =>
    store.counter(`tcp.${statPrefix}.${stat}`, { extractedName: `tcp.${stat}`, tags });
  return {
    downstreamCxTotal: counter("downstream_cx_total"),
    downstreamCxNoRoute: counter("downstream_cx_no_route"),
    downstreamCxRxBytesTotal: counter("downstream_cx_rx_bytes_total"),
    downstreamCxTxBytesTotal: counter("downstream_cx_tx_bytes_total"),
    idleTimeout: counter("idle_timeout"),
    maxDownstreamConnectionDuration: counter("max_downstream_connection_duration"),
  };
});
