// HTTP match conditions of a VirtualService route (`http[].match[]`): StringMatch values
// (uri, scheme, method, authority, headers, queryParams, withoutHeaders), port, sourceLabels,
// gateways and sourceNamespace — Istio's validateHTTPRouteMatchRequest.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { checkLabels, checkPort, checkRegex, isObj, objects, present } from "./rules.ts";
import { checkOneOf } from "./virtual-service-common.ts";
import { matchHeaderNameProblem } from "./virtual-service-headers.ts";
import { checkGatewayNames, isIstioDnsLabel } from "./virtual-service-hosts.ts";

const MAX_REGEX_LENGTH = 1024;

/** A regex as Istio accepts it: non-empty, at most 1024 characters, valid RE2. */
export function checkIstioRegex(ctx: ValidationContext, path: FieldPath, regex: unknown): boolean {
  if (typeof regex !== "string") return true;
  if (regex === "") {
    ctx.error(path, "CREMA_VALIDATION_REGEX", "regex must not be empty");
    return false;
  }
  if (regex.length > MAX_REGEX_LENGTH) {
    ctx.error(
      path,
      "CREMA_VALIDATION_REGEX",
      `regex is ${regex.length} characters long; Istio allows at most ${MAX_REGEX_LENGTH}`,
    );
    return false;
  }
  return checkRegex(ctx, path, regex);
}

export interface StringMatchRule {
  /** `uri` may use an empty prefix (Envoy matches everything); other fields may not. */
  allowEmptyPrefix?: boolean;
  /** CORS allowOrigins: the match must be set and non-empty. */
  requireValue?: boolean;
  /** withoutHeaders: regex "*" means "header present" and is not a regex. */
  starMeansPresent?: boolean;
}

/** A StringMatch: at most one of exact, prefix, regex; prefix/regex non-empty; regex RE2. */
export function checkStringMatch(
  ctx: ValidationContext,
  path: FieldPath,
  match: unknown,
  rule: StringMatchRule = {},
): void {
  if (!isObj(match)) return;
  const kind = checkOneOf(ctx, path, match, ["exact", "prefix", "regex"]);
  if (rule.requireValue && (kind === undefined || match[kind] === "")) {
    ctx.error(
      kind ? [...path, kind] : path,
      "CREMA_VALIDATION_REQUIRED",
      "an origin match needs a non-empty exact, prefix or regex",
    );
    return;
  }
  if (kind === "prefix" && match.prefix === "" && !rule.allowEmptyPrefix) {
    ctx.error([...path, "prefix"], "CREMA_VALIDATION_INVALID", "prefix match must not be empty");
  }
  if (kind === "regex" && !(rule.starMeansPresent && match.regex === "*")) {
    checkIstioRegex(ctx, [...path, "regex"], match.regex);
  }
}

function checkHeaderMatches(
  ctx: ValidationContext,
  path: FieldPath,
  headers: unknown,
  rule: StringMatchRule,
): void {
  if (!isObj(headers)) return;
  for (const [name, value] of Object.entries(headers)) {
    const problem = matchHeaderNameProblem(name);
    if (problem) {
      ctx.error([...path, name], "CREMA_VALIDATION_HEADER", problem);
      continue;
    }
    if (!present(value) && !rule.starMeansPresent) {
      ctx.error(
        [...path, name],
        "CREMA_VALIDATION_REQUIRED",
        `header match ${JSON.stringify(name)} needs a value such as {exact: ...}, {prefix: ...} or {regex: ...}`,
      );
      continue;
    }
    checkStringMatch(ctx, [...path, name], value, rule);
  }
}

/** Each entry of `http[].match`. */
export function checkHttpMatches(ctx: ValidationContext, path: FieldPath, matches: unknown): void {
  for (const [match, i] of objects(matches)) {
    const at = [...path, i];
    checkStringMatch(ctx, [...at, "uri"], match.uri, { allowEmptyPrefix: true });
    for (const field of ["scheme", "method", "authority"])
      checkStringMatch(ctx, [...at, field], match[field]);
    checkHeaderMatches(ctx, [...at, "headers"], match.headers, {});
    checkHeaderMatches(ctx, [...at, "withoutHeaders"], match.withoutHeaders, {
      starMeansPresent: true,
    });
    if (isObj(match.queryParams)) {
      for (const [name, value] of Object.entries(match.queryParams))
        checkStringMatch(ctx, [...at, "queryParams", name], value);
    }
    if (match.port !== 0) checkPort(ctx, [...at, "port"], match.port);
    checkLabels(ctx, [...at, "sourceLabels"], match.sourceLabels);
    checkGatewayNames(ctx, [...at, "gateways"], match.gateways);
    if (typeof match.sourceNamespace === "string" && match.sourceNamespace !== "") {
      if (!isIstioDnsLabel(match.sourceNamespace)) {
        ctx.error(
          [...at, "sourceNamespace"],
          "CREMA_VALIDATION_NAME",
          `sourceNamespace ${JSON.stringify(match.sourceNamespace)} is not a valid namespace name`,
        );
      }
    }
  }
}
