// The RBAC filters istiod's authz builder emits for one action: the policies of every rule of
// every AuthorizationPolicy, named `ns[<ns>]-policy[<name>]-rule[<i>]`, in `rules` (or
// `shadow_rules` for istio.io/dry-run policies), wrapped as the HTTP filter
// `envoy.filters.http.rbac` or the network filter `envoy.filters.network.rbac` (stat_prefix `tcp.`).
// CUSTOM policies become a shadow-only RBAC filter that marks matching requests for ext_authz, or —
// when their extension provider cannot be resolved — a DENY filter for exactly what they cover.
import type { JsonObject } from "../../../xds/proto-json.ts";
import { RuleProblem } from "./matchers.ts";
import type { AuthzPolicy } from "./policies.ts";
import { buildRbacPolicy, matchNever, type RbacAction } from "./rbac-policy.ts";

export const HTTP_RBAC_FILTER = "envoy.filters.http.rbac";
export const NETWORK_RBAC_FILTER = "envoy.filters.network.rbac";
export const HTTP_RBAC_TYPE = "envoy.extensions.filters.http.rbac.v3.RBAC";
export const NETWORK_RBAC_TYPE = "envoy.extensions.filters.network.rbac.v3.RBAC";
export const TCP_STAT_PREFIX = "tcp.";
export const SHADOW_ALLOW_STAT_PREFIX = "istio_dry_run_allow_";
export const SHADOW_DENY_STAT_PREFIX = "istio_dry_run_deny_";
export const EXT_AUTHZ_SHADOW_STAT_PREFIX = "istio_ext_authz_";
/** Prefix of CUSTOM policy names; ext_authz runs when the shadow effective policy id has it. */
export const EXT_AUTHZ_MATCH_PREFIX = "istio-ext-authz";
export const BAD_CUSTOM_SUFFIX = "-deny-due-to-bad-CUSTOM-action";

/** Enforced and dry-run rules of one action; absent when no policy of that kind exists. */
export interface RbacRules {
  rules?: JsonObject;
  shadowRules?: JsonObject;
}

export interface RbacRulesOptions {
  forTcp: boolean;
  trustDomain: string;
  /** `istio-ext-authz-` for CUSTOM policies. */
  namePrefix?: string;
}

/** A rule's policy name, as ext_authz and access logs see it. */
export function policyName(namespace: string, name: string, rule: number, prefix = ""): string {
  return `${prefix}ns[${namespace}]-policy[${name}]-rule[${rule}]`;
}

