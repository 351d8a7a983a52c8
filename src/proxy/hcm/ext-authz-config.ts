// Decodes `envoy.filters.http.ext_authz` (envoy.extensions.filters.http.ext_authz.v3.ExtAuthz) into
// what the proxy's ext_authz filter runs: an HTTP or gRPC authorization service on a cluster, the
// header lists, failure mode and the filter_enabled_metadata gate. Every field the proxy cannot
// honour is an error naming it, so the listener is NACKed rather than half-enforced.
import { envoyProtos } from "../../xds/envoy-protos.ts";
import { Fields } from "../routing/decode-reader.ts";
import { decodeMetadataMatcher } from "../routing/metadata-matcher.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { decodeStringMatcher } from "../routing/string-matcher.ts";
import type { MetadataMatch, StringMatch } from "../routing/types.ts";

export const EXT_AUTHZ_TYPE = "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz";
export const EXT_AUTHZ_FILTER_NAME = "envoy.filters.http.ext_authz";

/** Envoy's default check timeout (GrpcService.timeout / HttpUri.timeout unset): 200 ms. */
const DEFAULT_TIMEOUT_MS = 200;

/** A ListStringMatcher: a header name passes when any pattern matches it. */
export type HeaderList = readonly StringMatch[];

export interface ExtAuthzHttpService {
  kind: "http";
  cluster: string;
  timeoutMs: number;
  pathPrefix: string;
  /** Request headers sent to the authorizer besides Envoy's always-sent ones. */
  allowedHeaders: HeaderList | undefined;
  headersToAdd: ReadonlyArray<readonly [string, string]>;
  allowedUpstreamHeaders: HeaderList | undefined;
  allowedUpstreamHeadersToAppend: HeaderList | undefined;
  /** On denial; undefined: every authorizer header but Host. */
  allowedClientHeaders: HeaderList | undefined;
  allowedClientHeadersOnSuccess: HeaderList | undefined;
}

export interface ExtAuthzGrpcService {
  kind: "grpc";
  cluster: string;
  /** The :authority the check is sent with. */
  authority: string;
  timeoutMs: number;
  initialMetadata: ReadonlyArray<readonly [string, string]>;
  /** Top-level allowed_headers: which request headers the CheckRequest carries (all when unset). */
  allowedHeaders: HeaderList | undefined;
}

export interface ExtAuthzConfig {
  service: ExtAuthzHttpService | ExtAuthzGrpcService;
  failureModeAllow: boolean;
  failureModeAllowHeaderAdd: boolean;
  /** status_on_error; Envoy's default is 403. */
  statusOnError: number;
  filterEnabledMetadata: MetadataMatch | undefined;
  disallowedHeaders: HeaderList | undefined;
  /** `<stat_prefix>.` or "" (Envoy's optional per-filter stat prefix). */
  statPrefix: string;
  /** Regexes the header matchers hold; released with the filter. */
  regexes: Re2Lease;
}

export type ExtAuthzDecode = { ok: true; config: ExtAuthzConfig } | { ok: false; errors: string[] };

function headerList(f: Fields, field: string): HeaderList | undefined {
  const list = f.object(field);
  if (!list) return undefined;
  const patterns = list.objects("patterns").map(decodeStringMatcher);
  if (patterns.length === 0) list.error("at least one pattern is required", "patterns");
  list.finish();
  return patterns.every((p) => p !== undefined) ? (patterns as StringMatch[]) : undefined;
}

function headerValues(f: Fields, field: string): Array<readonly [string, string]> {
  return f.objects(field).map((h) => {
    const key = h.string("key", 1);
    const value = h.string("value");
    h.skip("raw_value");
    h.finish();
    return [key.toLowerCase(), value] as const;
  });
}

function decodeHttpService(f: Fields, top: HeaderList | undefined): ExtAuthzHttpService {
  const uri = f.object("server_uri");
  if (!uri) f.error("is required", "server_uri");
  uri?.string("uri", 1);
  const cluster = uri?.string("cluster", 1) ?? "";
  const timeoutMs = uri?.duration("timeout") ?? DEFAULT_TIMEOUT_MS;
  uri?.finish();
  const pathPrefix = f.string("path_prefix");
  if (pathPrefix && !pathPrefix.startsWith("/")) f.error("must begin with /", "path_prefix");
  const request = f.object("authorization_request");
  const allowedHeaders = (request && headerList(request, "allowed_headers")) ?? top;
  const headersToAdd = request ? headerValues(request, "headers_to_add") : [];
  request?.finish();
  const response = f.object("authorization_response");
  const service: ExtAuthzHttpService = {
    kind: "http",
    cluster,
    timeoutMs,
    pathPrefix,
    allowedHeaders,
    headersToAdd,
    allowedUpstreamHeaders: response && headerList(response, "allowed_upstream_headers"),
    allowedUpstreamHeadersToAppend:
      response && headerList(response, "allowed_upstream_headers_to_append"),
    allowedClientHeaders: response && headerList(response, "allowed_client_headers"),
    allowedClientHeadersOnSuccess:
      response && headerList(response, "allowed_client_headers_on_success"),
  };
  response?.unsupported(
    "dynamic_metadata_from_headers",
    "dynamic metadata from authorizer headers is not supported by crema's proxy",
  );
  response?.finish();
  f.unsupported("retry_policy", "retrying the check is not supported by crema's proxy");
  f.finish();
  return service;
}

