// The compiled route table: what decodeRouteConfiguration builds once per RDS update and what
// selectRoute walks per request. Every field is decoded (durations in ms, enums as names).
import type { Json, JsonObject } from "../../xds/proto-json.ts";
import type {
  HashPolicy,
  HedgePolicy,
  InternalRedirectPolicy,
  MirrorPolicy,
  RetryPolicy,
  UpgradeConfig,
} from "./policy-types.ts";
import type { Re2Lease } from "./re2-pool.ts";

export type * from "./policy-types.ts";

/** Request headers as the HTTP connection manager holds them: lowercase names. */
export type RequestHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** A mutable header map (lowercase names); several values of one name are an array. */
export type MutableHeaders = Record<string, string | string[] | undefined>;

/** What routing looks at in a request. `path` is the `:path` (with query); "" when absent. */
export interface RouteRequest {
  authority: string;
  path: string;
  method: string;
  scheme: string;
  headers: RequestHeaders;
  sourceIp?: string;
  /** Dynamic metadata by filter name (e.g. `envoy.filters.http.jwt_authn` → claims). */
  dynamicMetadata?: Readonly<Record<string, unknown>>;
  peerCertificatePresented?: boolean;
  peerCertificateValidated?: boolean;
}

/** Returns a number in [0, 1); injected so tests are deterministic. */
export type RandomSource = () => number;

export interface FractionalPercent {
  numerator: number;
  denominator: number;
}

/** One header added by a mutation; `value` is a parsed formatter template. */
export interface HeaderAddition {
  name: string;
  parts: readonly FormatPart[];
  action: HeaderAppendAction;
  keepEmptyValue: boolean;
}

export type HeaderAppendAction =
  | "APPEND_IF_EXISTS_OR_ADD"
  | "ADD_IF_ABSENT"
  | "OVERWRITE_IF_EXISTS_OR_ADD"
  | "OVERWRITE_IF_EXISTS";

/** A literal, or a `%COMMAND(arg)%` formatter variable (unknown ones render as written). */
export type FormatPart = string | { command: string; arg?: string; raw: string };

export interface HeaderMutation {
  remove: readonly string[];
  add: readonly HeaderAddition[];
}

export interface PerFilterConfig {
  typeUrl: string;
  config: JsonObject;
  isOptional: boolean;
  disabled: boolean;
}

export type PerFilterConfigs = Readonly<Record<string, PerFilterConfig>>;

export interface StringMatch {
  readonly description: string;
  match(value: string): boolean;
}

export interface HeaderMatch {
  name: string;
  kind: "string" | "present" | "range";
  string?: StringMatch;
  present: boolean;
  rangeStart: number;
  rangeEnd: number;
  invert: boolean;
  treatMissingAsEmpty: boolean;
}

export interface QueryParameterMatch {
  name: string;
  string?: StringMatch;
}

export interface MetadataMatch {
  filter: string;
  path: readonly string[];
  value: (value: unknown) => boolean;
  invert: boolean;
}

export type PathMatchKind = "prefix" | "path" | "safe_regex" | "path_separated_prefix" | "connect";

export interface CompiledRouteMatch {
  kind: PathMatchKind;
  /** The configured prefix / path (lowercased when case-insensitive); "" otherwise. */
  value: string;
  caseSensitive: boolean;
  regex?: StringMatch;
  runtimeFraction?: FractionalPercent;
  headers: readonly HeaderMatch[];
  queryParameters: readonly QueryParameterMatch[];
  grpc: boolean;
  tlsPresented?: boolean;
  tlsValidated?: boolean;
  dynamicMetadata: readonly MetadataMatch[];
}

export interface RegexRewrite {
  pattern: string;
  substitution: string;
  replace(input: string): string;
}

export interface CompiledClusterWeight {
  name?: string;
  clusterHeader?: string;
  weight: number;
  hostRewriteLiteral?: string;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  typedPerFilterConfig: PerFilterConfigs;
  metadataMatch?: Json;
}

export interface WeightedClusters {
  clusters: readonly CompiledClusterWeight[];
  totalWeight: number;
  randomValueHeader?: string;
}

export type ClusterSpecifier =
  | { kind: "cluster"; name: string }
  | { kind: "cluster_header"; header: string }
  | { kind: "weighted_clusters"; weighted: WeightedClusters }
  | { kind: "unavailable_plugin"; plugin: string };

