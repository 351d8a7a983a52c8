// RouteConfiguration (RDS) JSON → CompiledRouteConfig, once per update: validates everything and
// collects EVERY problem with its field path (the proxy NACKs with all of them and keeps its last
// good config). Features a proxy must not silently ignore are errors; stats-only ones are skipped.
import { decodeDirectResponse, decodeRedirectAction } from "./decode-local-reply.ts";
import { decodeHedgePolicy, decodeMirrorPolicy, decodeRetryPolicy } from "./decode-policies.ts";
import { Fields } from "./decode-reader.ts";
import {
  type ActionDecodeOptions,
  decodeForwardAction,
  type InheritedPolicies,
} from "./decode-route-action.ts";
import { isLookupHeaderName } from "./header-matcher.ts";
import { decodeHeaderMutation, NO_MUTATION } from "./header-mutation.ts";
import { decodePerFilterConfigs, type PerFilterConfigValidator } from "./per-filter-config.ts";
import { Re2Lease } from "./re2-pool.ts";
import { decodeRouteMatch } from "./route-match.ts";
import type {
  CompiledRoute,
  CompiledRouteConfig,
  CompiledVirtualHost,
  HeaderMutation,
  RouteAction,
} from "./types.ts";
import { buildVirtualHostIndex } from "./virtual-host-select.ts";

export interface RouteDecodeOptions {
  /** Rejects per-filter configs the proxy's filters cannot use (unless marked optional). */
  validatePerFilterConfig?: PerFilterConfigValidator;
}

export type RouteDecodeResult =
  | { ok: true; value: CompiledRouteConfig }
  | { ok: false; errors: string[] };

interface Env extends ActionDecodeOptions {
  config: { request: HeaderMutation; response: HeaderMutation; mostSpecificWins: boolean };
}

const ACTIONS = [
  "route",
  "redirect",
  "direct_response",
  "filter_action",
  "non_forwarding_action",
] as const;
const CONTROL = /[\0\r\n]/;
const ROUTE_CONFIGURATION_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";

function chain(env: Env, route: HeaderMutation, vhost: HeaderMutation, config: HeaderMutation) {
  const levels = env.config.mostSpecificWins ? [config, vhost, route] : [route, vhost, config];
  return levels.filter((m) => m.add.length > 0 || m.remove.length > 0);
}

function decodeAction(f: Fields, env: Env, inherited: InheritedPolicies): RouteAction | undefined {
  const kind = f.oneof(ACTIONS);
  const sub = kind ? f.object(kind) : undefined;
  switch (kind) {
    case undefined:
      f.error("one of route, redirect, direct_response is required");
      return undefined;
    case "filter_action":
    case "non_forwarding_action":
      f.error(`${kind} is not supported by crema's proxy`, kind);
      return undefined;
    case "route":
      return sub && decodeForwardAction(sub, env, inherited);
    case "redirect":
      return sub && decodeRedirectAction(sub);
    default:
      return sub && decodeDirectResponse(sub, env.maxDirectResponseBodySizeBytes);
  }
}

function decodeRoute(f: Fields, env: Env, vhost: CompiledVirtualHost, index: number) {
  f.skip("tracing", "per_request_buffer_limit_bytes");
  const matchFields = f.object("match");
  if (!matchFields) f.error("is required", "match");
  const match = matchFields && decodeRouteMatch(matchFields);
  const action = decodeAction(f, env, vhost);
  const requestHeaders = decodeHeaderMutation(
    f,
    "request_headers_to_add",
    "request_headers_to_remove",
  );
  const responseHeaders = decodeHeaderMutation(
    f,
    "response_headers_to_add",
    "response_headers_to_remove",
  );
  const route: Omit<CompiledRoute, "match" | "action"> = {
    name: f.string("name"),
    index,
    requestHeaders,
    responseHeaders,
    requestMutationChain: chain(env, requestHeaders, vhost.requestHeaders, env.config.request),
    responseMutationChain: chain(env, responseHeaders, vhost.responseHeaders, env.config.response),
    typedPerFilterConfig: decodePerFilterConfigs(f, env.validatePerFilterConfig),
    decorator: undefined,
    metadata: undefined,
    statPrefix: undefined,
  };
  const decorator = f.object("decorator");
  if (decorator) {
    route.decorator = {
      operation: decorator.string("operation", 1),
      propagate: decorator.optBool("propagate") ?? true,
    };
    decorator.finish();
  }
  const metadata = f.json("metadata");
  if (metadata) route.metadata = metadata;
  const statPrefix = f.string("stat_prefix");
  if (statPrefix) route.statPrefix = statPrefix;
  f.finish();
  return match && action ? { match, action, ...route } : undefined;
}

