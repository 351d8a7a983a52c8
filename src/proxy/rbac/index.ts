// Envoy's RBAC engine for crema's proxy, pure: decode the HTTP / network RBAC filter configs once
// (decodeHttpRbac, decodeNetworkRbac, decodeRbacPerRoute), then judge each request or connection
// (evaluateRbac) and let the caller apply the decision, counters and dynamic metadata.
export {
  decodeHttpRbac,
  decodeNetworkRbac,
  decodeRbacPerRoute,
  RBAC_HTTP_TYPE,
  RBAC_NETWORK_TYPE,
  RBAC_PER_ROUTE_TYPE,
  type RbacDecodeOptions,
  type RbacDecodeResult,
  releaseRbacConfig,
} from "./decode-rbac.ts";
export { evaluateEngine, evaluateRbac } from "./evaluate-rbac.ts";
export {
  RBAC_ACCESS_LOG_HINT,
  RBAC_COMMON_METADATA_NAMESPACE,
  RBAC_DENIED_BODY,
  RBAC_DENIED_STATUS,
  RBAC_DENY_CLOSE_REASON,
  RBAC_HTTP_FILTER_NAME,
  RBAC_METADATA_KEYS,
  RBAC_NETWORK_FILTER_NAME,
  rbacDeniedDetails,
  rbacStatNames,
  statPrefixJoin,
} from "./rbac-outputs.ts";
export type * from "./types.ts";
export { compileUriTemplate } from "./uri-template.ts";
