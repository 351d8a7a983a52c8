// The HCM's http_filters: known filters by typed_config type (how Envoy finds implementations),
// optional unknown ones skipped, router required last, as Envoy validates a filter chain.

import type { JsonObject } from "../../xds/proto-json.ts";
import { decodeExtAuthz, EXT_AUTHZ_TYPE } from "../hcm/ext-authz-config.ts";
import {
  decodeGrpcStatsConfig,
  GRPC_STATS_FILTER_NAME,
  GRPC_STATS_TYPE,
} from "../hcm/grpc-stats-config.ts";
import { decodeJwtAuthn } from "../jwt/decode-jwt-authn.ts";
import { JWT_AUTHN_TYPE } from "../jwt/jwt-authn-config.ts";
import { decodeHttpRbac, RBAC_HTTP_TYPE, releaseRbacConfig } from "../rbac/index.ts";
import { Fields } from "../routing/decode-reader.ts";
import { decodeStatsFilterConfig, ISTIO_STATS_TYPE } from "../telemetry/stats-filter-config.ts";
import { typeName } from "./decode-listener-filters.ts";
import type { HttpFilter, RouterFilterConfig } from "./types.ts";

export const ROUTER_TYPE = "envoy.extensions.filters.http.router.v3.Router";

/** HTTP filter config types the proxy implements by default. */
export const DEFAULT_HTTP_FILTER_TYPES: ReadonlySet<string> = new Set([
  ROUTER_TYPE,
  "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.extensions.filters.http.cors.v3.Cors",
  RBAC_HTTP_TYPE,
  JWT_AUTHN_TYPE,
  EXT_AUTHZ_TYPE,
  GRPC_STATS_TYPE,
  ISTIO_STATS_TYPE,
]);

const NAME_TO_TYPE: Record<string, string> = {
  "envoy.filters.http.router": ROUTER_TYPE,
  "envoy.filters.http.fault": "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.filters.http.cors": "envoy.extensions.filters.http.cors.v3.Cors",
  "envoy.filters.http.rbac": RBAC_HTTP_TYPE,
  "envoy.filters.http.jwt_authn": JWT_AUTHN_TYPE,
  "envoy.filters.http.ext_authz": EXT_AUTHZ_TYPE,
  [GRPC_STATS_FILTER_NAME]: GRPC_STATS_TYPE,
};

/**
 * Checks a filter's typed_config where the filter has its own decoder; the HCM compiles it again
 * for its own lifetime (rbac-filter.ts), so nothing decoded here is kept.
 */
function checkFilterConfig(type: string, config: JsonObject, f: Fields): void {
  let errors: readonly string[] = [];
  if (type === RBAC_HTTP_TYPE) {
    const decoded = decodeHttpRbac(config);
    if (decoded.ok) releaseRbacConfig(decoded.value);
    else errors = decoded.errors;
  } else if (type === JWT_AUTHN_TYPE) {
    const decoded = decodeJwtAuthn(config);
    if (!decoded.ok) errors = decoded.errors;
  } else if (type === EXT_AUTHZ_TYPE) {
    const decoded = decodeExtAuthz(config);
    if (decoded.ok) decoded.config.regexes.release();
    else errors = decoded.errors;
  } else if (type === ISTIO_STATS_TYPE) {
    const decoded = decodeStatsFilterConfig(config);
    if (!decoded.ok) errors = decoded.errors;
  } else if (type === GRPC_STATS_TYPE) {
    const decoded = decodeGrpcStatsConfig(config);
    if (!decoded.ok) errors = decoded.errors;
  }
  for (const error of errors) f.ctx.errors.push(`${f.at("typed_config")}.${error}`);
}

export interface HttpFilterOptions {
  /** Message names of the typed configs the proxy implements (default DEFAULT_HTTP_FILTER_TYPES). */
  knownHttpFilterTypes?: ReadonlySet<string>;
}

