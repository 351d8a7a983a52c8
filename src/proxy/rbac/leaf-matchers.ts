// The RBAC rules that look at one input (CIDRs, ports, paths, headers, metadata, certificates,
// filter state), decoded into compiled predicates with Envoy's matching semantics
// (source/extensions/filters/common/rbac/matchers.cc). The routing engine's string, header and
// metadata matchers (and their RE2 pool) are reused as they are.

import { compileCidr, parseIp } from "../listener/cidr.ts";
import { typeName } from "../listener/decode-listener-filters.ts";
import { type Fields, isObject } from "../routing/decode-reader.ts";
import {
  decodeHeaderMatcher,
  matchHeaderValue,
  requestHeaderValue,
} from "../routing/header-matcher.ts";
import { decodeMetadataMatcher } from "../routing/metadata-matcher.ts";
import { queryStart } from "../routing/path-rewrite.ts";
import { decodeStringMatcher } from "../routing/string-matcher.ts";
import type { MetadataMatch } from "../routing/types.ts";
import type { RbacMatchContext, RbacMatcher } from "./types.ts";
import { compileUriTemplate } from "./uri-template.ts";

export const URI_TEMPLATE_MATCH_TYPE =
  "envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig";
const MAX_PATH_TEMPLATE = 256;

/** Which filter the rules are for: the network filter rejects header rules, as Envoy does. */
export interface RuleEnv {
  network: boolean;
}

export const ALWAYS: RbacMatcher = () => true;

/** core.v3.CidrRange against one of the connection's addresses (prefix_len clamped as Envoy). */
export function decodeCidr(
  f: Fields,
  which: "destination" | "directRemote" | "remote",
): RbacMatcher | undefined {
  const address = f.string("address_prefix", 1);
  const prefixLen = f.optUint("prefix_len") ?? 0;
  f.finish();
  if (!address) return undefined;
  const ip = parseIp(address);
  if (!ip) {
    f.error(`${JSON.stringify(address)} is not an IP address`, "address_prefix");
    return undefined;
  }
  const cidr = compileCidr(address, Math.min(prefixLen, ip.v6 ? 128 : 32));
  if (!cidr) return undefined;
  return (ctx) => {
    const peer = ctx.ip(which);
    return peer !== undefined && peer.v6 === cidr.v6 && (peer.value & cidr.mask) === cidr.network;
  };
}

/** type.v3.Int32Range [start, end) of destination ports, validated as Envoy's PortRangeMatcher. */
export function decodePortRange(f: Fields): RbacMatcher | undefined {
  const start = f.int64("start");
  const end = f.int64("end");
  f.finish();
  const errors = f.ctx.errors.length;
  if (start < 0 || start > 65536) f.error(`range start ${start} is out of bounds`, "start");
  if (end < 0 || end > 65536) f.error(`range end ${end} is out of bounds`, "end");
  if (f.ctx.errors.length === errors && start >= end) {
    f.error(`range start ${start} must be less than range end ${end}`);
  }
  if (f.ctx.errors.length > errors) return undefined;
  return (ctx) => ctx.req.destinationPort >= start && ctx.req.destinationPort < end;
}

/** The request's path without query and fragment; undefined for the network filter. */
function requestPath(ctx: RbacMatchContext): string | undefined {
  const path = ctx.req.http?.path;
  return path ? path.slice(0, queryStart(path)) : undefined;
}

/** type.matcher.v3.PathMatcher: the path without query and fragment. */
export function decodeUrlPath(f: Fields): RbacMatcher | undefined {
  const sub = f.object("path");
  if (!sub) f.error("is required", "path");
  const matcher = sub && decodeStringMatcher(sub);
  f.finish();
  if (!matcher) return undefined;
  return (ctx) => {
    const path = requestPath(ctx);
    return path !== undefined && matcher.match(path);
  };
}

/** core.v3.TypedExtensionConfig holding a UriTemplateMatchConfig. */
export function decodeUriTemplate(f: Fields): RbacMatcher | undefined {
  f.string("name", 1);
  const config = f.object("typed_config");
  if (!config) f.error("is required", "typed_config");
  f.finish();
  if (!config) return undefined;
  const type = typeName(config.string("@type", 1));
  if (type !== URI_TEMPLATE_MATCH_TYPE) {
    config.error(
      `unsupported path matcher ${JSON.stringify(type)}; only ${URI_TEMPLATE_MATCH_TYPE}`,
    );
    config.skip(...Object.keys(config.obj));
    config.finish();
    return undefined;
  }
  const template = config.string("path_template", 1);
  config.finish();
  if (template.length > MAX_PATH_TEMPLATE) {
    config.error(`must be at most ${MAX_PATH_TEMPLATE} characters`, "path_template");
    return undefined;
  }
  if (!template) return undefined;
  const compiled = compileUriTemplate(template);
  if (!compiled.ok) {
    config.error(
      `invalid path template ${JSON.stringify(template)}: ${compiled.reason}`,
      "path_template",
    );
    return undefined;
  }
  const regex = compiled.regex;
  return (ctx) => regex.test(requestPath(ctx) ?? "");
}

