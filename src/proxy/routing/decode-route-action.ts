// Route.route → a typed ForwardAction, with Envoy's validation: one cluster
// specifier, at most one path rewrite, policies inherited from the virtual host when the route
// sets none (retry, hedge, mirror — never merged), the 15 s default timeout, body size limits.
import {
  decodeHashPolicy,
  decodeHedgePolicy,
  decodeInternalRedirectPolicy,
  decodeMirrorPolicy,
  decodeRegexSubstitution,
  decodeRetryPolicy,
  decodeUpgradeConfigs,
} from "./decode-policies.ts";
import type { Fields } from "./decode-reader.ts";
import { isLookupHeaderName } from "./header-matcher.ts";
import type { PerFilterConfigValidator } from "./per-filter-config.ts";
import type {
  ClusterSpecifier,
  ForwardAction,
  HashPolicy,
  HedgePolicy,
  MirrorPolicy,
  RetryPolicy,
} from "./types.ts";
import { decodeWeightedClusters } from "./weighted-cluster.ts";

export interface ActionDecodeOptions {
  validatePerFilterConfig?: PerFilterConfigValidator;
  /** Cluster specifier plugins declared `is_optional` (crema implements none). */
  optionalPlugins: ReadonlySet<string>;
  /** Every declared plugin name (non-optional ones were already reported). */
  declaredPlugins: ReadonlySet<string>;
  maxDirectResponseBodySizeBytes: number;
}

export interface InheritedPolicies {
  retryPolicy?: RetryPolicy;
  hedgePolicy?: HedgePolicy;
  requestMirrorPolicies: readonly MirrorPolicy[];
}

const CLUSTER_SPECIFIERS = [
  "cluster",
  "cluster_header",
  "weighted_clusters",
  "cluster_specifier_plugin",
  "inline_cluster_specifier_plugin",
] as const;
const HOST_REWRITES = [
  "host_rewrite_literal",
  "auto_host_rewrite",
  "host_rewrite_header",
  "host_rewrite_path_regex",
] as const;
const NOT_FOUND_CODES = {
  SERVICE_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  INTERNAL_SERVER_ERROR: 500,
} as const;
const CONTROL = /[\0\r\n]/;

// Every optional field present (as undefined) so all actions share one hidden class in V8.
const UNSET_FORWARD = {
  prefixRewrite: undefined,
  regexRewrite: undefined,
  hostRewriteLiteral: undefined,
  hostRewriteHeader: undefined,
  hostRewritePathRegex: undefined,
  idleTimeoutMs: undefined,
  usingNewTimeouts: undefined,
  maxStreamDurationMs: undefined,
  grpcTimeoutHeaderMaxMs: undefined,
  grpcTimeoutHeaderOffsetMs: undefined,
  maxGrpcTimeoutMs: undefined,
  grpcTimeoutOffsetMs: undefined,
  retryPolicy: undefined,
  hedgePolicy: undefined,
  internalRedirect: undefined,
  metadataMatch: undefined,
  cors: undefined,
} satisfies Partial<ForwardAction>;

function decodeClusterSpecifier(
  f: Fields,
  opts: ActionDecodeOptions,
): ClusterSpecifier | undefined {
  const specifier = f.oneof(CLUSTER_SPECIFIERS);
  switch (specifier) {
    case undefined:
      f.error("one of cluster, cluster_header, weighted_clusters is required");
      return undefined;
    case "cluster":
      return { kind: "cluster", name: f.string("cluster", 1) };
    case "cluster_header": {
      const header = f.string("cluster_header", 1);
      if (header && !isLookupHeaderName(header))
        f.error("not a valid header name", "cluster_header");
      return { kind: "cluster_header", header: header.toLowerCase() };
    }
    case "weighted_clusters": {
      const sub = f.object("weighted_clusters");
      const weighted = sub && decodeWeightedClusters(sub, opts.validatePerFilterConfig);
      return weighted && { kind: "weighted_clusters", weighted };
    }
    case "cluster_specifier_plugin": {
      const plugin = f.string("cluster_specifier_plugin", 1);
      if (opts.optionalPlugins.has(plugin)) return { kind: "unavailable_plugin", plugin };
      if (!opts.declaredPlugins.has(plugin)) {
        f.error(`unknown cluster specifier plugin ${JSON.stringify(plugin)}`, specifier);
      }
      return undefined;
    }
    case "inline_cluster_specifier_plugin": {
      const sub = f.object(specifier);
      const optional = sub?.bool("is_optional") ?? false;
      const name = sub?.object("extension")?.string("name") ?? "";
      sub?.skip("extension");
      sub?.finish();
      if (optional) return { kind: "unavailable_plugin", plugin: name };
      f.error("cluster specifier plugins are not supported", specifier);
      return undefined;
    }
  }
}