function sslRedirectRoute(): CompiledRoute {
  return {
    name: "",
    index: -1,
    match: {
      kind: "prefix",
      value: "",
      caseSensitive: true,
      headers: [],
      queryParameters: [],
      grpc: false,
      dynamicMetadata: [],
    },
    action: { kind: "redirect", responseCode: 301, stripQuery: false, sslRedirect: true },
    requestHeaders: NO_MUTATION,
    responseHeaders: NO_MUTATION,
    requestMutationChain: [],
    responseMutationChain: [],
    typedPerFilterConfig: {},
  };
}

function decodeVirtualHost(
  f: Fields,
  env: Env,
  configMirrors: CompiledRouteConfig["requestMirrorPolicies"],
) {
  f.skip("virtual_clusters", "rate_limits", "retry_policy_typed_config");
  f.unsupported("matcher", "VirtualHost.matcher (a match tree instead of routes) is not supported");
  const domains = f.strings("domains");
  if (domains.length === 0) f.error("at least one domain is required", "domains");
  domains.forEach((d, i) => {
    if (CONTROL.test(d)) f.error("domains may not contain control characters", `domains[${i}]`);
  });
  const retry = f.object("retry_policy");
  const hedge = f.object("hedge_policy");
  const mirrors = f.objects("request_mirror_policies").map(decodeMirrorPolicy);
  const vhost: CompiledVirtualHost = {
    name: f.string("name", 1),
    domains,
    routes: [],
    requireTls: f.enumValue("require_tls", ["NONE", "EXTERNAL_ONLY", "ALL"] as const),
    sslRedirectRoute: sslRedirectRoute(),
    requestHeaders: decodeHeaderMutation(f, "request_headers_to_add", "request_headers_to_remove"),
    responseHeaders: decodeHeaderMutation(
      f,
      "response_headers_to_add",
      "response_headers_to_remove",
    ),
    requestMirrorPolicies: mirrors.length > 0 ? mirrors : configMirrors,
    typedPerFilterConfig: decodePerFilterConfigs(f, env.validatePerFilterConfig),
    includeRequestAttemptCount: f.bool("include_request_attempt_count"),
    includeAttemptCountInResponse: f.bool("include_attempt_count_in_response"),
    includeIsTimeoutRetryHeader: f.bool("include_is_timeout_retry_header"),
  };
  if (retry) vhost.retryPolicy = decodeRetryPolicy(retry);
  if (hedge) vhost.hedgePolicy = decodeHedgePolicy(hedge);
  const limit = f.optUint("per_request_buffer_limit_bytes");
  if (limit !== undefined) vhost.perRequestBufferLimitBytes = limit;
  const cors = f.json("cors");
  if (cors) vhost.cors = cors;
  const metadata = f.json("metadata");
  if (metadata) vhost.metadata = metadata;
  const routes: CompiledRoute[] = [];
  f.objects("routes").forEach((r, i) => {
    const route = decodeRoute(r, env, vhost, i);
    if (route) routes.push(route);
  });
  vhost.routes = routes;
  f.finish();
  return vhost;
}

function decodePlugins(f: Fields): { optional: Set<string>; declared: Set<string> } {
  const optional = new Set<string>();
  const declared = new Set<string>();
  for (const p of f.objects("cluster_specifier_plugins")) {
    const extension = p.object("extension");
    if (!extension) p.error("is required", "extension");
    const name = extension?.string("name", 1) ?? "";
    extension?.skip("typed_config");
    extension?.finish();
    const isOptional = p.bool("is_optional");
    if (declared.has(name))
      p.error(`duplicate cluster specifier plugin ${JSON.stringify(name)}`, "extension.name");
    declared.add(name);
    if (isOptional) optional.add(name);
    else p.error(`cluster specifier plugin ${JSON.stringify(name)} is not supported`, "extension");
    p.finish();
  }
  return { optional, declared };
}

