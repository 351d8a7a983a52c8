// Header rules of VirtualService: header names in matches, header operations (set/add/remove
// on requests and responses) and header values as Envoy parses them (`%VAR%` expressions).
// Mirrors Istio's ValidateHTTPHeader*Name, ValidateHTTPHeaderValue and validateAuthorityRewrite.
import type { FieldPath } from "../diagnostic.ts";
import type { ValidationContext } from "./context.ts";
import { isObj, type Obj } from "./rules.ts";
import { isJwtClaimRoute } from "./virtual-service-hosts.ts";

const HEADER_NAME = /^[-_A-Za-z0-9]+$/;

/** Header names in `match.headers` / `withoutHeaders`: a token, or a JWT claim route. */
export function matchHeaderNameProblem(name: string): string | undefined {
  if (name === "") return "header name must not be empty";
  if (isJwtClaimRoute(name)) return undefined;
  if (!HEADER_NAME.test(name))
    return `header name ${JSON.stringify(name)} is invalid; use letters, digits, '-' and '_' (or @request.auth.claims.<name>)`;
  return undefined;
}

/** CORS allowHeaders / exposeHeaders entries: "*" or a header token. */
export function corsHeaderNameProblem(name: string): string | undefined {
  if (name === "") return "header name must not be empty";
  if (name === "*" || HEADER_NAME.test(name)) return undefined;
  return `header name ${JSON.stringify(name)} is invalid; use "*" or letters, digits, '-' and '_'`;
}

function isInternalHeader(name: string): boolean {
  return name.startsWith(":") || name.toLowerCase() === "host";
}

export function isAuthorityHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === ":authority" || lower === "host";
}

/** Request set/add: pseudo-headers are rejected except :authority (and Host), a host rewrite. */
function requestWriteNameProblem(name: string): string | undefined {
  if (name === "") return "header name must not be empty";
  if (isInternalHeader(name) && !isAuthorityHeader(name))
    return `header ${JSON.stringify(name)} cannot be modified: only :authority (or Host) may be set among pseudo-headers`;
  return undefined;
}

/** Request remove, and every response operation: no pseudo-headers, no Host. */
function otherOperationNameProblem(name: string): string | undefined {
  if (name === "") return "header name must not be empty";
  if (name.toLowerCase() === "host") return `header "Host" cannot be removed or set on a response`;
  if (name.startsWith(":"))
    return `header ${JSON.stringify(name)} cannot be modified: names starting with ':' are pseudo-headers`;
  return undefined;
}

/** Control characters other than horizontal tab are not allowed in header values. */
function hasControlChar(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

/** Envoy's header-value formatter grammar: literal text, `%%`, `%VAR%`, `%VAR(args)%`. */
export function headerValueProblem(value: string): string | undefined {
  if (hasControlChar(value)) return "header values must not contain control characters";
  type State = "literal" | "name" | "array" | "string" | "delimiter" | "element" | "args" | "end";
  let state: State = "literal";
  for (let pos = 0; pos < value.length; pos++) {
    const ch = value[pos]!;
    const hasNext = pos + 1 < value.length;
    switch (state) {
      case "literal":
        if (ch !== "%") break;
        if (!hasNext) return `unescaped '%' at the end; write '%%' for a literal percent sign`;
        if (value[pos + 1] === "%") pos++;
        else state = "name";
        break;
      case "name":
        if (ch === "%") state = "literal";
        else if (ch === "(") state = "array";
        break;
      case "array":
        if (ch === "[") state = "element";
        else if (ch !== " ") state = "string";
        break;
      case "delimiter":
        if (ch === ",") state = "element";
        else if (ch === "]") state = "args";
        else if (ch !== " ") return "invalid %VAR([...])% expression: expected ',' or ']'";
        break;
      case "element":
        if (ch === '"') state = "string";
        else if (ch !== " ") return `invalid %VAR([...])% expression: expected '"'`;
        break;
      case "string":
        if (ch === "\\") {
          if (!hasNext) return "unterminated backslash in a %VAR(...)% argument";
          pos++;
        } else if (ch === ")") state = "end";
        else if (ch === '"') state = "delimiter";
        break;
      case "args":
        if (ch === ")") state = "end";
        else if (ch !== " ") return "invalid %VAR(...)% expression: expected ')'";
        break;
      case "end":
        if (ch === "%") state = "literal";
        else if (ch !== " ") return "invalid %VAR(...)% expression: expected the closing '%'";
        break;
    }
  }
  if (state !== "literal")
    return `unterminated %VARIABLE% expression; write '%%' for a literal percent sign`;
  return undefined;
}

function checkWrites(
  ctx: ValidationContext,
  path: FieldPath,
  values: unknown,
  nameProblem: (name: string) => string | undefined,
): void {
  if (!isObj(values)) return;
  for (const [name, value] of Object.entries(values)) {
    const problem =
      nameProblem(name) ?? (typeof value === "string" ? headerValueProblem(value) : undefined);
    if (problem)
      ctx.error([...path, name], "CREMA_VALIDATION_HEADER", `${JSON.stringify(name)}: ${problem}`);
  }
}

function checkRemoves(ctx: ValidationContext, path: FieldPath, names: unknown): void {
  if (!Array.isArray(names)) return;
  names.forEach((name, i) => {
    if (typeof name !== "string") return;
    const problem = otherOperationNameProblem(name);
    if (problem) ctx.error([...path, i], "CREMA_VALIDATION_HEADER", problem);
  });
}

/** A `Headers` block: `request`/`response` each with `set`, `add`, `remove`. */
export function checkHeaderOperations(
  ctx: ValidationContext,
  path: FieldPath,
  headers: unknown,
): void {
  if (!isObj(headers)) return;
  const { request, response } = headers;
  if (isObj(request)) {
    checkWrites(ctx, [...path, "request", "set"], request.set, requestWriteNameProblem);
    checkWrites(ctx, [...path, "request", "add"], request.add, requestWriteNameProblem);
    checkRemoves(ctx, [...path, "request", "remove"], request.remove);
  }
  if (isObj(response)) {
    checkWrites(ctx, [...path, "response", "set"], response.set, otherOperationNameProblem);
    checkWrites(ctx, [...path, "response", "add"], response.add, otherOperationNameProblem);
    checkRemoves(ctx, [...path, "response", "remove"], response.remove);
  }
}

/** The authority may be rewritten in one place only: `rewrite.authority` or one header write. */
export function checkAuthorityRewrite(ctx: ValidationContext, path: FieldPath, http: Obj): void {
  const rewrite = isObj(http.rewrite) ? http.rewrite : {};
  let current = typeof rewrite.authority === "string" ? rewrite.authority : "";
  const request = isObj(http.headers) && isObj(http.headers.request) ? http.headers.request : {};
  for (const op of ["set", "add"] as const) {
    const writes = request[op];
    if (!isObj(writes)) continue;
    for (const [name, value] of Object.entries(writes)) {
      if (!isAuthorityHeader(name)) continue;
      if (current !== "") {
        ctx.error(
          [...path, "headers", "request", op, name],
          "CREMA_VALIDATION_EXCLUSIVE",
          `the authority is rewritten twice (already to ${JSON.stringify(current)}); set it either in rewrite.authority or in one header operation`,
        );
        return;
      }
      current = typeof value === "string" ? value : "";
    }
  }
}
