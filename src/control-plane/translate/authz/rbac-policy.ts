// One AuthorizationPolicy rule → one Envoy RBAC Policy, as istiod's authz model builds it: `when`
// conditions are split into permission and principal parts, each `to` entry becomes one
// permission (its fields AND-ed, then the permission-side conditions) and each `from` entry one
// principal; several entries are alternatives (OR), as Envoy reads a Policy's lists.
//
// On a TCP filter chain HTTP-only attributes cannot be checked. istiod then skips the whole rule
// for ALLOW (it can never allow anything there) and drops just that attribute for DENY, AUDIT and
// CUSTOM (the rule matches more widely — fail closed).
import type { JsonObject } from "../../../xds/proto-json.ts";
import { type AttributeGenerator, RuleProblem } from "./matchers.ts";
import {
  CONNECTION_SNI,
  DESTINATION_IP,
  DESTINATION_PORT,
  ENVOY_FILTER_METADATA,
  HOSTS,
  METHODS,
  PATHS,
  permissionAnd,
  permissionAny,
  permissionNot,
  permissionOr,
} from "./permission.ts";
import type { AuthzRule } from "./policies.ts";
import {
  principalAnd,
  principalAny,
  principalNot,
  principalOr,
  REMOTE_IP,
  REQUEST_AUDIENCES,
  REQUEST_CLAIM,
  REQUEST_HEADER,
  REQUEST_INLINE_HEADER,
  REQUEST_PRESENTER,
  REQUEST_PRINCIPAL,
  SOURCE_IP,
  SOURCE_NAMESPACE,
  SOURCE_PRINCIPAL,
  sourceServiceAccount,
} from "./principal.ts";

/** Envoy RBAC actions: AUDIT policies are built as LOG, CUSTOM ones as DENY. */
export type RbacAction = "ALLOW" | "DENY" | "LOG";

interface Attribute {
  key: string;
  values: readonly string[];
  notValues: readonly string[];
  generator: AttributeGenerator;
}

type Side = "permission" | "principal";

/** Where a `when` key goes and how it is matched; undefined for an unknown key. */
function conditionGenerator(
  key: string,
  policyNamespace: string,
): [Side, AttributeGenerator] | undefined {
  switch (key) {
    case "destination.ip":
      return ["permission", DESTINATION_IP];
    case "destination.port":
      return ["permission", DESTINATION_PORT];
    case "connection.sni":
      return ["permission", CONNECTION_SNI];
    case "source.ip":
      return ["principal", SOURCE_IP];
    case "remote.ip":
      return ["principal", REMOTE_IP];
    case "source.namespace":
      return ["principal", SOURCE_NAMESPACE];
    case "source.serviceAccount":
      return ["principal", sourceServiceAccount(policyNamespace)];
    case "source.principal":
      return ["principal", SOURCE_PRINCIPAL];
    case "request.auth.principal":
      return ["principal", REQUEST_PRINCIPAL];
    case "request.auth.audiences":
      return ["principal", REQUEST_AUDIENCES];
    case "request.auth.presenter":
      return ["principal", REQUEST_PRESENTER];
  }
  if (key.startsWith("experimental.envoy.filters.")) return ["permission", ENVOY_FILTER_METADATA];
  if (key.startsWith("request.headers")) return ["principal", REQUEST_HEADER];
  if (key.startsWith("request.experimental.inline.headers")) {
    return ["principal", REQUEST_INLINE_HEADER];
  }
  if (key.startsWith("request.auth.claims")) return ["principal", REQUEST_CLAIM];
  return undefined;
}

/** The rule as lists of attributes: one list per permission and per principal alternative. */
export interface RuleModel {
  permissions: Attribute[][];
  principals: Attribute[][];
}

const attribute = (
  key: string,
  values: readonly string[],
  notValues: readonly string[],
  generator: AttributeGenerator,
): Attribute[] =>
  values.length || notValues.length ? [{ key, values, notValues, generator }] : [];

/**
 * Istio's authz model.New. Field order is istiod's: operations hosts, methods, paths, ports;
 * sources principals, requestPrincipals, serviceAccounts, namespaces, remoteIpBlocks, ipBlocks —
 * then the conditions in the order written. A RuleProblem for an unknown condition key.
 */
