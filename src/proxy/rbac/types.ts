// The RBAC engine's compiled form (what decode-rbac produces, what evaluate-rbac walks) and the
// request it judges. Shared by the HTTP filter (envoy.filters.http.rbac) and the network filter
// (envoy.filters.network.rbac): one engine, two sets of inputs.
import type { ParsedIp } from "../listener/cidr.ts";
import type { Re2Lease } from "../routing/re2-pool.ts";
import type { RouteRequest } from "../routing/types.ts";

export type RbacAction = "ALLOW" | "DENY" | "LOG";

/** The peer certificate of a TLS connection (empty lists / "" when the client sent none). */
export interface RbacPeerCertificate {
  uriSans?: readonly string[];
  dnsSans?: readonly string[];
  subject?: string;
}

/** The HTTP request as the filter sees it: the HCM's RouteRequest fits (after path normalisation). */
export type RbacHttpRequest = Pick<
  RouteRequest,
  "method" | "authority" | "path" | "scheme" | "headers"
>;

/** Everything a permission or principal can look at. */
export interface RbacRequest {
  /**
   * The HTTP request (lower-case header names; pseudo-headers come from method / authority /
   * path / scheme, `path` with its query). Absent for the network filter: header rules then see an
   * empty header map and url_path / uri_template never match, as in Envoy.
   */
  http?: RbacHttpRequest;
  /** The downstream connection's local address (destination_ip, destination_port). */
  destinationIp: string;
  destinationPort: number;
  /** The physical peer (direct_remote_ip, and the deprecated source_ip). */
  directRemoteIp: string;
  /** The client address as the HCM computed it (XFF / original-IP detection); default the peer. */
  remoteIp?: string;
  /** The TLS session's peer certificate; undefined for plaintext connections. */
  tls?: RbacPeerCertificate;
  /** SNI ("" or undefined when none). */
  requestedServerName?: string;
  /** Dynamic metadata by filter namespace (plain JSON), e.g. `envoy.filters.http.jwt_authn`. */
  dynamicMetadata?: Readonly<Record<string, unknown>>;
  /** The selected route's metadata (sourced_metadata with metadata_source ROUTE); none → no match. */
  routeMetadata?: Readonly<Record<string, unknown>>;
  /** Filter state objects serialized as strings, by key (principal filter_state). */
  filterState?: Readonly<Record<string, string>>;
}

/** A compiled permission or principal. */
export type RbacMatcher = (ctx: RbacMatchContext) => boolean;

/** The request plus its addresses parsed once (lazily) per evaluation. */
export interface RbacMatchContext {
  readonly req: RbacRequest;
  readonly ip: (which: "destination" | "directRemote" | "remote") => ParsedIp | undefined;
}

export interface RbacPolicy {
  name: string;
  /** OR of permissions, AND-ed with the OR of principals. */
  permissions: readonly RbacMatcher[];
  principals: readonly RbacMatcher[];
}

/** One config.rbac.v3.RBAC: its policies in Envoy's order (lexicographic by name). */
export interface RbacEngine {
  action: RbacAction;
  policies: readonly RbacPolicy[];
}

/** Counter names, computed once as Envoy's generateStats joins them. */
export interface RbacStatNames {
  allowed: string;
  denied: string;
  shadowAllowed: string;
  shadowDenied: string;
  /** `<…>rbac.[<rules_stat_prefix>.]policy.`: per-policy `<name>.allowed` / `<name>.denied`. */
  policyPrefix: string;
  /** `<…>rbac.[<shadow_rules_stat_prefix>.]policy.`: `<name>.shadow_allowed` / `.shadow_denied`. */
  shadowPolicyPrefix: string;
}

export type RbacEnforcementType = "ONE_TIME_ON_FIRST_BYTE" | "CONTINUOUS";

/** A decoded RBAC filter (HTTP or network). Release with releaseRbacConfig when replaced. */
export interface RbacFilterConfig {
  kind: "http" | "network";
  /** Absent: nothing is enforced (Envoy: "no engine, allowed by default"). */
  rules?: RbacEngine;
  shadowRules?: RbacEngine;
  rulesStatPrefix: string;
  shadowRulesStatPrefix: string;
  trackPerRuleStats: boolean;
  stats: RbacStatNames;
  /** Network filter only: check once on the first byte (default) or on every read. */
  enforcementType: RbacEnforcementType;
  /** Network filter only: how long a denied connection is held (read-disabled) before closing. */
  delayDenyMs: number;
  /** The RE2 regexes this config holds. */
  regexes: Re2Lease;
}

/** A decoded RBACPerRoute: replaces the filter's engines on that route (none → disabled). */
export interface RbacPerRouteConfig {
  rules?: RbacEngine;
  shadowRules?: RbacEngine;
  /** Non-empty values override the filter's dynamic-metadata key prefixes (not its counters). */
  rulesStatPrefix: string;
  shadowRulesStatPrefix: string;
  trackPerRuleStats: boolean;
  regexes: Re2Lease;
}

export interface RbacEngineResult {
  allowed: boolean;
  /** The first matching policy in name order (Envoy's effective policy id). */
  matchedPolicy?: string;
}

/** What the filter decides, plus every side effect Envoy would have, for the caller to apply. */
export interface RbacDecision {
  /** False: reply 403 (HTTP) or close the connection (network). */
  allowed: boolean;
  /** The enforced engine's effective policy id. */
  matchedPolicy?: string;
  /** Absent when no rules are enforced. */
  enforced?: RbacEngineResult;
  /** Absent when there are no shadow rules. */
  shadow?: RbacEngineResult;
  /** LOG action only: the `envoy.common` `access_log_hint` value. */
  accessLogHint?: boolean;
  /** Counters to increment by one (full names). */
  counters: string[];
  /** Dynamic metadata to merge into the stream's (namespace → key → value). */
  dynamicMetadata: Record<string, Record<string, string | boolean>>;
  /** When denied: %RESPONSE_CODE_DETAILS% (HTTP) / connection termination details (network). */
  details?: string;
}
