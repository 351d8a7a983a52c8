// Rewrites a selected route asks for, computed as Envoy does: prefix_rewrite swaps the matched
// prefix (or exact path), regex_rewrite substitutes within the path and keeps the query, host
// rewrites, and a redirect's Location (Http::Utility::newUri, incl. its default-port stripping).
import { firstHeader, firstRequestHeader } from "./header-matcher.ts";
import type {
  CompiledClusterWeight,
  CompiledRouteMatch,
  ForwardAction,
  RedirectAction,
  RegexRewrite,
  RouteRequest,
} from "./types.ts";

/** Where the query (or fragment) of a `:path` starts; its length when there is none. */
export function queryStart(path: string): number {
  const q = path.indexOf("?");
  const h = path.indexOf("#");
  if (q < 0) return h < 0 ? path.length : h;
  return h < 0 || q < h ? q : h;
}

/** How much of `path` a prefix_rewrite replaces: the configured prefix/path, or the whole path. */
function matchedLength(match: CompiledRouteMatch, path: string): number {
  switch (match.kind) {
    case "prefix":
    case "path":
    case "path_separated_prefix":
      return match.value.length;
    default:
      return queryStart(path);
  }
}

function regexRewritePath(path: string, rewrite: RegexRewrite): string {
  const end = queryStart(path);
  return rewrite.replace(path.slice(0, end)) + path.slice(end);
}

/** The upstream `:path` after the route's prefix_rewrite / regex_rewrite; undefined if none. */
export function forwardedPath(
  match: CompiledRouteMatch,
  action: ForwardAction,
  path: string,
): string | undefined {
  if (action.prefixRewrite !== undefined) {
    return action.prefixRewrite + path.slice(matchedLength(match, path));
  }
  if (action.regexRewrite !== undefined) return regexRewritePath(path, action.regexRewrite);
  return undefined;
}

/**
 * The authority the upstream request carries (Envoy's finalizeHostHeader, after a weighted
 * cluster's host_rewrite_literal): undefined when unchanged. auto_host_rewrite needs the chosen
 * endpoint, so the router applies it.
 */
export function rewrittenHost(
  action: ForwardAction,
  cluster: CompiledClusterWeight | undefined,
  req: RouteRequest,
): string | undefined {
  let host: string | undefined;
  if (action.hostRewriteLiteral !== undefined) host = action.hostRewriteLiteral;
  else if (action.hostRewriteHeader !== undefined) {
    host = firstRequestHeader(req, action.hostRewriteHeader);
  } else if (action.hostRewritePathRegex !== undefined) {
    host = action.hostRewritePathRegex.replace(req.path.slice(0, queryStart(req.path)));
  }
  return host ? host : cluster?.hostRewriteLiteral;
}

/** x-forwarded-proto as the connection manager set it, else the request's scheme. */
function forwardedProto(req: RouteRequest): string {
  return firstHeader(req.headers, "x-forwarded-proto") ?? req.scheme;
}

/** Envoy's processRequestHost: drops the port when a new one is given or it was the default. */
function redirectHost(req: RouteRequest, scheme: string, port: string): string {
  const host = req.authority;
  if (!host) return host;
  let end = host.startsWith("[") ? host.lastIndexOf("]:") : host.lastIndexOf(":");
  if (end < 0) return host;
  if (host.startsWith("[")) end += 1;
  const requestPort = host.slice(end);
  const proto = forwardedProto(req).toLowerCase();
  let remove = port !== "";
  if (scheme !== forwardedProto(req)) {
    remove ||=
      (proto === "https" && requestPort === ":443") || (proto === "http" && requestPort === ":80");
  }
  return remove ? host.slice(0, end) : host;
}

/** The Location of a redirect route (Http::Utility::newUri after the redirect's path rewrite). */
export function redirectLocation(
  match: CompiledRouteMatch,
  action: RedirectAction,
  req: RouteRequest,
): string {
  if (action.sslRedirect) return `https://${req.authority}${req.path}`;
  let path = req.path;
  if (action.regexRewrite !== undefined) path = regexRewritePath(path, action.regexRewrite);
  else if (action.prefixRewrite !== undefined) {
    path = action.prefixRewrite + path.slice(matchedLength(match, path));
  }
  const scheme = action.schemeRedirect ?? req.scheme;
  const port = action.portRedirect !== undefined ? `:${action.portRedirect}` : "";
  const host = action.hostRedirect ?? redirectHost(req, scheme, port);
  const redirectHasQuery = action.pathRedirect?.includes("?") ?? false;
  if (action.pathRedirect !== undefined) {
    const q = path.indexOf("?");
    path = redirectHasQuery || q < 0 ? action.pathRedirect : action.pathRedirect + path.slice(q);
  }
  if (!path.startsWith("/")) path = `/${path}`;
  if (!redirectHasQuery && action.stripQuery) {
    const q = path.indexOf("?");
    if (q >= 0) path = path.slice(0, q);
  }
  return `${scheme}://${host}${port}${path}`;
}