/**
 * The router's typed_config: what changes forwarding is honoured, what crema cannot honour is an
 * error (so the proxy NACKs), and what only feeds stats, tracing or upstream access logs — which
 * crema's proxy does not emit per attempt — is accepted and ignored.
 */
function decodeRouterConfig(f: Fields): RouterFilterConfig {
  // dynamic_stats and suppress_grpc_request_failure_code_stats only shape stats; start_child_span
  // only tracing; upstream_log(_options) only upstream access logs.
  f.skip(
    "@type",
    "dynamic_stats",
    "suppress_grpc_request_failure_code_stats",
    "start_child_span",
    "upstream_log",
    "upstream_log_options",
  );
  if (f.list("strict_check_headers").length > 0) {
    f.error("strict header checking is not supported", "strict_check_headers");
  }
  if (f.list("upstream_http_filters").length > 0) {
    f.error("upstream HTTP filters are not supported", "upstream_http_filters");
  }
  const config = {
    suppressEnvoyHeaders: f.bool("suppress_envoy_headers"),
    respectExpectedRqTimeout: f.bool("respect_expected_rq_timeout"),
  };
  f.finish();
  return config;
}

function decodeHttpFilter(f: Fields, known: ReadonlySet<string>): HttpFilter | undefined {
  const name = f.string("name", 1);
  const optional = f.bool("is_optional");
  const disabled = f.bool("disabled");
  f.unsupported("config_discovery", "filter config discovery (ECDS) is not supported");
  const config = f.json("typed_config") ?? {};
  const url = typeof config["@type"] === "string" ? config["@type"] : "";
  if (f.has("typed_config") && !url) f.error('an Any needs "@type"', "typed_config");
  f.finish();
  const type = url ? typeName(url) : (NAME_TO_TYPE[name] ?? "");
  if (known.has(type)) {
    const filter: HttpFilter = {
      name,
      typeUrl: url || `type.googleapis.com/${type}`,
      config,
      disabled,
    };
    if (type === ROUTER_TYPE) filter.router = decodeRouterConfig(routerFields(f, config));
    else checkFilterConfig(type, config, f);
    return filter;
  }
  if (!optional) {
    f.error(
      `unsupported HTTP filter ${JSON.stringify(name)}${url ? ` (${url})` : ""}; mark it is_optional to skip it`,
    );
  }
  return undefined;
}

function routerFields(f: Fields, config: JsonObject): Fields {
  return new Fields(f.ctx, config, f.at("typed_config"));
}

/** The router's config when its filter has none (every option off). */
const DEFAULT_ROUTER_CONFIG: RouterFilterConfig = Object.freeze({
  suppressEnvoyHeaders: false,
  respectExpectedRqTimeout: false,
});

/** The router filter's config of a filter list (the router is last); defaults when absent. */
export function routerFilterConfig(filters: readonly HttpFilter[]): RouterFilterConfig {
  return filters.at(-1)?.router ?? DEFAULT_ROUTER_CONFIG;
}

/** Decodes a filter list; `path` names the list for the router-placement errors. */
export function decodeHttpFilters(
  list: Fields[],
  path: string,
  errors: string[],
  options: HttpFilterOptions,
): HttpFilter[] {
  const known = options.knownHttpFilterTypes ?? DEFAULT_HTTP_FILTER_TYPES;
  const out: HttpFilter[] = [];
  const paths: string[] = [];
  for (const f of list) {
    const filter = decodeHttpFilter(f, known);
    if (filter) {
      out.push(filter);
      paths.push(f.path);
    }
  }
  out.forEach((filter, i) => {
    const terminal = typeName(filter.typeUrl) === ROUTER_TYPE;
    if (terminal && i < out.length - 1) {
      errors.push(`${paths[i]}: terminal filter ${JSON.stringify(filter.name)} must be the last`);
    }
    if (!terminal && i === out.length - 1) {
      errors.push(`${paths[i]}: non-terminal filter ${JSON.stringify(filter.name)} is the last`);
    }
  });
  if (out.length === 0) errors.push(`${path}: the router filter is required (last)`);
  return out;
}
