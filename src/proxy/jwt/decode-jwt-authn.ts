// Decodes the jwt_authn filter's typed_config (JwtAuthentication) into JwtAuthnConfig, collecting
// every problem with its field path so the listener can be NACKed with all reasons at once. What
// the proxy cannot honour is an error, never silently dropped: subject/lifetime constraints, key
// files, filter-state rules, route matchers beyond path/prefix, and remote_jwks unless the host
// gives the filter a fetcher (istiod inlines fetched keys as local_jwks by default).
import { Fields } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { parseJwks } from "./jwks.ts";
import type {
  JwksSource,
  JwtAuthnConfig,
  JwtProviderConfig,
  JwtRequirement,
  JwtRequirementRule,
  JwtRouteMatch,
} from "./jwt-authn-config.ts";
import { decodeBase64Url } from "./jwt-parse.ts";
import { jwtStatusMessage } from "./jwt-status.ts";

export interface JwtAuthnDecodeOptions {
  /** The host can fetch remote_jwks (a JwksFetcher is passed to the filter). */
  remoteJwks?: boolean;
}

export type JwtAuthnDecode =
  | { ok: true; config: JwtAuthnConfig; warnings: string[] }
  | { ok: false; errors: string[] };

/** Envoy's default remote_jwks cache_duration (DefaultCacheExpirationSec). */
const DEFAULT_CACHE_DURATION_MS = 600_000;
const ISTIOD_INLINES = "istiod inlines fetched keys as local_jwks";

