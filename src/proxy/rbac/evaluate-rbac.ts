// The RBAC decision, pure: Envoy's RoleBasedAccessControlEngineImpl (policies in name order, the
// first whose permissions and principals both match is the effective policy; ALLOW allows iff one
// matches, DENY denies iff one matches, LOG always allows and sets access_log_hint) and the HTTP /
// network filters around it (shadow rules first, per-route override, counters, dynamic metadata).
import { type ParsedIp, parseIp } from "../listener/cidr.ts";
import {
  RBAC_METADATA_KEYS as KEYS,
  RBAC_ACCESS_LOG_HINT,
  RBAC_COMMON_METADATA_NAMESPACE,
  RBAC_HTTP_FILTER_NAME,
  RBAC_NETWORK_FILTER_NAME,
  rbacDeniedDetails,
  statPrefixJoin,
} from "./rbac-outputs.ts";
import type {
  RbacDecision,
  RbacEngine,
  RbacEngineResult,
  RbacFilterConfig,
  RbacMatchContext,
  RbacMatcher,
  RbacPerRouteConfig,
  RbacRequest,
} from "./types.ts";

type AddressKind = "destination" | "directRemote" | "remote";

/** The request with its addresses parsed on first use (each at most once per evaluation). */
function matchContext(req: RbacRequest): RbacMatchContext {
  const parsed = new Map<AddressKind, ParsedIp | undefined>();
  return {
    req,
    ip(which) {
      if (!parsed.has(which)) {
        const text =
          which === "destination"
            ? req.destinationIp
            : which === "directRemote"
              ? req.directRemoteIp
              : (req.remoteIp ?? req.directRemoteIp);
        parsed.set(which, parseIp(text));
      }
      return parsed.get(which);
    },
  };
}

function someMatch(matchers: readonly RbacMatcher[], ctx: RbacMatchContext): boolean {
  for (let i = 0; i < matchers.length; i++) if (matchers[i]!(ctx)) return true;
  return false;
}

function runEngine(engine: RbacEngine, ctx: RbacMatchContext): RbacEngineResult {
  let matched: string | undefined;
  for (const policy of engine.policies) {
    if (someMatch(policy.permissions, ctx) && someMatch(policy.principals, ctx)) {
      matched = policy.name;
      break;
    }
  }
  const allowed =
    engine.action === "ALLOW"
      ? matched !== undefined
      : engine.action === "DENY"
        ? matched === undefined
        : true;
  return matched === undefined ? { allowed } : { allowed, matchedPolicy: matched };
}

/** One engine's verdict (no stats, no metadata): what a simulation needs. */
export function evaluateEngine(engine: RbacEngine, req: RbacRequest): RbacEngineResult {
  return runEngine(engine, matchContext(req));
}

/**
 * The filter's decision for one request (HTTP) or connection (network), with the counters and
 * dynamic metadata Envoy would record. `perRoute` is the route's most specific RBACPerRoute
 * (HTTP only): its engines replace the filter's, and its non-empty prefixes rename the metadata
 * keys; counters keep the filter's names.
 */
export function evaluateRbac(
  config: RbacFilterConfig,
  req: RbacRequest,
  perRoute?: RbacPerRouteConfig,
): RbacDecision {
  const ctx = matchContext(req);
  const http = config.kind === "http";
  const route = http ? perRoute : undefined;
  const rules = route ? route.rules : config.rules;
  const shadowRules = route ? route.shadowRules : config.shadowRules;
  const perRuleStats = route ? route.trackPerRuleStats : config.trackPerRuleStats;
  const rulesKey = route?.rulesStatPrefix || config.rulesStatPrefix;
  const shadowKey = route?.shadowRulesStatPrefix || config.shadowRulesStatPrefix;
  const stats = config.stats;
  const decision: RbacDecision = { allowed: true, counters: [], dynamicMetadata: {} };
  const fields: Record<string, string> = {};

  if (shadowRules) {
    const shadow = runEngine(shadowRules, ctx);
    decision.shadow = shadow;
    decision.counters.push(shadow.allowed ? stats.shadowAllowed : stats.shadowDenied);
    // Envoy cannot tell a policy named "" from none: it gets no stats or metadata of its own.
    if (shadow.matchedPolicy) {
      if (perRuleStats) {
        const suffix = shadow.allowed ? "shadow_allowed" : "shadow_denied";
        decision.counters.push(
          statPrefixJoin(stats.shadowPolicyPrefix, `${shadow.matchedPolicy}.${suffix}`),
        );
      }
      fields[shadowKey + KEYS.shadowEffectivePolicyId] = shadow.matchedPolicy;
    }
    fields[shadowKey + KEYS.shadowEngineResult] = shadow.allowed ? KEYS.allowed : KEYS.denied;
  }

  if (rules) {
    const enforced = runEngine(rules, ctx);
    const policy = enforced.matchedPolicy || undefined;
    decision.enforced = enforced;
    decision.allowed = enforced.allowed;
    if (policy !== undefined) decision.matchedPolicy = policy;
    decision.counters.push(enforced.allowed ? stats.allowed : stats.denied);
    if (policy !== undefined && perRuleStats) {
      const suffix = enforced.allowed ? "allowed" : "denied";
      decision.counters.push(statPrefixJoin(stats.policyPrefix, `${policy}.${suffix}`));
    }
    if (http) {
      if (policy !== undefined) fields[rulesKey + KEYS.enforcedEffectivePolicyId] = policy;
      fields[rulesKey + KEYS.enforcedEngineResult] = enforced.allowed ? KEYS.allowed : KEYS.denied;
    }
    if (rules.action === "LOG") {
      const logged = enforced.matchedPolicy !== undefined;
      decision.accessLogHint = logged;
      decision.dynamicMetadata[RBAC_COMMON_METADATA_NAMESPACE] = { [RBAC_ACCESS_LOG_HINT]: logged };
    }
    if (!enforced.allowed) decision.details = rbacDeniedDetails(policy);
  }

  if (Object.keys(fields).length > 0) {
    decision.dynamicMetadata[http ? RBAC_HTTP_FILTER_NAME : RBAC_NETWORK_FILTER_NAME] = fields;
  }
  return decision;
}
