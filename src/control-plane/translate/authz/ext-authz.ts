// meshConfig.extensionProviders (envoyExtAuthzHttp, envoyExtAuthzGrpc) → the
// `envoy.filters.http.ext_authz` filter CUSTOM policies put behind their shadow RBAC marker, as istiod's authz builder (extauthz.go) writes them. A
// provider whose service is not in the registry resolves to nothing, so its policies fail closed.
import type { JsonObject } from "../../../xds/proto-json.ts";
import type {
  EnvoyExtAuthzHttpProvider,
  ExtAuthzProviderCommon,
  ExtAuthzRequestBody,
} from "../../model/mesh-config.ts";
import type { MeshSnapshot } from "../../model/snapshot.ts";
import { compact, typed } from "../listener-common.ts";
import {
  EXT_AUTHZ_MATCH_PREFIX,
  EXT_AUTHZ_SHADOW_STAT_PREFIX,
  type ExtAuthzProvider,
  type ExtAuthzProviders,
  HTTP_RBAC_FILTER,
} from "./rbac-filter.ts";

export const HTTP_EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz";
const HTTP_EXT_AUTHZ_TYPE = "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz";
/** istiod's placeholder when the provider sets no timeout. */
const DEFAULT_TIMEOUT_MS = 600_000;

/**
 * The metadata matcher istiod puts in ext_authz's `filter_enabled_metadata`: ext_authz runs only
 * when the CUSTOM marker (the RBAC filter with shadow_rules_stat_prefix `istio_ext_authz_`)
 * recorded a matching policy under its prefixed shadow key.
 */
export function extAuthzFilterEnabledMetadata(rbacFilterName: string): JsonObject {
  return {
    filter: rbacFilterName,
    path: [{ key: `${EXT_AUTHZ_SHADOW_STAT_PREFIX}shadow_effective_policy_id` }],
    value: { string_match: { prefix: EXT_AUTHZ_MATCH_PREFIX } },
  };
}

/**
 * istiod's LookupCluster: `service` is `<namespace>/<hostname>`, or a hostname that exactly one
 * namespace has. The port need not be a service port (istiod does not check it either).
 */
export function lookupProviderCluster(
  snapshot: Pick<MeshSnapshot, "services">,
  service: string,
  port: number,
): { hostname: string; cluster: string } | undefined {
  const parts = service.split("/");
  const [namespace, hostname] = parts.length === 2 ? parts : [undefined, service];
  const matches = snapshot.services.filter(
    (s) => s.hostname === hostname && (namespace === undefined || s.namespace === namespace),
  );
  const namespaces = new Set(matches.map((s) => s.namespace));
  if (matches.length === 0 || namespaces.size > 1) return undefined;
  const host = matches[0]!.hostname;
  return { hostname: host, cluster: `outbound|${port}||${host}` };
}

const duration = (ms: number | undefined): string => `${(ms ?? DEFAULT_TIMEOUT_MS) / 1000}s`;

/** Istio's generateHeaders: `*suffix`, `prefix*` or an exact name, ignoring case. */
function headerMatchers(headers: readonly string[] | undefined): JsonObject | undefined {
  if (!headers?.length) return undefined;
  return {
    patterns: headers.map((header): JsonObject => {
      if (header.startsWith("*")) return { suffix: header.slice(1), ignore_case: true };
      if (header.endsWith("*")) return { prefix: header.slice(0, -1), ignore_case: true };
      return { exact: header, ignore_case: true };
    }),
  };
}

function withRequestBody(body: ExtAuthzRequestBody | undefined): JsonObject | undefined {
  if (!body) return undefined;
  return compact({
    max_request_bytes: body.maxRequestBytes || undefined,
    allow_partial_message: body.allowPartialMessage || undefined,
    pack_as_bytes: body.packAsBytes || undefined,
  });
}

