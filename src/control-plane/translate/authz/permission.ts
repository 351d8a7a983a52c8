// RBAC Permissions (what the request asks for) from AuthorizationPolicy `to.operation` fields and
// the `when` keys istiod files under permissions: hosts → `:authority`, methods → `:method`,
// paths → url_path (or a URI template for `{*}`/`{**}`), ports and destination.port →
// destination_port, destination.ip, connection.sni, experimental.envoy.filters.*[…] → metadata.
import { envoyProtos } from "../../../xds/envoy-protos.ts";
import type { JsonObject } from "../../../xds/proto-json.ts";
import {
  type AttributeGenerator,
  cidrRange,
  headerMatcher,
  hostMatcher,
  httpOnly,
  metadataMatcher,
  orValues,
  quoteMeta,
  RuleProblem,
  regexMatcher,
  stringMatcher,
} from "./matchers.ts";

export const URI_TEMPLATE_TYPE =
  "envoy.extensions.path.match.uri_template.v3.UriTemplateMatchConfig";

export function permissionAny(): JsonObject {
  return { any: true };
}
export function permissionAnd(rules: readonly JsonObject[]): JsonObject {
  return { and_rules: { rules: [...rules] } };
}
export function permissionOr(rules: readonly JsonObject[]): JsonObject {
  return { or_rules: { rules: [...rules] } };
}
export function permissionNot(rule: JsonObject): JsonObject {
  return { not_rule: rule };
}

/** Istio's ContainsPathTemplate. */
export function containsPathTemplate(path: string): boolean {
  return path.includes("{*}") || path.includes("{**}");
}

/** `{*}` → `*` and `{**}` → `**`: the Envoy uri_template form of an Istio path template. */
export function envoyPathTemplate(path: string): string {
  return path.replaceAll("{**}", "**").replaceAll("{*}", "*");
}

// Characters a path segment may hold in Envoy's URI templates (the hyphen goes last in each class
// so that no engine reads it as a range).
const SEGMENT_CHARS = "a-zA-Z0-9._~%!$&'()+,;:@=";

/**
 * The RE2 regex Envoy's uri_template matcher compiles a template to: `*` is one segment, `**` any
 * number of segments (with their slashes), everything else literal.
 */
export function pathTemplateRegex(template: string): string {
  return template
    .split(/(\*\*|\*)/)
    .map((part) =>
      part === "**"
        ? `[${SEGMENT_CHARS}/-]*`
        : part === "*"
          ? `[${SEGMENT_CHARS}-]+`
          : quoteMeta(part),
    )
    .join("");
}

/** Whether the protobuf registry knows UriTemplateMatchConfig, so a uri_template Any encodes. */
export function uriTemplateEncodes(): boolean {
  try {
    envoyProtos().lookupType(URI_TEMPLATE_TYPE);
    return true;
  } catch {
    return false;
  }
}

/**
 * A path permission. Templates become istiod's `uri_template` extension when that proto is loaded;
 * until then the same match as an anchored url_path regex, so the listener still encodes.
 */
export function pathPermission(path: string, templates = uriTemplateEncodes): JsonObject {
  if (!containsPathTemplate(path)) return { url_path: { path: stringMatcher(path) } };
  const template = envoyPathTemplate(path);
  if (templates()) {
    return {
      uri_template: {
        name: "uri-template",
        typed_config: {
          "@type": `type.googleapis.com/${URI_TEMPLATE_TYPE}`,
          path_template: template,
        },
      },
    };
  }
  return { url_path: { path: regexMatcher(pathTemplateRegex(template)) } };
}

function port(value: string): number | RuleProblem {
  if (!/^\d+$/.test(value) || Number(value) > 65535) {
    return new RuleProblem(`invalid port ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** `operation.hosts`: `:authority`, case-insensitive (no port is added or stripped, as in Istio). */
export const HOSTS: AttributeGenerator = {
  kind: "each",
  build: (key, value, forTcp) =>
    forTcp ? httpOnly(key) : { header: hostMatcher(":authority", value) },
};

export const METHODS: AttributeGenerator = {
  kind: "each",
  build: (key, value, forTcp) =>
    forTcp ? httpOnly(key) : { header: headerMatcher(":method", value) },
};

export const PATHS: AttributeGenerator = {
  kind: "each",
  build: (key, value, forTcp) => (forTcp ? httpOnly(key) : pathPermission(value)),
};

/** `operation.ports` and `destination.port`. */
export const DESTINATION_PORT: AttributeGenerator = {
  kind: "each",
  build: (_key, value) => {
    const p = port(value);
    return p instanceof RuleProblem ? p : { destination_port: p };
  },
};

export const DESTINATION_IP: AttributeGenerator = {
  kind: "each",
  build: (_key, value) => {
    const range = cidrRange(value);
    return range instanceof RuleProblem ? range : { destination_ip: range };
  },
};

export const CONNECTION_SNI: AttributeGenerator = {
  kind: "each",
  build: (_key, value) => ({ requested_server_name: stringMatcher(value) }),
};

/**
 * `experimental.envoy.filters.<filter>[<key>]`: the filter's dynamic metadata at `key`, any of the
 * values; a value written `[v]` matches v as an element of a list.
 */
export const ENVOY_FILTER_METADATA: AttributeGenerator = {
  kind: "all",
  build: (key, values) => {
    const trimmed = key.replace(/^experimental\./, "").replace(/\]$/, "");
    const open = trimmed.indexOf("[");
    if (open < 0) return new RuleProblem(`invalid key ${JSON.stringify(key)}`);
    const filter = trimmed.slice(0, open);
    const name = trimmed.slice(open + 1);
    const matchers = values.map(
      (v): JsonObject =>
        v.startsWith("[") && v.endsWith("]")
          ? {
              list_match: {
                one_of: { string_match: stringMatcher(v.replace(/^[[\]]+|[[\]]+$/g, "")) },
              },
            }
          : { string_match: stringMatcher(v) },
    );
    return { metadata: metadataMatcher(filter, [name], orValues(matchers)) };
  },
};
