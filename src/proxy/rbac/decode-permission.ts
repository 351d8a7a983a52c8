// config.rbac.v3.Permission (what the request does) and the and/or/not combinators shared with
// principals. Each rule is a oneof: exactly one member, else a decode error with its path.
import type { Fields } from "../routing/decode-reader.ts";
import {
  ALWAYS,
  decodeCidr,
  decodeHeaderRule,
  decodeMetadataRule,
  decodePortRange,
  decodeServerName,
  decodeSourcedMetadata,
  decodeUriTemplate,
  decodeUrlPath,
  type RuleEnv,
} from "./leaf-matchers.ts";
import type { RbacMatcher } from "./types.ts";

const PERMISSION_RULES = [
  "and_rules",
  "or_rules",
  "any",
  "header",
  "url_path",
  "destination_ip",
  "destination_port",
  "destination_port_range",
  "metadata",
  "not_rule",
  "requested_server_name",
  "matcher",
  "uri_template",
  "sourced_metadata",
] as const;

export type RuleDecoder = (f: Fields, env: RuleEnv) => RbacMatcher | undefined;

export function allOf(matchers: readonly RbacMatcher[]): RbacMatcher {
  return (ctx) => {
    for (let i = 0; i < matchers.length; i++) if (!matchers[i]!(ctx)) return false;
    return true;
  };
}

export function anyOf(matchers: readonly RbacMatcher[]): RbacMatcher {
  return (ctx) => {
    for (let i = 0; i < matchers.length; i++) if (matchers[i]!(ctx)) return true;
    return false;
  };
}

/** A repeated rule field (at least one), each decoded with `decode`. */
export function decodeRuleList(
  f: Fields,
  field: string,
  decode: RuleDecoder,
  env: RuleEnv,
): RbacMatcher[] | undefined {
  if (f.list(field).length === 0) {
    f.error("at least one is required", field);
    return undefined;
  }
  const out = f.objects(field).map((item) => decode(item, env));
  return out.every((m) => m !== undefined) ? out : undefined;
}

/** Permission.Set / Principal.Set: `{rules: […]}` or `{ids: […]}`. */
export function decodeSet(
  f: Fields,
  field: "rules" | "ids",
  decode: RuleDecoder,
  env: RuleEnv,
  combine: (matchers: readonly RbacMatcher[]) => RbacMatcher,
): RbacMatcher | undefined {
  const list = decodeRuleList(f, field, decode, env);
  f.finish();
  return list && combine(list);
}

/** A `bool any` member: the proto only allows true. */
export function decodeAny(f: Fields): RbacMatcher {
  if (f.raw("any") !== true) f.error("must be true", "any");
  return ALWAYS;
}

export function negate(inner: RbacMatcher | undefined): RbacMatcher | undefined {
  return inner && ((ctx) => !inner(ctx));
}

function sub(f: Fields, field: string): Fields | undefined {
  return f.object(field);
}

export function decodePermission(f: Fields, env: RuleEnv): RbacMatcher | undefined {
  const rule = f.oneof(PERMISSION_RULES);
  let out: RbacMatcher | undefined;
  switch (rule) {
    case undefined:
      f.error(`one of ${PERMISSION_RULES.join(", ")} is required`);
      break;
    case "and_rules":
    case "or_rules": {
      const set = sub(f, rule);
      out =
        set && decodeSet(set, "rules", decodePermission, env, rule === "and_rules" ? allOf : anyOf);
      break;
    }
    case "any":
      out = decodeAny(f);
      break;
    case "header": {
      const s = sub(f, rule);
      out = s && decodeHeaderRule(s, env);
      break;
    }
    case "url_path": {
      const s = sub(f, rule);
      out = s && decodeUrlPath(s);
      break;
    }
    case "uri_template": {
      const s = sub(f, rule);
      out = s && decodeUriTemplate(s);
      break;
    }
    case "destination_ip": {
      const s = sub(f, rule);
      out = s && decodeCidr(s, "destination");
      break;
    }
    case "destination_port": {
      const port = f.optUint(rule, 65535);
      if (port !== undefined) out = (ctx) => ctx.req.destinationPort === port;
      break;
    }
    case "destination_port_range": {
      const s = sub(f, rule);
      out = s && decodePortRange(s);
      break;
    }
    case "metadata": {
      const s = sub(f, rule);
      out = s && decodeMetadataRule(s);
      break;
    }
    case "sourced_metadata": {
      const s = sub(f, rule);
      out = s && decodeSourcedMetadata(s);
      break;
    }
    case "requested_server_name": {
      const s = sub(f, rule);
      out = s && decodeServerName(s);
      break;
    }
    case "not_rule": {
      const s = sub(f, rule);
      out = negate(s && decodePermission(s, env));
      break;
    }
    case "matcher":
      f.error("RBAC matcher extensions (envoy.rbac.matchers) are not supported", rule);
      break;
  }
  // A second oneof member was reported by oneof(); don't report it again as unknown.
  f.skip(...PERMISSION_RULES);
  f.finish();
  return out;
}