function decodeGrpcService(f: Fields, top: HeaderList | undefined): ExtAuthzGrpcService {
  const envoyGrpc = f.object("envoy_grpc");
  f.unsupported("google_grpc", "google_grpc is not supported by crema's proxy; use envoy_grpc");
  if (!envoyGrpc && !f.has("google_grpc")) f.error("is required", "envoy_grpc");
  const cluster = envoyGrpc?.string("cluster_name", 1) ?? "";
  const authority = envoyGrpc?.string("authority") || cluster;
  envoyGrpc?.skip("retry_policy", "max_receive_message_length", "skip_envoy_headers");
  envoyGrpc?.finish();
  const timeoutMs = f.duration("timeout") ?? DEFAULT_TIMEOUT_MS;
  const initialMetadata = headerValues(f, "initial_metadata");
  f.skip("retry_policy");
  f.finish();
  return { kind: "grpc", cluster, authority, timeoutMs, initialMetadata, allowedHeaders: top };
}

/** envoy.type.v3.HttpStatus.code: a number, or the StatusCode name xDS JSON carries. */
function decodeStatusCode(f: Fields): number {
  const raw = f.raw("code");
  const values = envoyProtos().lookupEnum("envoy.type.v3.StatusCode").values;
  const code = typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : raw;
  const numeric = typeof code === "string" ? values[code] : code;
  if (typeof numeric === "number" && numeric > 0 && Object.values(values).includes(numeric))
    return numeric;
  f.error("expected a status code of envoy.type.v3.StatusCode", "code");
  return 403;
}

const UNSUPPORTED: ReadonlyArray<readonly [string, string]> = [
  [
    "with_request_body",
    "sending the request body to the authorizer is not supported by crema's proxy",
  ],
  ["clear_route_cache", "re-selecting the route after the check is not supported by crema's proxy"],
  ["filter_enabled", "runtime fractions are not supported by crema's proxy"],
  ["deny_at_disable", "runtime feature flags are not supported by crema's proxy"],
  ["metadata_context_namespaces", "metadata context is not supported by crema's proxy"],
  ["typed_metadata_context_namespaces", "metadata context is not supported by crema's proxy"],
  ["route_metadata_context_namespaces", "metadata context is not supported by crema's proxy"],
  ["route_typed_metadata_context_namespaces", "metadata context is not supported by crema's proxy"],
  ["decoder_header_mutation_rules", "header mutation rules are not supported by crema's proxy"],
  ["bootstrap_metadata_labels_key", "bootstrap metadata is not supported by crema's proxy"],
];

/** Decodes an ExtAuthz typed_config; `path` prefixes every error. */
export function decodeExtAuthz(json: unknown, path = ""): ExtAuthzDecode {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  const f = Fields.of(ctx, json, path);
  if (!f) return { ok: false, errors: ctx.errors };
  f.skip(
    "@type",
    // Attribute details for the gRPC CheckRequest and stats knobs crema does not distinguish.
    "include_peer_certificate",
    "include_tls_session",
    "charge_cluster_response_stats",
    "encode_raw_headers",
    "validate_mutations",
    "enable_dynamic_metadata_ingestion",
  );
  for (const [field, why] of UNSUPPORTED) f.unsupported(field, why);
  const version = f.enumValue("transport_api_version", ["AUTO", "V2", "V3"] as const);
  if (version !== "V3") f.error("only V3 is supported (as in Envoy)", "transport_api_version");
  const top = headerList(f, "allowed_headers");
  const disallowedHeaders = headerList(f, "disallowed_headers");
  const kind = f.oneof(["http_service", "grpc_service"]);
  const sub = kind && f.object(kind);
  if (!kind) f.error("one of http_service, grpc_service is required");
  const service =
    sub && (kind === "http_service" ? decodeHttpService(sub, top) : decodeGrpcService(sub, top));
  const status = f.object("status_on_error");
  const statusOnError = status ? decodeStatusCode(status) : 403;
  status?.finish();
  const enabled = f.object("filter_enabled_metadata");
  const filterEnabledMetadata = enabled && decodeMetadataMatcher(enabled);
  const statPrefix = f.string("stat_prefix");
  const config = {
    failureModeAllow: f.bool("failure_mode_allow"),
    failureModeAllowHeaderAdd: f.bool("failure_mode_allow_header_add"),
  };
  f.finish();
  if (ctx.errors.length > 0 || !service) {
    ctx.regexes.release();
    return { ok: false, errors: ctx.errors.length > 0 ? ctx.errors : [`${path}: invalid`] };
  }
  return {
    ok: true,
    config: {
      ...config,
      service,
      statusOnError,
      filterEnabledMetadata,
      disallowedHeaders,
      statPrefix: statPrefix ? `${statPrefix}.` : "",
      regexes: ctx.regexes,
    },
  };
}
