// AuthorizationPolicy rule contents as Istio checks them: sources, operations, `when` conditions.
import { closestMatch } from "../../base/suggest.ts";
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkCidr, items, type Obj } from "./rules.ts";

export const SOURCE_FIELDS = [
  "principals",
  "notPrincipals",
  "requestPrincipals",
  "notRequestPrincipals",
  "namespaces",
  "notNamespaces",
  "serviceAccounts",
  "notServiceAccounts",
  "ipBlocks",
  "notIpBlocks",
  "remoteIpBlocks",
  "notRemoteIpBlocks",
] as const;

export const OPERATION_FIELDS = [
  "hosts",
  "notHosts",
  "ports",
  "notPorts",
  "methods",
  "notMethods",
  "paths",
  "notPaths",
] as const;

const IP_FIELDS = new Set(["ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"]);
const SERVICE_ACCOUNT_MAX = 16;

/** Non-empty list helper: the field holds at least one element. */
export function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

/** Strings of a list with their indexes; reports empty strings, which Istio rejects. */
function values(ctx: ValidationContext, path: FieldPath, list: unknown): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const [value, i] of items(list)) {
    if (typeof value !== "string") continue;
    if (value === "") {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_INVALID",
        'empty value; remove it, or write the value to match (use "*" to match any non-empty value)',
      );
      continue;
    }
    out.push([value, i]);
  }
  return out;
}

function checkServiceAccounts(ctx: ValidationContext, path: FieldPath, list: unknown): void {
  if (Array.isArray(list) && list.length > SERVICE_ACCOUNT_MAX) {
    ctx.error(
      path,
      "CREMA_VALIDATION_RANGE",
      `${list.length} service accounts listed; at most ${SERVICE_ACCOUNT_MAX} are allowed, split the rule`,
    );
  }
  for (const [value, i] of values(ctx, path, list)) {
    const problem = value.includes("*")
      ? "wildcards are not allowed"
      : value.length > 320
        ? "it is longer than 320 characters"
        : /^[^/]+(\/[^/]+)?$/.test(value)
          ? undefined
          : "it must be 'name' or 'namespace/name' with both parts non-empty";
    if (problem) {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_NAME",
        `service account ${JSON.stringify(value)} is invalid: ${problem}`,
      );
    }
  }
}

function checkPorts(ctx: ValidationContext, path: FieldPath, list: unknown): void {
  for (const [value, i] of values(ctx, path, list)) {
    if (!/^\d+$/.test(value) || Number(value) > 65535) {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_PORT",
        `port ${JSON.stringify(value)} is invalid; write a port number from 0 to 65535 as a string, e.g. "8080"`,
      );
    }
  }
}

const PATH_LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

/** Reason a path breaks Istio's path-template rules ({*} and {**} segments), or undefined. */
export function pathTemplateProblem(path: string): string | undefined {
  const templated = path.includes("{*}") || path.includes("{**}");
  let sawMatchAny = false;
  for (const segment of path.replace(/^\/+|\/+$/g, "").split("/")) {
    if (segment === "{*}" || segment === "{**}") {
      if (sawMatchAny) return "{**} must be the last template operator in the path";
      sawMatchAny = segment === "{**}";
      continue;
    }
    if (segment.includes("{") || segment.includes("}")) {
      return `segment ${JSON.stringify(segment)} has '{' or '}' but is not a whole {*} or {**} segment`;
    }
    if (templated && !PATH_LITERAL.test(segment)) {
      return `segment ${JSON.stringify(segment)} is not a plain literal; with {*} or {**} templates every other segment must be non-empty URL path characters ('*' wildcards are not allowed)`;
    }
  }
  return undefined;
}

/** Checks one `from[].source`. */
export function checkSource(ctx: ValidationContext, path: FieldPath, source: Obj): void {
  for (const field of SOURCE_FIELDS) {
    const at = [...path, field];
    if (field === "serviceAccounts" || field === "notServiceAccounts") {
      checkServiceAccounts(ctx, at, source[field]);
    } else if (IP_FIELDS.has(field)) {
      for (const [value, i] of values(ctx, at, source[field])) checkCidr(ctx, [...at, i], value);
    } else {
      values(ctx, at, source[field]);
    }
  }
  const accounts = nonEmpty(source.serviceAccounts) ? "serviceAccounts" : "notServiceAccounts";
  if (
    nonEmpty(source[accounts]) &&
    ["principals", "notPrincipals", "namespaces", "notNamespaces"].some((f) => nonEmpty(source[f]))
  ) {
    ctx.error(
      [...path, accounts],
      "CREMA_VALIDATION_EXCLUSIVE",
      `${accounts} cannot be combined with principals or namespaces in the same source; use separate from entries`,
    );
  }
}