function sortedPolicies(policies: Map<string, JsonObject>): JsonObject {
  return Object.fromEntries([...policies].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** istiod's Builder.build: the rules of `policies` for `action`; undefined when there are none. */
export function buildRbacRules(
  policies: readonly AuthzPolicy[],
  action: RbacAction,
  options: RbacRulesOptions,
): RbacRules | undefined {
  if (policies.length === 0) return undefined;
  const enforced = new Map<string, JsonObject>();
  const shadow = new Map<string, JsonObject>();
  let hasEnforced = false;
  let hasShadow = false;
  for (const policy of policies) {
    const target = policy.dryRun ? shadow : enforced;
    if (policy.dryRun) hasShadow = true;
    else hasEnforced = true;
    const name = (i: number) => policyName(policy.namespace, policy.name, i, options.namePrefix);
    policy.rules.forEach((rule, i) => {
      if (rule === null) return; // istiod: "skipped nil rule"
      const built = buildRbacPolicy(rule, {
        forTcp: options.forTcp,
        action,
        policyNamespace: policy.namespace,
        trustDomain: options.trustDomain,
      });
      if (!(built instanceof RuleProblem)) target.set(name(i), built);
    });
    // A policy without rules gets an explicit policy that never matches.
    if (policy.rules.length === 0) target.set(name(0), matchNever());
  }
  return {
    ...(hasEnforced ? { rules: { action, policies: sortedPolicies(enforced) } } : {}),
    ...(hasShadow ? { shadowRules: { action, policies: sortedPolicies(shadow) } } : {}),
  };
}

function shadowStatPrefix(shadowRules: JsonObject | undefined): string | undefined {
  if (!shadowRules) return undefined;
  if (shadowRules.action === "ALLOW") return SHADOW_ALLOW_STAT_PREFIX;
  if (shadowRules.action === "DENY") return SHADOW_DENY_STAT_PREFIX;
  return undefined;
}

function rbacConfig(
  built: RbacRules,
  shadowPrefix = shadowStatPrefix(built.shadowRules),
): JsonObject {
  return {
    ...(built.rules ? { rules: built.rules } : {}),
    ...(built.shadowRules ? { shadow_rules: built.shadowRules } : {}),
    ...(shadowPrefix ? { shadow_rules_stat_prefix: shadowPrefix } : {}),
  };
}

/** `envoy.filters.http.rbac` with the given rules. */
export function rbacHttpFilter(built: RbacRules, shadowPrefix?: string): JsonObject {
  return {
    name: HTTP_RBAC_FILTER,
    typed_config: {
      "@type": `type.googleapis.com/${HTTP_RBAC_TYPE}`,
      ...rbacConfig(built, shadowPrefix ?? shadowStatPrefix(built.shadowRules)),
    },
  };
}

/** `envoy.filters.network.rbac` with the given rules and istiod's stat prefix `tcp.`. */
export function rbacNetworkFilter(built: RbacRules, shadowPrefix?: string): JsonObject {
  return {
    name: NETWORK_RBAC_FILTER,
    typed_config: {
      "@type": `type.googleapis.com/${NETWORK_RBAC_TYPE}`,
      ...rbacConfig(built, shadowPrefix ?? shadowStatPrefix(built.shadowRules)),
      stat_prefix: TCP_STAT_PREFIX,
    },
  };
}

/** ext_authz filters of one extension provider (built by ext-authz.ts, not here). */
export interface ExtAuthzProvider {
  /** `envoy.filters.http.ext_authz`; an HTTP provider has only this one. */
  http?: JsonObject;
  /** `envoy.filters.network.ext_authz` (gRPC providers). */
  tcp?: JsonObject;
  /** A provider that should guard TCP but cannot there: TCP chains fail closed instead. */
  denyOnTcp?: boolean;
}

export type ExtAuthzProviders = ReadonlyMap<string, ExtAuthzProvider>;

/** The one provider every CUSTOM policy of the workload names, if it is known (istiod's getExtAuthz). */
function resolveProvider(
  policies: readonly AuthzPolicy[],
  providers: ExtAuthzProviders | undefined,
): ExtAuthzProvider | undefined {
  const names = new Set(policies.map((p) => p.provider ?? ""));
  if (names.size !== 1) return undefined;
  return providers?.get([...names][0]!);
}

/** istiod's getBadCustomDenyRules: DENY exactly what the CUSTOM rules would send to ext_authz. */
function badCustomDenyRules(rules: JsonObject | undefined): RbacRules {
  const policies = (rules?.policies ?? {}) as JsonObject;
  const renamed = Object.entries(policies).map(([name, p]) => [`${name}${BAD_CUSTOM_SUFFIX}`, p]);
  return { rules: { action: "DENY", policies: Object.fromEntries(renamed) } };
}

export interface CustomOptions {
  trustDomain: string;
  providers?: ExtAuthzProviders;
}

/**
 * CUSTOM policies on an HTTP chain: the shadow RBAC filter that marks requests for ext_authz plus
 * the provider's ext_authz filter, or a fail-closed DENY filter when the provider is unknown.
 */
export function buildCustomHttpFilters(
  policies: readonly AuthzPolicy[],
  options: CustomOptions,
): JsonObject[] {
  const built = buildRbacRules(policies, "DENY", {
    forTcp: false,
    trustDomain: options.trustDomain,
    namePrefix: `${EXT_AUTHZ_MATCH_PREFIX}-`,
  });
  if (!built) return [];
  const provider = resolveProvider(policies, options.providers);
  if (!provider?.http) return [rbacHttpFilter(badCustomDenyRules(built.rules))];
  return [
    rbacHttpFilter(
      { ...(built.rules ? { shadowRules: built.rules } : {}) },
      EXT_AUTHZ_SHADOW_STAT_PREFIX,
    ),
    provider.http,
  ];
}

/** CUSTOM policies on a TCP chain (an HTTP-only provider is skipped there, as istiod does). */
export function buildCustomNetworkFilters(
  policies: readonly AuthzPolicy[],
  options: CustomOptions,
): JsonObject[] {
  const built = buildRbacRules(policies, "DENY", {
    forTcp: true,
    trustDomain: options.trustDomain,
    namePrefix: `${EXT_AUTHZ_MATCH_PREFIX}-`,
  });
  if (!built) return [];
  const provider = resolveProvider(policies, options.providers);
  if (!provider || provider.denyOnTcp) return [rbacNetworkFilter(badCustomDenyRules(built.rules))];
  if (!provider.tcp) return [];
  return [
    rbacNetworkFilter(
      { ...(built.rules ? { shadowRules: built.rules } : {}) },
      EXT_AUTHZ_SHADOW_STAT_PREFIX,
    ),
    provider.tcp,
  ];
}