export function ruleModel(rule: AuthzRule, policyNamespace: string): RuleModel | RuleProblem {
  const basePermission: Attribute[] = [];
  const basePrincipal: Attribute[] = [];
  for (const when of rule.when) {
    const found = conditionGenerator(when.key, policyNamespace);
    if (!found) return new RuleProblem(`unknown attribute ${when.key}`);
    const [side, generator] = found;
    const target = side === "permission" ? basePermission : basePrincipal;
    target.push(...attribute(when.key, when.values, when.notValues, generator));
  }
  const principals = rule.from.map((s) => [
    ...(s
      ? [
          ...attribute("source.principal", s.principals, s.notPrincipals, SOURCE_PRINCIPAL),
          ...attribute(
            "request.auth.principal",
            s.requestPrincipals,
            s.notRequestPrincipals,
            REQUEST_PRINCIPAL,
          ),
          ...attribute(
            "source.serviceAccount",
            s.serviceAccounts,
            s.notServiceAccounts,
            sourceServiceAccount(policyNamespace),
          ),
          ...attribute("source.namespace", s.namespaces, s.notNamespaces, SOURCE_NAMESPACE),
          ...attribute("remote.ip", s.remoteIpBlocks, s.notRemoteIpBlocks, REMOTE_IP),
          ...attribute("source.ip", s.ipBlocks, s.notIpBlocks, SOURCE_IP),
        ]
      : []),
    ...basePrincipal,
  ]);
  const permissions = rule.to.map((o) => [
    ...(o
      ? [
          ...attribute(":authority", o.hosts, o.notHosts, HOSTS),
          ...attribute(":method", o.methods, o.notMethods, METHODS),
          ...attribute("path-matcher", o.paths, o.notPaths, PATHS),
          ...attribute("destination.port", o.ports, o.notPorts, DESTINATION_PORT),
        ]
      : []),
    ...basePermission,
  ]);
  return {
    permissions: permissions.length ? permissions : [basePermission],
    principals: principals.length ? principals : [basePrincipal],
  };
}

/** Istio's trust domain migration: a `cluster.local/…` principal means the mesh's trust domain. */
export function migrateTrustDomain(principal: string, trustDomain: string): string {
  if (principal.startsWith("*")) return principal;
  const at = principal.indexOf("/ns/");
  if (at < 0) return principal;
  const domain = principal.slice(0, at);
  return domain === "cluster.local" || domain === trustDomain
    ? trustDomain + principal.slice(at)
    : principal;
}

interface Combinators {
  any(): JsonObject;
  and(items: readonly JsonObject[]): JsonObject;
  or(items: readonly JsonObject[]): JsonObject;
  not(item: JsonObject): JsonObject;
}

const PERMISSION: Combinators = {
  any: permissionAny,
  and: permissionAnd,
  or: permissionOr,
  not: permissionNot,
};
const PRINCIPAL: Combinators = {
  any: principalAny,
  and: principalAnd,
  or: principalOr,
  not: principalNot,
};

interface GenerateOptions {
  forTcp: boolean;
  action: RbacAction;
}

/**
 * Matchers of one attribute: values OR-ed, notValues as not(…). A failing value fails the rule for
 * ALLOW (a narrower allow) and is dropped otherwise (a wider deny or audit), as istiod's checkError.
 */
function attributeMatchers(
  attr: Attribute,
  c: Combinators,
  options: GenerateOptions,
): JsonObject[] | RuleProblem {
  const out: JsonObject[] = [];
  for (const [values, negate] of [
    [attr.values, false],
    [attr.notValues, true],
  ] as const) {
    if (values.length === 0) continue;
    const g = attr.generator;
    const built =
      g.kind === "all"
        ? [g.build(attr.key, values, options.forTcp)]
        : values.map((v) => g.build(attr.key, v, options.forTcp));
    const ok: JsonObject[] = [];
    for (const b of built) {
      if (!(b instanceof RuleProblem)) ok.push(b);
      else if (options.action === "ALLOW") return b;
    }
    if (ok.length === 0) continue;
    const combined = g.kind === "all" ? ok[0]! : c.or(ok);
    out.push(negate ? c.not(combined) : combined);
  }
  return out;
}

function generateList(
  attrs: readonly Attribute[],
  c: Combinators,
  options: GenerateOptions,
): JsonObject | RuleProblem {
  const and: JsonObject[] = [];
  for (const attr of attrs) {
    const matchers = attributeMatchers(attr, c, options);
    if (matchers instanceof RuleProblem) return matchers;
    and.push(...matchers);
  }
  return c.and(and.length ? and : [c.any()]);
}

export interface BuildRuleOptions extends GenerateOptions {
  policyNamespace: string;
  trustDomain: string;
}

/** The RBAC Policy of one rule, or a RuleProblem saying why istiod would skip it. */
export function buildRbacPolicy(
  rule: AuthzRule,
  options: BuildRuleOptions,
): JsonObject | RuleProblem {
  const model = ruleModel(rule, options.policyNamespace);
  if (model instanceof RuleProblem) return model;
  const migrate = (values: readonly string[]) =>
    values.map((v) => migrateTrustDomain(v, options.trustDomain));
  const principalsModel = model.principals.map((list) =>
    list.map((a) =>
      a.key === "source.principal"
        ? { ...a, values: migrate(a.values), notValues: migrate(a.notValues) }
        : a,
    ),
  );
  const permissions: JsonObject[] = [];
  for (const list of model.permissions) {
    const p = generateList(list, PERMISSION, options);
    if (p instanceof RuleProblem) return p;
    permissions.push(p);
  }
  const principals: JsonObject[] = [];
  for (const list of principalsModel) {
    const p = generateList(list, PRINCIPAL, options);
    if (p instanceof RuleProblem) return p;
    principals.push(p);
  }
  return { permissions, principals };
}

/** istiod's policy for a rule-less policy: matches nothing (so an ALLOW one allows nothing). */
export function matchNever(): JsonObject {
  return { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };
}