export function decodeForwardAction(
  f: Fields,
  opts: ActionDecodeOptions,
  inherited: InheritedPolicies,
): ForwardAction | undefined {
  const errors = f.ctx.errors.length;
  f.skip("early_data_policy", "retry_policy_typed_config", "rate_limits", "include_vh_rate_limits");
  const cluster = decodeClusterSpecifier(f, opts);
  const prefixRewrite = f.string("prefix_rewrite");
  if (CONTROL.test(prefixRewrite)) f.error("may not contain NUL, CR or LF", "prefix_rewrite");
  const regex = f.object("regex_rewrite");
  const regexRewrite = regex && decodeRegexSubstitution(regex);
  f.unsupported(
    "path_rewrite_policy",
    "path_rewrite_policy (URI template rewrite) is not supported",
  );
  if (prefixRewrite !== "" && regex) {
    f.error("specify only one of prefix_rewrite, regex_rewrite or path_rewrite_policy");
  }
  f.oneof(HOST_REWRITES);
  const pathRegex = f.object("host_rewrite_path_regex");
  const retry = f.object("retry_policy");
  const hedge = f.object("hedge_policy");
  const mirrors = f.objects("request_mirror_policies").map(decodeMirrorPolicy);
  const action: ForwardAction = {
    kind: "route",
    cluster: cluster ?? { kind: "cluster", name: "" },
    clusterNotFoundResponseCode:
      NOT_FOUND_CODES[
        f.enumValue(
          "cluster_not_found_response_code",
          Object.keys(NOT_FOUND_CODES) as (keyof typeof NOT_FOUND_CODES)[],
        )
      ],
    autoHostRewrite: f.optBool("auto_host_rewrite") ?? false,
    appendXForwardedHost: f.bool("append_x_forwarded_host"),
    timeoutMs: f.duration("timeout") ?? 15_000,
    requestMirrorPolicies: mirrors.length > 0 ? mirrors : inherited.requestMirrorPolicies,
    hashPolicies: f
      .objects("hash_policy")
      .map(decodeHashPolicy)
      .filter((h): h is HashPolicy => h !== undefined),
    upgradeConfigs: decodeUpgradeConfigs(f),
    priority: f.enumValue("priority", ["DEFAULT", "HIGH"] as const),
    ...UNSET_FORWARD,
  };
  if (prefixRewrite !== "") action.prefixRewrite = prefixRewrite;
  if (regexRewrite) action.regexRewrite = regexRewrite;
  const literal = f.string("host_rewrite_literal");
  if (literal) action.hostRewriteLiteral = literal;
  const header = f.string("host_rewrite_header");
  if (header) action.hostRewriteHeader = header.toLowerCase();
  const hostRegex = pathRegex && decodeRegexSubstitution(pathRegex);
  if (hostRegex) action.hostRewritePathRegex = hostRegex;
  const retryPolicy = retry ? decodeRetryPolicy(retry) : inherited.retryPolicy;
  if (retryPolicy) action.retryPolicy = retryPolicy;
  const hedgePolicy = hedge ? decodeHedgePolicy(hedge) : inherited.hedgePolicy;
  if (hedgePolicy) action.hedgePolicy = hedgePolicy;
  const optionalMs = (field: string, set: (ms: number) => void, on: Fields = f) => {
    const ms = on.duration(field);
    if (ms !== undefined) set(ms);
  };
  optionalMs("idle_timeout", (ms) => (action.idleTimeoutMs = ms));
  optionalMs("max_grpc_timeout", (ms) => (action.maxGrpcTimeoutMs = ms));
  optionalMs("grpc_timeout_offset", (ms) => (action.grpcTimeoutOffsetMs = ms));
  const stream = f.object("max_stream_duration");
  if (stream) {
    action.usingNewTimeouts = true;
    optionalMs("max_stream_duration", (ms) => (action.maxStreamDurationMs = ms), stream);
    optionalMs("grpc_timeout_header_max", (ms) => (action.grpcTimeoutHeaderMaxMs = ms), stream);
    optionalMs(
      "grpc_timeout_header_offset",
      (ms) => (action.grpcTimeoutHeaderOffsetMs = ms),
      stream,
    );
    stream.finish();
  }
  const redirectPolicy = f.object("internal_redirect_policy");
  const legacyAction = f.enumValue("internal_redirect_action", [
    "PASS_THROUGH_INTERNAL_REDIRECT",
    "HANDLE_INTERNAL_REDIRECT",
  ] as const);
  const legacyMax = f.optUint("max_internal_redirects");
  if (redirectPolicy) action.internalRedirect = decodeInternalRedirectPolicy(redirectPolicy);
  else if (legacyAction === "HANDLE_INTERNAL_REDIRECT") {
    action.internalRedirect = {
      maxInternalRedirects: legacyMax ?? 1,
      redirectResponseCodes: [302],
      allowCrossSchemeRedirect: false,
      responseHeadersToCopy: [],
    };
  }
  const metadataMatch = f.json("metadata_match");
  if (metadataMatch) action.metadataMatch = metadataMatch;
  const cors = f.json("cors");
  if (cors) action.cors = cors;
  f.finish();
  return f.ctx.errors.length === errors && cluster ? action : undefined;
}
