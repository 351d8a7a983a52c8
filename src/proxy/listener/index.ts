// The proxy's listener model: decode LDS Listeners once (decodeListener), pick a connection's
// filter chain (selectFilterChain), and sniff first bytes the way Envoy's inspectors do.
export {
  decodeListener,
  type ListenerDecodeOptions,
  type ListenerDecodeResult,
} from "./decode-listener.ts";
export { predicateMatches } from "./decode-listener-filters.ts";
export { detectHttp, type HttpDetection } from "./detect-http.ts";
export { detectTransport, type TransportDetection } from "./detect-transport.ts";
export { selectFilterChain } from "./filter-chain-match.ts";
export { needsHttpInspector, needsTlsInspector } from "./inspection.ts";
export type * from "./types.ts";
