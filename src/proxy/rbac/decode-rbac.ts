// RBAC filter configs (proto3 JSON) → RbacFilterConfig / RbacPerRouteConfig, once per update:
// envoy.extensions.filters.http.rbac.v3.RBAC and RBACPerRoute, and
// envoy.extensions.filters.network.rbac.v3.RBAC. Every problem is collected with its field path;
// what crema cannot honour (the unified matcher API, CEL conditions, extensions) is an error, so
// the proxy NACKs and keeps its last good config.
import { type DecodeContext, Fields } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { decodePermission, decodeRuleList } from "./decode-permission.ts";
import { decodePrincipal } from "./decode-principal.ts";
import type { RuleEnv } from "./leaf-matchers.ts";
import { rbacStatNames } from "./rbac-outputs.ts";
import type {
  RbacAction,
  RbacEngine,
  RbacFilterConfig,
  RbacPerRouteConfig,
  RbacPolicy,
} from "./types.ts";

export const RBAC_HTTP_TYPE = "envoy.extensions.filters.http.rbac.v3.RBAC";
export const RBAC_PER_ROUTE_TYPE = "envoy.extensions.filters.http.rbac.v3.RBACPerRoute";
export const RBAC_NETWORK_TYPE = "envoy.extensions.filters.network.rbac.v3.RBAC";

const ACTIONS: readonly RbacAction[] = ["ALLOW", "DENY", "LOG"];
const AUDIT_CONDITIONS = ["NONE", "ON_DENY", "ON_ALLOW", "ON_DENY_AND_ALLOW"] as const;
const ENFORCEMENT_TYPES = ["ONE_TIME_ON_FIRST_BYTE", "CONTINUOUS"] as const;
const MATCHER_UNSUPPORTED =
  "the RBAC matcher API (xds.type.matcher.v3.Matcher) is not supported by crema's proxy; use rules";

export interface RbacDecodeOptions {
  /**
   * HTTP filter: the owning HCM's stat prefix as Envoy hands it to filters (`http.<stat_prefix>.`).
   * The network filter takes its own `stat_prefix`.
   */
  statPrefix?: string;
}

export type RbacDecodeResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** UTF-8 byte order, as the std::map Envoy keeps policies in. */
function byteOrder(a: RbacPolicy, b: RbacPolicy): number {
  return Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
}

function decodeAuditOptions(f: Fields): void {
  f.enumValue("audit_condition", AUDIT_CONDITIONS);
  for (const logger of f.objects("logger_configs")) {
    logger.skip("audit_logger");
    if (!logger.bool("is_optional")) {
      logger.error("RBAC audit loggers are not supported by crema's proxy; mark it is_optional");
    }
    logger.finish();
  }
  f.finish();
}

function decodePolicy(name: string, f: Fields, env: RuleEnv): RbacPolicy | undefined {
  for (const field of ["condition", "checked_condition", "cel_config"]) {
    f.unsupported(field, "CEL conditions are not supported by crema's proxy");
  }
  const permissions = decodeRuleList(f, "permissions", decodePermission, env);
  const principals = decodeRuleList(f, "principals", decodePrincipal, env);
  f.finish();
  return permissions && principals ? { name, permissions, principals } : undefined;
}

/** config.rbac.v3.RBAC: the action and the policies, sorted as Envoy evaluates them. */
export function decodeRbacRules(f: Fields, env: RuleEnv): RbacEngine {
  const action = f.enumValue("action", ACTIONS);
  const audit = f.object("audit_logging_options");
  if (audit) decodeAuditOptions(audit);
  const policies: RbacPolicy[] = [];
  for (const [name, value, path] of f.entries("policies")) {
    const policyFields = Fields.of(f.ctx, value, path);
    const policy = policyFields && decodePolicy(name, policyFields, env);
    if (policy) policies.push(policy);
  }
  f.finish();
  return { action, policies: policies.sort(byteOrder) };
}

/** A filter's `@type`, when the JSON is the whole Any: it must name `expected`. */
function checkType(f: Fields, expected: string): void {
  const url = f.optString("@type");
  if (url !== undefined && url.slice(url.lastIndexOf("/") + 1) !== expected) {
    f.error(`expected ${expected}`, "@type");
  }
}