/** Validates and compiles a RouteConfiguration; every error carries its field path. */
export function decodeRouteConfiguration(
  json: unknown,
  options: RouteDecodeOptions = {},
): RouteDecodeResult {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  const f = Fields.of(ctx, json, "");
  if (!f) return { ok: false, errors: ctx.errors };
  const typeUrl = f.raw("@type");
  if (typeUrl !== undefined && typeUrl !== ROUTE_CONFIGURATION_TYPE) {
    f.error(`expected ${ROUTE_CONFIGURATION_TYPE}`, "@type");
  }
  f.unsupported("vhds", "VHDS (on-demand virtual hosts) is not supported");
  const internalOnlyHeaders = f.strings("internal_only_headers").map((h) => h.toLowerCase());
  for (const h of internalOnlyHeaders) {
    if (!isLookupHeaderName(h))
      f.error(`${JSON.stringify(h)} is not a valid header name`, "internal_only_headers");
  }
  const plugins = decodePlugins(f);
  const mirrors = f.objects("request_mirror_policies").map(decodeMirrorPolicy);
  const config: CompiledRouteConfig = {
    name: f.string("name"),
    virtualHosts: [],
    hostIndex: { exact: new Map(), suffixes: [], prefixes: [], onlyCatchAll: true },
    requestHeaders: decodeHeaderMutation(f, "request_headers_to_add", "request_headers_to_remove"),
    responseHeaders: decodeHeaderMutation(
      f,
      "response_headers_to_add",
      "response_headers_to_remove",
    ),
    mostSpecificHeaderMutationsWins: f.bool("most_specific_header_mutations_wins"),
    ignorePortInHostMatching: f.bool("ignore_port_in_host_matching"),
    ignorePathParametersInPathMatching: f.bool("ignore_path_parameters_in_path_matching"),
    internalOnlyHeaders,
    requestMirrorPolicies: mirrors,
    typedPerFilterConfig: decodePerFilterConfigs(f, options.validatePerFilterConfig),
    maxDirectResponseBodySizeBytes: f.uint("max_direct_response_body_size_bytes", 4096),
    regexes: ctx.regexes,
  };
  const validateClusters = f.optBool("validate_clusters");
  if (validateClusters !== undefined) config.validateClusters = validateClusters;
  const metadata = f.json("metadata");
  if (metadata) config.metadata = metadata;
  const env: Env = {
    ...(options.validatePerFilterConfig
      ? { validatePerFilterConfig: options.validatePerFilterConfig }
      : {}),
    optionalPlugins: plugins.optional,
    declaredPlugins: plugins.declared,
    maxDirectResponseBodySizeBytes: config.maxDirectResponseBodySizeBytes,
    config: {
      request: config.requestHeaders,
      response: config.responseHeaders,
      mostSpecificWins: config.mostSpecificHeaderMutationsWins,
    },
  };
  const vhosts: CompiledVirtualHost[] = [];
  const paths: string[] = [];
  for (const v of f.objects("virtual_hosts")) {
    vhosts.push(decodeVirtualHost(v, env, mirrors));
    paths.push(v.path);
  }
  config.virtualHosts = vhosts;
  config.hostIndex = buildVirtualHostIndex(vhosts, paths, config.name, ctx.errors);
  f.finish();
  if (ctx.errors.length === 0) return { ok: true, value: config };
  ctx.regexes.release();
  return { ok: false, errors: ctx.errors };
}

/**
 * Frees the compiled regexes of a route table that is no longer used (call it after swapping in
 * the next one; matching is synchronous, so no request is mid-walk). Idempotent.
 */
export function releaseRouteConfiguration(config: CompiledRouteConfig): void {
  config.regexes.release();
}
