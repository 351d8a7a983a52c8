// Semantic validation of AuthorizationPolicy (Istio webhook + CRD rules): action, provider, rules.
import type { FieldPath } from "../diagnostic.ts";
import {
  checkCondition,
  checkOperation,
  checkSource,
  nonEmpty,
  OPERATION_FIELDS,
  SOURCE_FIELDS,
} from "./authorization-policy-fields.ts";
import { checkDryRunAnnotation, checkPolicyScope } from "./authorization-policy-scope.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { isObj, items, type Obj, present } from "./rules.ts";

/** Source fields and condition keys the CUSTOM action cannot evaluate (ext_authz runs first). */
const CUSTOM_UNSUPPORTED_SOURCE = [
  "namespaces",
  "notNamespaces",
  "serviceAccounts",
  "notServiceAccounts",
  "principals",
  "notPrincipals",
  "requestPrincipals",
  "notRequestPrincipals",
] as const;

function customUnsupportedKey(key: string): boolean {
  return (
    key === "source.namespace" ||
    key === "source.serviceAccount" ||
    key === "source.principal" ||
    key.startsWith("request.auth.")
  );
}

/** Source fields that also apply to plain TCP traffic. */
const TCP_SOURCE_FIELDS = SOURCE_FIELDS.filter(
  (f) => f !== "requestPrincipals" && f !== "notRequestPrincipals",
);

export const validateAuthorizationPolicy: KindValidator = (spec, ctx) => {
  const action = typeof spec.action === "string" ? spec.action : "ALLOW";
  checkDryRunAnnotation(ctx, action);
  checkPolicyScope(ctx, spec);
  checkActionAndProvider(ctx, spec, action);
  for (const [rule, i] of items(spec.rules)) {
    const path = ["spec", "rules", i];
    if (rule === null || rule === undefined) {
      ctx.error(
        path,
        "CREMA_VALIDATION_REQUIRED",
        "rule is empty (null); write {} to match every request, or remove it",
      );
      continue;
    }
    if (isObj(rule)) checkRule(ctx, path, rule, action);
  }
};

function checkActionAndProvider(ctx: ValidationContext, spec: Obj, action: string): void {
  const hasRules = nonEmpty(spec.rules);
  if ((action === "CUSTOM" || action === "DENY") && !hasRules) {
    ctx.error(
      ["spec", "action"],
      "CREMA_VALIDATION_POLICY",
      `a ${action} policy without rules never triggers; add rules, or an empty rule (rules: [{}]) to apply it to every request`,
    );
  }
  if (action === "CUSTOM") {
    const provider = spec.provider;
    if (!isObj(provider) || typeof provider.name !== "string" || provider.name === "") {
      ctx.error(
        ["spec", "provider", "name"],
        "CREMA_VALIDATION_REQUIRED",
        "a CUSTOM policy needs provider.name naming an extension provider from the mesh config (meshConfig.extensionProviders)",
      );
    }
  } else if (present(spec.provider)) {
    ctx.error(
      ["spec", "provider"],
      "CREMA_VALIDATION_POLICY",
      `provider is only used with action CUSTOM, but the action is ${action}; remove provider or set action: CUSTOM`,
    );
  }
}

/** What a rule's entries match on: whether any exist, and whether any also apply to TCP. */
interface Coverage {
  exists: boolean;
  tcp: boolean;
}

function checkRule(ctx: ValidationContext, path: FieldPath, rule: Obj, action: string): void {
  const from = checkFrom(ctx, path, rule.from, action);
  const to = checkTo(ctx, path, rule.to);
  checkWhen(ctx, path, rule.when, action);
  if (action === "DENY" && ((from.exists && !to.exists && !from.tcp) || (to.exists && !to.tcp))) {
    ctx.warn(
      path,
      "CREMA_VALIDATION_POLICY",
      "this DENY rule matches only HTTP attributes, so on TCP ports under its scope it denies all traffic; add ports to the operation to limit it to HTTP ports",
    );
  }
}

