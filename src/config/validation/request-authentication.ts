// Semantic validation of RequestAuthentication (Istio webhook + CRD rules): JWT rules and scope.
import { parseDuration } from "../../base/duration.ts";
import type { FieldPath } from "../diagnostic.ts";
import { checkDryRunAnnotation, checkPolicyScope } from "./authorization-policy-scope.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { jwksProblem, jwksUriProblem } from "./request-authentication-jwks.ts";
import { checkDuration, isObj, items, type Obj, present } from "./rules.ts";

const STRICT_HEADER_NAME = /^[-A-Za-z0-9]+$/;
const URI_MAX = 2048;
const SPACE_DELIMITED_MAX = 64;

export const validateRequestAuthentication: KindValidator = (spec, ctx) => {
  checkDryRunAnnotation(ctx);
  checkPolicyScope(ctx, spec);
  for (const [rule, i] of items(spec.jwtRules)) {
    const path = ["spec", "jwtRules", i];
    if (isObj(rule)) checkJwtRule(ctx, path, rule);
    else if (rule === null) {
      ctx.error(
        path,
        "CREMA_VALIDATION_JWT",
        "JWT rule is empty (null); give it an issuer and a key source, or remove it",
      );
    }
  }
};

/** Reports empty strings in a list of names. */
function checkNames(ctx: ValidationContext, path: FieldPath, list: unknown, what: string): void {
  for (const [value, i] of items(list)) {
    if (value === "") {
      ctx.error(
        [...path, i],
        "CREMA_VALIDATION_JWT",
        `${what} is empty; write a name or remove the entry`,
      );
    }
  }
}

function checkJwtRule(ctx: ValidationContext, path: FieldPath, rule: Obj): void {
  const uriField = present(rule.jwksUri) ? "jwksUri" : "jwks_uri";
  const uri = rule[uriField];
  if (rule.issuer === "") {
    ctx.error(
      [...path, "issuer"],
      "CREMA_VALIDATION_JWT",
      "issuer is empty; write the issuer (the token's iss claim), e.g. https://accounts.example.com",
    );
  } else if (!present(rule.issuer) && (typeof uri !== "string" || uri === "")) {
    ctx.error(
      [...path, "issuer"],
      "CREMA_VALIDATION_JWT",
      "the rule needs an issuer (the token's iss claim) or a jwksUri; add issuer",
    );
  }

  const sources = (["jwksUri", "jwks_uri", "jwks"] as const).filter((f) => present(rule[f]));
  if (sources.length > 1) {
    ctx.error(
      [...path, sources[1]!],
      "CREMA_VALIDATION_JWT",
      `${sources.join(" and ")} cannot be combined; give the keys either by URL (jwksUri) or inline (jwks)`,
    );
  }
  for (const field of ["jwksUri", "jwks_uri"] as const) {
    const value = rule[field];
    if (typeof value !== "string") continue;
    const problem =
      value === ""
        ? "it is empty"
        : value.length > URI_MAX
          ? `it is longer than ${URI_MAX} characters`
          : jwksUriProblem(value);
    if (problem) {
      ctx.error(
        [...path, field],
        "CREMA_VALIDATION_JWT",
        `${field} ${JSON.stringify(value)} is invalid: ${problem}`,
      );
    }
  }
  if (typeof rule.jwks === "string" && rule.jwks !== "") {
    const problem = jwksProblem(rule.jwks);
    if (problem) {
      ctx.error(
        [...path, "jwks"],
        "CREMA_VALIDATION_JWT",
        `jwks cannot be parsed: ${problem}; paste the key set as JSON, e.g. {"keys": [{"kty": "RSA", …}]}`,
      );
    }
  }

  checkNames(ctx, [...path, "audiences"], rule.audiences, "audience");
  checkNames(ctx, [...path, "fromParams"], rule.fromParams, "query parameter name");
  checkNames(ctx, [...path, "fromCookies"], rule.fromCookies, "cookie name");
  checkNames(ctx, [...path, "spaceDelimitedClaims"], rule.spaceDelimitedClaims, "claim name");
  if (
    Array.isArray(rule.spaceDelimitedClaims) &&
    rule.spaceDelimitedClaims.length > SPACE_DELIMITED_MAX
  ) {
    ctx.error(
      [...path, "spaceDelimitedClaims"],
      "CREMA_VALIDATION_RANGE",
      `spaceDelimitedClaims lists ${rule.spaceDelimitedClaims.length} claims; at most ${SPACE_DELIMITED_MAX} are allowed`,
    );
  }
  for (const [location, j] of items(rule.fromHeaders)) {
    const at = [...path, "fromHeaders", j];
    if (location === null) {
      ctx.error(
        at,
        "CREMA_VALIDATION_JWT",
        "header location is empty (null); give it a name or remove it",
      );
    } else if (isObj(location) && location.name === "") {
      ctx.error(
        [...at, "name"],
        "CREMA_VALIDATION_HEADER",
        "header name is empty; name the header that carries the token, e.g. Authorization",
      );
    }
  }
  for (const [output, j] of items(rule.outputClaimToHeaders)) {
    const at = [...path, "outputClaimToHeaders", j];
    if (!isObj(output)) {
      if (output === null) {
        ctx.error(
          at,
          "CREMA_VALIDATION_JWT",
          "outputClaimToHeaders entry is empty (null); give it a claim and a header, or remove it",
        );
      }
      continue;
    }
    if (output.claim === "") {
      ctx.error(
        [...at, "claim"],
        "CREMA_VALIDATION_JWT",
        "claim is empty; name the JWT claim to copy, e.g. sub",
      );
    }
    const header = output.header;
    if (header === "") {
      ctx.error(
        [...at, "header"],
        "CREMA_VALIDATION_HEADER",
        "header is empty; name the header to write the claim to, e.g. x-jwt-sub",
      );
    } else if (typeof header === "string" && !STRICT_HEADER_NAME.test(header)) {
      ctx.error(
        [...at, "header"],
        "CREMA_VALIDATION_HEADER",
        `header ${JSON.stringify(header)} is not allowed; use only letters, digits and '-' (no pseudo-headers like :authority, no '_')`,
      );
    }
  }
  checkTimeout(ctx, [...path, "timeout"], rule.timeout);
}

/** JWKS fetch timeout: at least 1ms, in whole milliseconds. */
function checkTimeout(ctx: ValidationContext, path: FieldPath, value: unknown): void {
  if (!checkDuration(ctx, path, value) || typeof value !== "string") return;
  const parsed = parseDuration(value);
  if (parsed.ok && Math.round(parsed.ms * 1e6) % 1e6 !== 0) {
    ctx.error(
      path,
      "CREMA_VALIDATION_DURATION",
      `timeout ${value} is finer than a millisecond; round it to whole milliseconds, e.g. "1500ms"`,
    );
  }
}
