// The policies a route carries for the router filter — retry, hedge, mirror (shadow), hash,
// upgrade, internal redirect — decoded with Envoy's defaults and checks. Behaviour lives in the
// router; this only turns JSON into typed values (durations in ms).
import type { Fields } from "./decode-reader.ts";
import { decodeHeaderMatchers, isValidHeaderName } from "./header-matcher.ts";
import { compileSubstitution } from "./re2.ts";
import { decodeFractionalPercent, decodeRuntimeFraction } from "./route-match.ts";
import type {
  HashPolicy,
  HedgePolicy,
  InternalRedirectPolicy,
  MirrorPolicy,
  RegexRewrite,
  RetryPolicy,
  UpgradeConfig,
} from "./types.ts";

const RETRY_HOST_PREDICATES = new Set([
  "envoy.retry_host_predicates.previous_hosts",
  "envoy.retry_host_predicates.omit_canary_hosts",
  "envoy.retry_host_predicates.omit_host_metadata",
]);
const RETRY_PRIORITIES = new Set(["envoy.retry_priorities.previous_priorities"]);

/** type.matcher.v3.RegexMatchAndSubstitute → a compiled RE2 GlobalReplace. */
export function decodeRegexSubstitution(f: Fields): RegexRewrite | undefined {
  const patternFields = f.object("pattern");
  if (!patternFields) f.error("is required", "pattern");
  patternFields?.skip("google_re2");
  const pattern = patternFields?.string("regex", 1) ?? "";
  patternFields?.finish();
  const substitution = f.string("substitution");
  f.finish();
  if (!pattern) return undefined;
  const compiled = compileSubstitution(pattern, substitution, f.ctx.regexes);
  if (!compiled.ok) {
    const at = compiled.field === "pattern" ? "pattern.regex" : "substitution";
    const what =
      compiled.field === "pattern" ? `invalid RE2 regex ${JSON.stringify(pattern)}: ` : "";
    f.error(`${what}${compiled.reason}`, at);
    return undefined;
  }
  return { pattern, substitution, replace: compiled.replace };
}

function extensionName(f: Fields, known: ReadonlySet<string>, kind: string): string {
  const name = f.string("name", 1);
  f.skip("typed_config");
  if (name && !known.has(name)) f.error(`unsupported ${kind} ${JSON.stringify(name)}`, "name");
  f.finish();
  return name;
}

export function decodeRetryPolicy(f: Fields): RetryPolicy {
  const retryOn = f
    .string("retry_on")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const policy: RetryPolicy = {
    retryOn,
    numRetries: f.uint("num_retries", 1),
    retriableStatusCodes: [],
    retriableHeaders: decodeHeaderMatchers(f, "retriable_headers"),
    retriableRequestHeaders: decodeHeaderMatchers(f, "retriable_request_headers"),
    hostSelectionRetryMaxAttempts: f.has("host_selection_retry_max_attempts")
      ? f.int64("host_selection_retry_max_attempts")
      : 1,
    retryHostPredicates: f
      .objects("retry_host_predicate")
      .map((p) => extensionName(p, RETRY_HOST_PREDICATES, "retry host predicate")),
  };
  const perTry = f.duration("per_try_timeout");
  if (perTry !== undefined) policy.perTryTimeoutMs = perTry;
  const perTryIdle = f.duration("per_try_idle_timeout");
  if (perTryIdle !== undefined) policy.perTryIdleTimeoutMs = perTryIdle;
  const codes: number[] = [];
  for (const [code, path] of f.list("retriable_status_codes")) {
    if (typeof code === "number" && Number.isInteger(code) && code >= 0) codes.push(code);
    else f.ctx.errors.push(`${path}: expected a status code`);
  }
  policy.retriableStatusCodes = codes;
  const priority = f.object("retry_priority");
  if (priority) policy.retryPriority = extensionName(priority, RETRY_PRIORITIES, "retry priority");
  if (f.list("retry_options_predicates").length > 0) {
    f.error("retry options predicates are not supported", "retry_options_predicates");
  }
  const backOff = f.object("retry_back_off");
  if (backOff) {
    const base = backOff.duration("base_interval");
    if (base === undefined && !backOff.has("base_interval"))
      backOff.error("is required", "base_interval");
    const max = backOff.duration("max_interval");
    // Envoy's validation: both greater than 0.
    if (base === 0) backOff.error("must be greater than 0", "base_interval");
    if (max === 0) backOff.error("must be greater than 0", "max_interval");
    const baseMs = Math.max(1, base ?? 0);
    const maxMs = max === undefined ? 10 * baseMs : Math.max(1, max);
    if (maxMs < baseMs)
      backOff.error("must be greater than or equal to base_interval", "max_interval");
    backOff.finish();
    policy.retryBackOff = { baseIntervalMs: baseMs, maxIntervalMs: maxMs };
  }
  const rateLimited = f.object("rate_limited_retry_back_off");
  if (rateLimited) {
    const resetHeaders = rateLimited.objects("reset_headers").map((h) => {
      const header = {
        name: h.string("name", 1).toLowerCase(),
        format: h.enumValue("format", ["SECONDS", "UNIX_TIMESTAMP"] as const),
      };
      h.finish();
      return header;
    });
    if (resetHeaders.length === 0)
      rateLimited.error("at least one reset header is required", "reset_headers");
    const max = rateLimited.duration("max_interval") ?? 300_000;
    rateLimited.finish();
    policy.rateLimitedRetryBackOff = { resetHeaders, maxIntervalMs: Math.max(1, max) };
  }
  f.finish();
  return policy;
}