interface Engines {
  rules?: RbacEngine;
  shadowRules?: RbacEngine;
  rulesStatPrefix: string;
  shadowRulesStatPrefix: string;
}

function decodeEngines(f: Fields, env: RuleEnv): Engines {
  f.unsupported("matcher", MATCHER_UNSUPPORTED);
  f.unsupported("shadow_matcher", MATCHER_UNSUPPORTED);
  const rules = f.object("rules");
  const shadow = f.object("shadow_rules");
  return {
    rules: rules && decodeRbacRules(rules, env),
    shadowRules: shadow && decodeRbacRules(shadow, env),
    rulesStatPrefix: env.network ? "" : f.string("rules_stat_prefix"),
    shadowRulesStatPrefix: f.string("shadow_rules_stat_prefix"),
  };
}

function run<T extends { regexes: Re2Lease }>(
  json: unknown,
  path: string,
  decode: (f: Fields) => Omit<T, "regexes">,
): RbacDecodeResult<T> {
  const ctx: DecodeContext = { errors: [], regexes: new Re2Lease() };
  const f = Fields.of(ctx, json, path);
  const value = f && decode(f);
  if (!value || ctx.errors.length > 0) {
    ctx.regexes.release();
    return { ok: false, errors: ctx.errors };
  }
  return { ok: true, value: { ...value, regexes: ctx.regexes } as T };
}

function decodeHttpFields(f: Fields, statPrefix: string): Omit<RbacFilterConfig, "regexes"> {
  checkType(f, RBAC_HTTP_TYPE);
  const engines = decodeEngines(f, { network: false });
  const trackPerRuleStats = f.bool("track_per_rule_stats");
  f.finish();
  return {
    kind: "http",
    ...engines,
    trackPerRuleStats,
    stats: rbacStatNames(statPrefix, engines.rulesStatPrefix, engines.shadowRulesStatPrefix),
    enforcementType: "ONE_TIME_ON_FIRST_BYTE",
    delayDenyMs: 0,
  };
}

/** envoy.extensions.filters.http.rbac.v3.RBAC (the typed_config, `@type` optional). */
export function decodeHttpRbac(
  json: unknown,
  options: RbacDecodeOptions = {},
): RbacDecodeResult<RbacFilterConfig> {
  return run(json, "", (f) => decodeHttpFields(f, options.statPrefix ?? ""));
}

/** envoy.extensions.filters.http.rbac.v3.RBACPerRoute: no `rbac` disables the filter there. */
export function decodeRbacPerRoute(json: unknown): RbacDecodeResult<RbacPerRouteConfig> {
  return run(json, "", (f) => {
    checkType(f, RBAC_PER_ROUTE_TYPE);
    const rbac = f.object("rbac");
    f.finish();
    if (!rbac) return { rulesStatPrefix: "", shadowRulesStatPrefix: "", trackPerRuleStats: false };
    const { rules, shadowRules, rulesStatPrefix, shadowRulesStatPrefix, trackPerRuleStats } =
      decodeHttpFields(rbac, "");
    return { rules, shadowRules, rulesStatPrefix, shadowRulesStatPrefix, trackPerRuleStats };
  });
}

/** envoy.extensions.filters.network.rbac.v3.RBAC (header rules are rejected, as in Envoy). */
export function decodeNetworkRbac(json: unknown): RbacDecodeResult<RbacFilterConfig> {
  return run(json, "", (f) => {
    checkType(f, RBAC_NETWORK_TYPE);
    const engines = decodeEngines(f, { network: true });
    const statPrefix = f.string("stat_prefix", 1);
    const enforcementType = f.enumValue("enforcement_type", ENFORCEMENT_TYPES);
    const delayDenyMs = f.duration("delay_deny") ?? 0;
    f.finish();
    return {
      kind: "network",
      ...engines,
      trackPerRuleStats: false,
      stats: rbacStatNames(statPrefix, "", engines.shadowRulesStatPrefix),
      enforcementType,
      delayDenyMs,
    };
  });
}

/** Frees the RE2 regexes a replaced config holds. Idempotent. */
export function releaseRbacConfig(config: { regexes: Re2Lease }): void {
  config.regexes.release();
}
