// Route.redirect and Route.direct_response → typed local-reply actions, with Envoy's checks
// (one scheme and one path rewrite specifier, status 200–599, body size limit, inline bodies only).
import { decodeRegexSubstitution } from "./decode-policies.ts";
import type { Fields } from "./decode-reader.ts";
import type { DirectResponseAction, RedirectAction } from "./types.ts";

const REDIRECT_CODES = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
} as const;
const CONTROL = /[\0\r\n]/;

export function decodeRedirectAction(f: Fields): RedirectAction | undefined {
  const errors = f.ctx.errors.length;
  f.oneof(["https_redirect", "scheme_redirect"]);
  const https = f.bool("https_redirect");
  const scheme = f.string("scheme_redirect");
  const path = f.oneof(["path_redirect", "prefix_rewrite", "regex_rewrite"]);
  const codes = Object.keys(REDIRECT_CODES) as (keyof typeof REDIRECT_CODES)[];
  const action: RedirectAction = {
    kind: "redirect",
    responseCode: REDIRECT_CODES[f.enumValue("response_code", codes)],
    stripQuery: f.bool("strip_query"),
    schemeRedirect: undefined,
    hostRedirect: undefined,
    portRedirect: undefined,
    pathRedirect: undefined,
    prefixRewrite: undefined,
    regexRewrite: undefined,
    sslRedirect: undefined,
  };
  if (scheme) action.schemeRedirect = scheme.toLowerCase();
  else if (https) action.schemeRedirect = "https";
  const host = f.string("host_redirect");
  if (host) action.hostRedirect = host;
  const port = f.uint("port_redirect");
  if (port > 0) action.portRedirect = port;
  for (const field of ["host_redirect", "path_redirect", "prefix_rewrite"]) {
    if (CONTROL.test(f.string(field))) f.error("may not contain NUL, CR or LF", field);
  }
  // As in Envoy, an empty path_redirect / prefix_rewrite means "not set".
  if (path === "path_redirect" && f.string(path) !== "") action.pathRedirect = f.string(path);
  if (path === "prefix_rewrite" && f.string(path) !== "") action.prefixRewrite = f.string(path);
  if (path === "regex_rewrite") {
    const sub = f.object("regex_rewrite");
    const rewrite = sub && decodeRegexSubstitution(sub);
    if (rewrite) action.regexRewrite = rewrite;
  }
  f.finish();
  return f.ctx.errors.length === errors ? action : undefined;
}

export function decodeDirectResponse(
  f: Fields,
  maxBodyBytes: number,
): DirectResponseAction | undefined {
  const errors = f.ctx.errors.length;
  const status = f.uint("status");
  if (status < 200 || status > 599) f.error("must be between 200 and 599", "status");
  const action: DirectResponseAction = { kind: "direct_response", status };
  const body = f.object("body");
  if (body) {
    body.skip("watched_directory");
    const source = body.oneof([
      "filename",
      "inline_bytes",
      "inline_string",
      "environment_variable",
    ]);
    if (source === "filename" || source === "environment_variable") {
      body.unsupported(
        source,
        `a direct response body from ${source} is not supported; use inline_string`,
      );
    } else if (source === "inline_string") {
      action.body = body.string("inline_string");
    } else if (source === "inline_bytes") {
      action.body = Buffer.from(body.string("inline_bytes"), "base64");
    }
    const size =
      typeof action.body === "string" ? Buffer.byteLength(action.body) : (action.body?.length ?? 0);
    if (size > maxBodyBytes)
      body.error(`response body is ${size} bytes; the maximum is ${maxBodyBytes}`);
    body.finish();
  }
  f.finish();
  return f.ctx.errors.length === errors ? action : undefined;
}
