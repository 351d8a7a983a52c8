// What the RBAC filters emit besides their decision, named exactly as Envoy names it: counters
// (`<prefix>rbac.allowed` …), dynamic metadata keys, the 403 local reply and the denial details.
// The caller records them; this module only names them.
import { LOCAL_REPLY_BODY } from "../http/local-reply.ts";
import type { RbacStatNames } from "./types.ts";

export const RBAC_HTTP_FILTER_NAME = "envoy.filters.http.rbac";
export const RBAC_NETWORK_FILTER_NAME = "envoy.filters.network.rbac";
/** The shared namespace of `access_log_hint` (LOG action). */
export const RBAC_COMMON_METADATA_NAMESPACE = "envoy.common";
export const RBAC_ACCESS_LOG_HINT = "access_log_hint";

export const RBAC_METADATA_KEYS = {
  shadowEffectivePolicyId: "shadow_effective_policy_id",
  shadowEngineResult: "shadow_engine_result",
  enforcedEffectivePolicyId: "enforced_effective_policy_id",
  enforcedEngineResult: "enforced_engine_result",
  allowed: "allowed",
  denied: "denied",
} as const;

/** The HTTP filter's denial: 403 with Envoy's body. */
export const RBAC_DENIED_STATUS = 403;
export const RBAC_DENIED_BODY = LOCAL_REPLY_BODY.rbacDenied;
/** The network filter's close reason (Envoy's local close details). */
export const RBAC_DENY_CLOSE_REASON = "rbac_deny_close";

/**
 * `rbac_access_denied_matched_policy[<policy>]` (`[none]` when no policy matched), whitespace in
 * the policy name replaced by "_" as Envoy does to keep access logs splittable.
 */
export function rbacDeniedDetails(policy: string | undefined): string {
  const name =
    policy === undefined || policy === "" ? "none" : policy.replace(/[ \t\f\v\n\r]/g, "_");
  return `rbac_access_denied_matched_policy[${name}]`;
}

/** Envoy's statPrefixJoin: joins with "." unless the prefix is empty or already ends with one. */
export function statPrefixJoin(prefix: string, token: string): string {
  if (prefix === "") return token;
  return prefix.endsWith(".") ? prefix + token : `${prefix}.${token}`;
}

/** The counter names of one filter, as Envoy's RBAC generateStats builds them. */
export function rbacStatNames(
  statPrefix: string,
  rulesStatPrefix: string,
  shadowRulesStatPrefix: string,
): RbacStatNames {
  const base = statPrefixJoin(statPrefix, "rbac.");
  const rules = statPrefixJoin(base, rulesStatPrefix);
  const shadow = statPrefixJoin(base, shadowRulesStatPrefix);
  return {
    allowed: statPrefixJoin(rules, "allowed"),
    denied: statPrefixJoin(rules, "denied"),
    shadowAllowed: statPrefixJoin(shadow, "shadow_allowed"),
    shadowDenied: statPrefixJoin(shadow, "shadow_denied"),
    policyPrefix: statPrefixJoin(rules, "policy."),
    shadowPolicyPrefix: statPrefixJoin(shadow, "policy."),
  };
}