/** route.v3.HeaderMatcher (HTTP only: the network filter's config is rejected). */
export function decodeHeaderRule(f: Fields, env: RuleEnv): RbacMatcher | undefined {
  if (env.network) {
    f.error("header rules are not supported by the RBAC network filter (HTTP only)");
    f.skip(...Object.keys(f.obj));
    return undefined;
  }
  const header = decodeHeaderMatcher(f);
  if (!header) return undefined;
  return (ctx) => {
    const http = ctx.req.http;
    return matchHeaderValue(header, http ? requestHeaderValue(http, header.name) : undefined);
  };
}

function metadataValue(root: Readonly<Record<string, unknown>> | undefined, m: MetadataMatch) {
  let value: unknown = root?.[m.filter];
  for (const key of m.path) {
    if (!isObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

function metadataRule(m: MetadataMatch, source: "DYNAMIC" | "ROUTE"): RbacMatcher {
  if (source === "ROUTE") {
    return (ctx) => {
      const route = ctx.req.routeMetadata;
      return route !== undefined && m.value(metadataValue(route, m)) !== m.invert;
    };
  }
  return (ctx) => m.value(metadataValue(ctx.req.dynamicMetadata, m)) !== m.invert;
}

/** type.matcher.v3.MetadataMatcher on the dynamic metadata. */
export function decodeMetadataRule(f: Fields): RbacMatcher | undefined {
  const m = decodeMetadataMatcher(f);
  return m && metadataRule(m, "DYNAMIC");
}

/** config.rbac.v3.SourcedMetadata: dynamic or route metadata. */
export function decodeSourcedMetadata(f: Fields): RbacMatcher | undefined {
  const sub = f.object("metadata_matcher");
  if (!sub) f.error("is required", "metadata_matcher");
  const source = f.enumValue("metadata_source", ["DYNAMIC", "ROUTE"] as const);
  f.finish();
  const m = sub && decodeMetadataMatcher(sub);
  return m && metadataRule(m, source);
}

/** type.matcher.v3.StringMatcher on the connection's requested server name (SNI). */
export function decodeServerName(f: Fields): RbacMatcher | undefined {
  const matcher = decodeStringMatcher(f);
  return matcher && ((ctx) => matcher.match(ctx.req.requestedServerName ?? ""));
}

/**
 * Principal.Authenticated as Envoy's AuthenticatedMatcher: any TLS connection when there is no
 * principal_name; else any URI SAN, then any DNS SAN, then the subject must match.
 */
export function decodeAuthenticated(f: Fields): RbacMatcher | undefined {
  const sub = f.object("principal_name");
  const matcher = sub && decodeStringMatcher(sub);
  f.finish();
  if (sub && !matcher) return undefined;
  return (ctx) => {
    const tls = ctx.req.tls;
    if (tls === undefined) return false;
    if (!matcher) return true;
    for (const uri of tls.uriSans ?? []) if (matcher.match(uri)) return true;
    for (const dns of tls.dnsSans ?? []) if (matcher.match(dns)) return true;
    return matcher.match(tls.subject ?? "");
  };
}

/** type.matcher.v3.FilterStateMatcher: a filter state object's string form. */
export function decodeFilterState(f: Fields): RbacMatcher | undefined {
  const key = f.string("key", 1);
  const kind = f.oneof(["string_match", "address_match"] as const);
  let matcher: ReturnType<typeof decodeStringMatcher>;
  if (kind === "string_match") {
    const sub = f.object("string_match");
    matcher = sub && decodeStringMatcher(sub);
  } else if (kind === "address_match") {
    f.unsupported("address_match", "filter_state address_match is not supported by crema's proxy");
  } else {
    f.error("one of string_match, address_match is required");
  }
  f.finish();
  if (!matcher || !key) return undefined;
  const m = matcher;
  return (ctx) => {
    const value = ctx.req.filterState?.[key];
    return value !== undefined && m.match(value);
  };
}