/** Checks one `to[].operation`. */
export function checkOperation(ctx: ValidationContext, path: FieldPath, operation: Obj): void {
  for (const field of OPERATION_FIELDS) {
    const at = [...path, field];
    if (field === "ports" || field === "notPorts") {
      checkPorts(ctx, at, operation[field]);
    } else if (field === "paths" || field === "notPaths") {
      for (const [value, i] of values(ctx, at, operation[field])) {
        const problem = pathTemplateProblem(value);
        if (problem) {
          ctx.error(
            [...at, i],
            "CREMA_VALIDATION_INVALID",
            `path ${JSON.stringify(value)} is invalid: ${problem}`,
          );
        }
      }
    } else {
      values(ctx, at, operation[field]);
    }
  }
}

type KeyRule = "plain" | "map" | "ip" | "port" | "serviceAccount" | { error: string };

const EXACT_KEYS: Record<string, KeyRule> = {
  "source.ip": "ip",
  "remote.ip": "ip",
  "source.namespace": "plain",
  "source.serviceAccount": "serviceAccount",
  "source.principal": "plain",
  "request.auth.principal": "plain",
  "request.auth.audiences": "plain",
  "request.auth.presenter": "plain",
  "destination.ip": "ip",
  "destination.port": "port",
  "connection.sni": "plain",
  "destination.namespace": {
    error: "destination.namespace is not supported; the policy's own namespace already scopes it",
  },
  "destination.name": { error: "destination.name is only supported by the removed v1alpha1 API" },
  "destination.user": { error: "destination.user is only supported by the removed v1alpha1 API" },
};

const MAP_PREFIXES = [
  "request.headers",
  "request.experimental.inline.headers",
  "request.auth.claims",
  "experimental.envoy.filters.",
];

const KNOWN_KEYS = [
  ...Object.keys(EXACT_KEYS).filter((k) => typeof EXACT_KEYS[k] === "string"),
  "request.headers[<name>]",
  "request.auth.claims[<name>]",
];

function keyRule(key: string): KeyRule {
  const exact = EXACT_KEYS[key];
  if (exact) return exact;
  if (MAP_PREFIXES.some((p) => key.startsWith(p))) return "map";
  if (key.startsWith("destination.labels")) {
    return { error: "destination.labels is not supported; select workloads with spec.selector" };
  }
  const suggestion = closestMatch(key, KNOWN_KEYS);
  return {
    error: `unknown condition key ${JSON.stringify(key)}${suggestion ? ` (did you mean ${suggestion}?)` : ""}; supported keys include ${KNOWN_KEYS.join(", ")}`,
  };
}

/** Checks one `when` condition whose key is non-empty and that has values or notValues. */
export function checkCondition(ctx: ValidationContext, path: FieldPath, condition: Obj): void {
  const key = condition.key as string;
  const rule = keyRule(key);
  if (typeof rule === "object") {
    ctx.error([...path, "key"], "CREMA_VALIDATION_INVALID", rule.error);
  } else if (rule === "map") {
    const open = key.indexOf("[");
    if (!(key.endsWith("]") && open > 0 && open < key.length - 2)) {
      ctx.error(
        [...path, "key"],
        "CREMA_VALIDATION_INVALID",
        `condition key ${JSON.stringify(key)} needs a name in brackets, e.g. request.headers[x-user] or request.auth.claims[groups]`,
      );
    }
  }
  for (const field of ["values", "notValues"] as const) {
    const at = [...path, field];
    if (rule === "ip") {
      for (const [value, i] of values(ctx, at, condition[field])) checkCidr(ctx, [...at, i], value);
    } else if (rule === "port") {
      checkPorts(ctx, at, condition[field]);
    } else if (rule === "serviceAccount") {
      checkServiceAccounts(ctx, at, condition[field]);
    } else {
      values(ctx, at, condition[field]);
    }
  }
}