function checkFrom(
  ctx: ValidationContext,
  path: FieldPath,
  list: unknown,
  action: string,
): Coverage {
  const coverage = { exists: false, tcp: false };
  if (Array.isArray(list) && list.length === 0) {
    ctx.error(
      [...path, "from"],
      "CREMA_VALIDATION_REQUIRED",
      "from is an empty list; add a source or remove from",
    );
  }
  for (const [from, j] of items(list)) {
    const at = [...path, "from", j, "source"];
    const source = isObj(from) ? from.source : undefined;
    if (!isObj(source)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        "a from entry needs a source; add source with principals, namespaces, ipBlocks … or remove the entry",
      );
      continue;
    }
    coverage.exists = true;
    if (!SOURCE_FIELDS.some((f) => nonEmpty(source[f]))) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        `source sets nothing to match; add at least one of ${SOURCE_FIELDS.join(", ")}`,
      );
    }
    if (TCP_SOURCE_FIELDS.some((f) => present(source[f]))) coverage.tcp = true;
    checkSource(ctx, at, source);
    if (action !== "CUSTOM") continue;
    for (const field of CUSTOM_UNSUPPORTED_SOURCE) {
      if (!nonEmpty(source[field])) continue;
      ctx.error(
        [...at, field],
        "CREMA_VALIDATION_POLICY",
        `${field} is not supported with action CUSTOM (the external authorizer runs before identities are known); match on ipBlocks or request attributes instead`,
      );
    }
  }
  return coverage;
}

function checkTo(ctx: ValidationContext, path: FieldPath, list: unknown): Coverage {
  const coverage = { exists: false, tcp: false };
  if (Array.isArray(list) && list.length === 0) {
    ctx.error(
      [...path, "to"],
      "CREMA_VALIDATION_REQUIRED",
      "to is an empty list; add an operation or remove to",
    );
  }
  for (const [to, j] of items(list)) {
    const at = [...path, "to", j, "operation"];
    const operation = isObj(to) ? to.operation : undefined;
    if (!isObj(operation)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        "a to entry needs an operation; add operation with hosts, ports, methods or paths, or remove the entry",
      );
      continue;
    }
    coverage.exists = true;
    if (!OPERATION_FIELDS.some((f) => nonEmpty(operation[f]))) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        `operation sets nothing to match; add at least one of ${OPERATION_FIELDS.join(", ")}`,
      );
    }
    if (present(operation.ports) || present(operation.notPorts)) coverage.tcp = true;
    checkOperation(ctx, at, operation);
  }
  return coverage;
}

function checkWhen(ctx: ValidationContext, path: FieldPath, list: unknown, action: string): void {
  for (const [condition, j] of items(list)) {
    const at = [...path, "when", j];
    if (!isObj(condition)) {
      ctx.error(
        at,
        "CREMA_VALIDATION_REQUIRED",
        "condition is empty (null); give it a key and values, or remove it",
      );
      continue;
    }
    const key = condition.key;
    if (typeof key !== "string") continue;
    if (key === "") {
      ctx.error(
        [...at, "key"],
        "CREMA_VALIDATION_REQUIRED",
        "condition key is empty; name an attribute such as source.ip or request.headers[x-user]",
      );
      continue;
    }
    if (action === "CUSTOM" && customUnsupportedKey(key)) {
      ctx.error(
        [...at, "key"],
        "CREMA_VALIDATION_POLICY",
        `condition key ${key} is not supported with action CUSTOM; use request headers, IPs or ports instead`,
      );
    }
    if (!nonEmpty(condition.values) && !nonEmpty(condition.notValues)) {
      ctx.error(
        [...at, "values"],
        "CREMA_VALIDATION_REQUIRED",
        `condition ${key} has neither values nor notValues; add at least one value to compare with`,
      );
      continue;
    }
    checkCondition(ctx, at, condition);
  }
}