function commonFields(provider: ExtAuthzProviderCommon): JsonObject {
  return compact({
    status_on_error:
      provider.statusOnError === undefined ? undefined : { code: provider.statusOnError },
    failure_mode_allow: provider.failOpen || undefined,
    transport_api_version: "V3",
    filter_enabled_metadata: extAuthzFilterEnabledMetadata(HTTP_RBAC_FILTER),
    with_request_body: withRequestBody(provider.includeRequestBodyInCheck),
  });
}

function httpExtAuthz(
  provider: EnvoyExtAuthzHttpProvider,
  target: { hostname: string; cluster: string },
): JsonObject {
  const additional = Object.entries(provider.includeAdditionalHeadersInCheck ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key, value }));
  const allowed = headerMatchers(provider.includeRequestHeadersInCheck);
  const request =
    allowed || additional.length > 0
      ? compact({
          allowed_headers: allowed,
          headers_to_add: additional.length > 0 ? additional : undefined,
        })
      : undefined;
  const upstream = headerMatchers(provider.headersToUpstreamOnAllow);
  const client = headerMatchers(provider.headersToDownstreamOnDeny);
  const clientOnSuccess = headerMatchers(provider.headersToDownstreamOnAllow);
  const response =
    upstream || client || clientOnSuccess
      ? compact({
          allowed_upstream_headers: upstream,
          allowed_client_headers: client,
          allowed_client_headers_on_success: clientOnSuccess,
        })
      : undefined;
  return {
    name: HTTP_EXT_AUTHZ_FILTER,
    typed_config: typed(HTTP_EXT_AUTHZ_TYPE, {
      ...commonFields(provider),
      http_service: compact({
        path_prefix: provider.pathPrefix,
        server_uri: {
          uri: `http://${target.hostname}`,
          cluster: target.cluster,
          timeout: duration(provider.timeoutMs),
        },
        authorization_request: request,
        authorization_response: response,
      }),
    }),
  };
}

function grpcService(provider: ExtAuthzProviderCommon, cluster: string): JsonObject {
  // `|` is not valid in an HTTP/2 authority: istiod sends a sanitised one.
  return {
    envoy_grpc: { cluster_name: cluster, authority: cluster.replaceAll("|", "_.") },
    timeout: duration(provider.timeoutMs),
  };
}

/**
 * istiod pairs a gRPC provider's HTTP filter with `envoy.filters.network.ext_authz` on TCP chains;
 * crema's proxy has no network ext_authz, so TCP connections the CUSTOM rules cover are denied.
 */
function grpcExtAuthz(provider: ExtAuthzProviderCommon, cluster: string): ExtAuthzProvider {
  return {
    http: {
      name: HTTP_EXT_AUTHZ_FILTER,
      typed_config: typed(HTTP_EXT_AUTHZ_TYPE, {
        ...commonFields(provider),
        grpc_service: grpcService(provider, cluster),
      }),
    },
    denyOnTcp: true,
  };
}

/**
 * istiod's processExtensionProvider: the external authorizers that resolve, by provider name.
 * A name given twice, or a service not in the registry, leaves the name out: CUSTOM policies
 * naming it then deny what they cover.
 */
export function buildExtAuthzProviders(
  snapshot: Pick<MeshSnapshot, "meshConfig" | "services">,
): ExtAuthzProviders {
  const out = new Map<string, ExtAuthzProvider>();
  const seen = new Set<string>();
  for (const provider of snapshot.meshConfig.extensionProviders) {
    const config = provider.envoyExtAuthzHttp ?? provider.envoyExtAuthzGrpc;
    if (!config) continue;
    const duplicate = seen.has(provider.name);
    seen.add(provider.name);
    const target = lookupProviderCluster(snapshot, config.service, config.port);
    if (duplicate || !target) {
      out.delete(provider.name);
      continue;
    }
    out.set(
      provider.name,
      provider.envoyExtAuthzHttp
        ? { http: httpExtAuthz(provider.envoyExtAuthzHttp, target) }
        : grpcExtAuthz(config, target.cluster),
    );
  }
  return out;
}