function decodeLocalJwks(f: Fields, warnings: string[]): JwksSource | undefined {
  const source = f.oneof(["inline_string", "inline_bytes", "filename", "environment_variable"]);
  f.unsupported("filename", "reading key files is not supported by crema's proxy; inline the keys");
  f.unsupported(
    "environment_variable",
    "keys from environment variables are not supported by crema's proxy; inline the keys",
  );
  let text: string | undefined;
  if (source === "inline_string") text = f.string("inline_string");
  if (source === "inline_bytes") {
    const bytes = decodeBase64Url(f.string("inline_bytes").replace(/\+/g, "-").replace(/\//g, "_"));
    if (bytes) text = Buffer.from(bytes).toString("utf8");
    else f.error("expected base64 bytes", "inline_bytes");
  }
  f.skip("watched_directory");
  f.finish();
  if (source === undefined) f.error("a key source (inline_string) is required");
  if (text === undefined) return undefined;
  const jwks = parseJwks(text);
  if (jwks.status !== "Ok") {
    // Envoy accepts the config and rejects every token of this provider at request time.
    warnings.push(
      `${f.path}: the key set is unusable (${jwtStatusMessage(jwks.status)}); every token for this provider will be rejected`,
    );
  }
  return { kind: "local", jwks };
}

function decodeRemoteJwks(f: Fields, options: JwtAuthnDecodeOptions): JwksSource | undefined {
  if (!options.remoteJwks) {
    f.error(`fetching keys from the proxy is not supported here (${ISTIOD_INLINES})`);
  }
  const uri = f.object("http_uri");
  let source: Extract<JwksSource, { kind: "remote" }> | undefined;
  if (uri) {
    const target = uri.string("uri", 1);
    const cluster = uri.string("cluster", 1);
    const timeoutMs = uri.duration("timeout");
    if (!uri.has("timeout")) uri.error("is required", "timeout");
    uri.finish();
    source = {
      kind: "remote",
      uri: target,
      cluster,
      timeoutMs: timeoutMs ?? 0,
      cacheDurationMs: DEFAULT_CACHE_DURATION_MS,
    };
  } else {
    f.error("is required", "http_uri");
  }
  const cache = f.duration("cache_duration");
  // Envoy's validation: at least 1 ms.
  if (cache !== undefined && cache < 1) f.error("must be at least 1ms", "cache_duration");
  else if (source && cache !== undefined) source.cacheDurationMs = cache;
  // async_fetch only changes when the first fetch happens (here: on the first request).
  const asyncFetch = f.object("async_fetch");
  asyncFetch?.skip("fast_listener", "failed_refetch_duration");
  asyncFetch?.finish();
  f.unsupported("retry_policy", "retrying key fetches is not supported by crema's proxy");
  f.finish();
  return options.remoteJwks ? source : undefined;
}

function decodeProvider(
  name: string,
  f: Fields,
  options: JwtAuthnDecodeOptions,
  warnings: string[],
): JwtProviderConfig | undefined {
  const unsupported = (field: string, what: string) =>
    f.unsupported(field, `${what} is not supported by crema's proxy (istiod never sets it)`);
  unsupported("subjects", "subject matching");
  unsupported("max_lifetime", "a maximum token lifetime");
  if (f.bool("require_expiration"))
    f.error(
      "requiring exp is not supported by crema's proxy (istiod never sets it)",
      "require_expiration",
    );
  const which = f.oneof(["remote_jwks", "local_jwks"]);
  let jwks: JwksSource | undefined;
  if (which === "local_jwks") {
    const local = f.object("local_jwks");
    if (local) jwks = decodeLocalJwks(local, warnings);
  } else if (which === "remote_jwks") {
    const remote = f.object("remote_jwks");
    if (remote) jwks = decodeRemoteJwks(remote, options);
  } else {
    f.error("one of local_jwks or remote_jwks is required");
  }
  const fromHeaders = f.objects("from_headers").map((h) => {
    const header = {
      name: h.string("name", 1).toLowerCase(),
      valuePrefix: h.string("value_prefix"),
    };
    h.finish();
    return header;
  });
  const claimToHeaders = f.objects("claim_to_headers").map((c) => {
    const entry = {
      headerName: c.string("header_name", 1).toLowerCase(),
      claimName: c.string("claim_name", 1),
    };
    c.finish();
    return entry;
  });
  const normalize = f.object("normalize_payload_in_metadata");
  const spaceDelimitedClaims = normalize?.strings("space_delimited_claims") ?? [];
  normalize?.finish();
  // A verified-token cache changes no verdict.
  f.skip("jwt_cache_config");
  const provider: JwtProviderConfig = {
    name,
    issuer: f.string("issuer"),
    audiences: f.strings("audiences"),
    jwks: jwks ?? { kind: "local", jwks: { status: "JwksNoValidKeys", keys: [] } },
    forward: f.bool("forward"),
    fromHeaders,
    fromParams: f.strings("from_params"),
    fromCookies: f.strings("from_cookies"),
    forwardPayloadHeader: f.string("forward_payload_header").toLowerCase(),
    padForwardPayloadHeader: f.bool("pad_forward_payload_header"),
    payloadInMetadata: f.string("payload_in_metadata"),
    spaceDelimitedClaims,
    headerInMetadata: f.string("header_in_metadata"),
    failedStatusInMetadata: f.string("failed_status_in_metadata"),
    clockSkewSeconds: f.uint("clock_skew_seconds"),
    claimToHeaders,
    clearRouteCache: f.bool("clear_route_cache"),
  };
  f.finish();
  return provider;
}

const REQUIREMENT_TYPES = [
  "provider_name",
  "provider_and_audiences",
  "requires_any",
  "requires_all",
  "allow_missing_or_failed",
  "allow_missing",
] as const;

function decodeList(f: Fields, providers: ReadonlySet<string>): JwtRequirement[] {
  const list = f.objects("requirements");
  if (list.length < 2) f.error("needs at least 2 requirements", "requirements");
  const out = list.map((r) => decodeRequirement(r, providers));
  f.finish();
  return out;
}

function checkProvider(f: Fields, field: string, name: string, providers: ReadonlySet<string>) {
  if (!providers.has(name)) f.error(`Required provider ['${name}'] is not configured.`, field);
}

function decodeEmpty(f: Fields, field: string): void {
  f.object(field)?.finish();
}

function decodeRequirement(f: Fields, providers: ReadonlySet<string>): JwtRequirement {
  const which = f.oneof(REQUIREMENT_TYPES);
  let out: JwtRequirement = { type: "allow_all" };
  switch (which) {
    case "provider_name": {
      const provider = f.string("provider_name");
      checkProvider(f, "provider_name", provider, providers);
      out = { type: "provider", provider };
      break;
    }
    case "provider_and_audiences": {
      const pa = f.object("provider_and_audiences");
      if (pa) {
        const provider = pa.string("provider_name");
        checkProvider(pa, "provider_name", provider, providers);
        out = { type: "provider", provider, audiences: pa.strings("audiences") };
        pa.finish();
      }
      break;
    }
    case "requires_any":
    case "requires_all": {
      const list = f.object(which);
      const requirements = list ? decodeList(list, providers) : [];
      out = { type: which === "requires_any" ? "any" : "all", requirements };
      break;
    }
    case "allow_missing_or_failed":
    case "allow_missing":
      decodeEmpty(f, which);
      out = { type: which };
      break;
    case undefined:
      break;
  }
  for (const t of REQUIREMENT_TYPES) f.skip(t);
  f.finish();
  return out;
}

const UNSUPPORTED_MATCH = [
  "safe_regex",
  "connect_matcher",
  "path_match_policy",
  "headers",
  "query_parameters",
  "grpc",
  "runtime_fraction",
  "tls_context",
  "dynamic_metadata",
  "filter_state",
];

function decodeMatch(f: Fields): JwtRouteMatch {
  const kind = f.oneof(["prefix", "path", "path_separated_prefix"] as const);
  for (const field of UNSUPPORTED_MATCH) {
    f.unsupported(field, "jwt_authn rules may only match prefix, path or path_separated_prefix");
  }
  if (!kind && !UNSUPPORTED_MATCH.some((field) => f.has(field)))
    f.error("a path specifier (prefix, path or path_separated_prefix) is required");
  const match: JwtRouteMatch = {
    kind: kind ?? "prefix",
    value: kind ? f.string(kind) : "",
    caseSensitive: f.optBool("case_sensitive") ?? true,
  };
  f.finish();
  return match;
}

function decodeRule(
  f: Fields,
  providers: ReadonlySet<string>,
  requirementMap: ReadonlyMap<string, JwtRequirement>,
): JwtRequirementRule {
  const matchFields = f.object("match");
  if (!matchFields) f.error("is required", "match");
  const match = matchFields
    ? decodeMatch(matchFields)
    : { kind: "prefix" as const, value: "", caseSensitive: true };
  const which = f.oneof(["requires", "requirement_name"] as const);
  let requirement: JwtRequirement = { type: "allow_all" };
  if (which === "requires") {
    const requires = f.object("requires");
    if (requires) requirement = decodeRequirement(requires, providers);
  } else if (which === "requirement_name") {
    const name = f.string("requirement_name", 1);
    const found = requirementMap.get(name);
    if (found) requirement = found;
    else
      f.error(
        `Wrong requirement_name: ${name}. It should be one of [${[...requirementMap.keys()].join(",")}]`,
        "requirement_name",
      );
  }
  f.finish();
  return { match, requirement };
}

/** Decodes JwtAuthentication; errors name their field paths (from `path`). */
export function decodeJwtAuthn(
  json: unknown,
  options: JwtAuthnDecodeOptions = {},
  path = "",
): JwtAuthnDecode {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  const warnings: string[] = [];
  const f = Fields.of(ctx, json, path);
  if (!f) return { ok: false, errors: ctx.errors };
  f.skip("@type");
  const providers = new Map<string, JwtProviderConfig>();
  for (const [name, value, at] of f.entries("providers")) {
    const pf = Fields.of(ctx, value, at);
    const provider = pf && decodeProvider(name, pf, options, warnings);
    if (provider) providers.set(name, provider);
  }
  const names = new Set(providers.keys());
  const requirementMap = new Map<string, JwtRequirement>();
  for (const [name, value, at] of f.entries("requirement_map")) {
    const rf = Fields.of(ctx, value, at);
    if (rf) requirementMap.set(name, decodeRequirement(rf, names));
  }
  const rules = f.objects("rules").map((r) => decodeRule(r, names, requirementMap));
  f.unsupported(
    "filter_state_rules",
    "requirements chosen by filter state are not supported by crema's proxy",
  );
  const config: JwtAuthnConfig = {
    providers,
    rules,
    bypassCorsPreflight: f.bool("bypass_cors_preflight"),
    stripFailureResponse: f.bool("strip_failure_response"),
  };
  f.finish();
  ctx.regexes.release();
  return ctx.errors.length ? { ok: false, errors: ctx.errors } : { ok: true, config, warnings };
}