export function decodeHedgePolicy(f: Fields): HedgePolicy {
  const initialRequests = f.uint("initial_requests", 1);
  if (f.has("initial_requests") && initialRequests < 1)
    f.error("must be at least 1", "initial_requests");
  const chance = f.object("additional_request_chance");
  const policy: HedgePolicy = {
    initialRequests,
    hedgeOnPerTryTimeout: f.bool("hedge_on_per_try_timeout"),
  };
  if (chance) policy.additionalRequestChance = decodeFractionalPercent(chance);
  f.finish();
  return policy;
}

export function decodeMirrorPolicy(f: Fields): MirrorPolicy {
  f.skip("runtime_key");
  const cluster = f.string("cluster");
  const clusterHeader = f.string("cluster_header");
  if (cluster && clusterHeader) f.error("only one of cluster or cluster_header may be set");
  if (!cluster && !clusterHeader) f.error("one of cluster or cluster_header is required");
  const runtime = f.object("runtime_fraction");
  const policy: MirrorPolicy = {
    fraction: (runtime && decodeRuntimeFraction(runtime)) ?? { numerator: 100, denominator: 100 },
    disableShadowHostSuffixAppend: f.bool("disable_shadow_host_suffix_append"),
  };
  if (cluster) policy.cluster = cluster;
  if (clusterHeader) policy.clusterHeader = clusterHeader.toLowerCase();
  const traceSampled = f.optBool("trace_sampled");
  if (traceSampled !== undefined) policy.traceSampled = traceSampled;
  f.finish();
  return policy;
}

const HASH_KINDS = [
  "header",
  "cookie",
  "connection_properties",
  "query_parameter",
  "filter_state",
] as const;

export function decodeHashPolicy(f: Fields): HashPolicy | undefined {
  const terminal = f.bool("terminal");
  const kind = f.oneof(HASH_KINDS);
  const sub = kind ? f.object(kind) : undefined;
  let policy: HashPolicy | undefined;
  if (!kind) f.error(`one of ${HASH_KINDS.join(", ")} is required`);
  else if (sub && kind === "header") {
    const headerName = sub.string("header_name", 1).toLowerCase();
    const rewrite = sub.object("regex_rewrite");
    const regexRewrite = rewrite && decodeRegexSubstitution(rewrite);
    policy = regexRewrite
      ? { terminal, kind, headerName, regexRewrite }
      : { terminal, kind, headerName };
  } else if (sub && kind === "cookie") {
    const attributes = sub.objects("attributes").map((a) => {
      const attribute = { name: a.string("name", 1), value: a.string("value") };
      a.finish();
      return attribute;
    });
    const ttl = sub.duration("ttl");
    const path = sub.string("path");
    policy = { terminal, kind, name: sub.string("name", 1), attributes };
    if (ttl !== undefined) policy.ttlMs = ttl;
    if (path) policy.path = path;
  } else if (sub && kind === "connection_properties") {
    policy = { terminal, kind, sourceIp: sub.bool("source_ip") };
  } else if (sub && kind === "query_parameter") {
    policy = { terminal, kind, name: sub.string("name", 1) };
  } else if (sub && kind === "filter_state") {
    policy = { terminal, kind, key: sub.string("key", 1) };
  }
  sub?.finish();
  f.finish();
  return policy;
}

export function decodeUpgradeConfigs(f: Fields): UpgradeConfig[] {
  const out: UpgradeConfig[] = [];
  const seen = new Set<string>();
  for (const u of f.objects("upgrade_configs")) {
    const upgradeType = u.string("upgrade_type", 1).toLowerCase();
    if (seen.has(upgradeType)) u.error(`duplicate upgrade ${upgradeType}`, "upgrade_type");
    seen.add(upgradeType);
    const config: UpgradeConfig = { upgradeType, enabled: u.optBool("enabled") ?? true };
    const connect = u.object("connect_config");
    if (connect) {
      if (upgradeType !== "connect" && upgradeType !== "connect-udp") {
        u.error(`non-CONNECT upgrade type ${upgradeType} has connect_config`, "connect_config");
      }
      connect.unsupported("proxy_protocol_config", "PROXY protocol on CONNECT is not supported");
      config.connectConfig = { allowPost: connect.bool("allow_post") };
      connect.finish();
    }
    u.finish();
    out.push(config);
  }
  return out;
}

const REDIRECT_CODES = new Set([301, 302, 303, 307, 308]);

export function decodeInternalRedirectPolicy(f: Fields): InternalRedirectPolicy {
  const codes = f.list("redirect_response_codes").map(([c]) => c);
  if (codes.length > 5) f.error("at most 5 codes", "redirect_response_codes");
  if (f.list("predicates").length > 0)
    f.error("internal redirect predicates are not supported", "predicates");
  const copy = f.strings("response_headers_to_copy");
  for (const h of copy) {
    if (h.startsWith(":") || h.toLowerCase() === "host" || !isValidHeaderName(h)) {
      f.error(":-prefixed headers or host may not be copied", "response_headers_to_copy");
    }
  }
  const policy = {
    maxInternalRedirects: f.uint("max_internal_redirects", 1),
    redirectResponseCodes:
      codes.length === 0
        ? [302]
        : codes.filter((c): c is number => typeof c === "number" && REDIRECT_CODES.has(c)),
    allowCrossSchemeRedirect: f.bool("allow_cross_scheme_redirect"),
    responseHeadersToCopy: copy.map((h) => h.toLowerCase()),
  };
  f.finish();
  return policy;
}