export interface ForwardAction {
  kind: "route";
  cluster: ClusterSpecifier;
  clusterNotFoundResponseCode: 503 | 404 | 500;
  prefixRewrite?: string;
  regexRewrite?: RegexRewrite;
  hostRewriteLiteral?: string;
  autoHostRewrite: boolean;
  hostRewriteHeader?: string;
  hostRewritePathRegex?: RegexRewrite;
  appendXForwardedHost: boolean;
  /** Envoy's default is 15 s; 0 disables the timeout. */
  timeoutMs: number;
  idleTimeoutMs?: number;
  /** The route sets max_stream_duration (Envoy's usingNewTimeouts: max_grpc_timeout is ignored). */
  usingNewTimeouts?: boolean;
  maxStreamDurationMs?: number;
  grpcTimeoutHeaderMaxMs?: number;
  grpcTimeoutHeaderOffsetMs?: number;
  /** Deprecated max_grpc_timeout / grpc_timeout_offset, used when max_stream_duration is unset. */
  maxGrpcTimeoutMs?: number;
  grpcTimeoutOffsetMs?: number;
  /** The route's retry policy, else the virtual host's (never merged). */
  retryPolicy?: RetryPolicy;
  hedgePolicy?: HedgePolicy;
  /** The route's mirror policies, else the virtual host's, else the route configuration's. */
  requestMirrorPolicies: readonly MirrorPolicy[];
  hashPolicies: readonly HashPolicy[];
  upgradeConfigs: readonly UpgradeConfig[];
  internalRedirect?: InternalRedirectPolicy;
  priority: "DEFAULT" | "HIGH";
  metadataMatch?: Json;
  /** Deprecated route-level CORS policy, kept for the CORS filter as written. */
  cors?: JsonObject;
}

export interface RedirectAction {
  kind: "redirect";
  schemeRedirect?: string;
  hostRedirect?: string;
  portRedirect?: number;
  pathRedirect?: string;
  prefixRewrite?: string;
  regexRewrite?: RegexRewrite;
  responseCode: 301 | 302 | 303 | 307 | 308;
  stripQuery: boolean;
  /** The synthetic redirect of a virtual host's `require_tls`. */
  sslRedirect?: boolean;
}

export interface DirectResponseAction {
  kind: "direct_response";
  status: number;
  body?: string | Uint8Array;
}

export type RouteAction = ForwardAction | RedirectAction | DirectResponseAction;

export interface CompiledRoute {
  name: string;
  /** Position in its virtual host's route list. */
  index: number;
  match: CompiledRouteMatch;
  action: RouteAction;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  /** Route, virtual host and route configuration mutations in Envoy's evaluation order. */
  requestMutationChain: readonly HeaderMutation[];
  responseMutationChain: readonly HeaderMutation[];
  typedPerFilterConfig: PerFilterConfigs;
  decorator?: { operation: string; propagate: boolean };
  metadata?: JsonObject;
  statPrefix?: string;
}

export interface CompiledVirtualHost {
  name: string;
  domains: readonly string[];
  routes: readonly CompiledRoute[];
  requireTls: "NONE" | "EXTERNAL_ONLY" | "ALL";
  /** The route that answers a `require_tls` violation (301 to https). */
  sslRedirectRoute: CompiledRoute;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  retryPolicy?: RetryPolicy;
  hedgePolicy?: HedgePolicy;
  requestMirrorPolicies: readonly MirrorPolicy[];
  typedPerFilterConfig: PerFilterConfigs;
  includeRequestAttemptCount: boolean;
  includeAttemptCountInResponse: boolean;
  includeIsTimeoutRetryHeader: boolean;
  perRequestBufferLimitBytes?: number;
  cors?: JsonObject;
  metadata?: JsonObject;
}

export interface VirtualHostIndex {
  exact: ReadonlyMap<string, CompiledVirtualHost>;
  /** Longest first: `*.foo.com` is stored as ".foo.com" under length 8. */
  suffixes: readonly { length: number; hosts: ReadonlyMap<string, CompiledVirtualHost> }[];
  prefixes: readonly { length: number; hosts: ReadonlyMap<string, CompiledVirtualHost> }[];
  catchAll?: CompiledVirtualHost;
  onlyCatchAll: boolean;
}

export interface CompiledRouteConfig {
  name: string;
  virtualHosts: readonly CompiledVirtualHost[];
  hostIndex: VirtualHostIndex;
  requestHeaders: HeaderMutation;
  responseHeaders: HeaderMutation;
  mostSpecificHeaderMutationsWins: boolean;
  ignorePortInHostMatching: boolean;
  ignorePathParametersInPathMatching: boolean;
  internalOnlyHeaders: readonly string[];
  requestMirrorPolicies: readonly MirrorPolicy[];
  typedPerFilterConfig: PerFilterConfigs;
  validateClusters?: boolean;
  maxDirectResponseBodySizeBytes: number;
  metadata?: JsonObject;
  /** The compiled regexes this table holds; see releaseRouteConfiguration. */
  regexes: Re2Lease;
}
