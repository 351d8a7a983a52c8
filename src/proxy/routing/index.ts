// The proxy's routing engine: compile an Envoy RouteConfiguration once (decodeRouteConfiguration),
// then match requests against it (selectRoute). Pure — used by the HTTP connection manager and by
// the control plane's simulation tests alike.
export {
  decodeRouteConfiguration,
  type RouteDecodeOptions,
  type RouteDecodeResult,
  releaseRouteConfiguration,
} from "./decode-route-config.ts";
export { matchHeaderValue, requestHeaderValue } from "./header-matcher.ts";
export {
  applyHeaderMutation,
  type HeaderFormatContext,
  parseHeaderFormat,
  renderHeaderValue,
} from "./header-mutation.ts";
export { forwardedPath, queryStart, redirectLocation } from "./path-rewrite.ts";
export type { PerFilterConfigValidator } from "./per-filter-config.ts";
export { liveRegexCount, MAX_LIVE_REGEXES } from "./re2-pool.ts";
export { fractionHit, queryParameter } from "./route-match.ts";
export {
  applyRequestHeaderMutations,
  applyResponseHeaderMutations,
  directResponseHeaders,
  filterDisabled,
  mirrorSampled,
  mostSpecificPerFilterConfig,
  type NoRouteResult,
  perFilterConfigs,
  type RouteMatchResult,
  type RouteSelection,
  selectRoute,
} from "./select-route.ts";
export type * from "./types.ts";
export { findVirtualHost, portStart, stripPort } from "./virtual-host-select.ts";
export { pickWeightedCluster } from "./weighted-cluster.ts";
