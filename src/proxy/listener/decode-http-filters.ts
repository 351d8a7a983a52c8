// The HCM's http_filters: known filters by typed_config type (how Envoy finds implementations),
// optional unknown ones skipped, router required last, as Envoy validates a filter chain.
import type { Fields } from "../routing/decode-reader.ts";
import { typeName } from "./decode-listener-filters.ts";
import type { HttpFilter } from "./types.ts";

export const ROUTER_TYPE = "envoy.extensions.filters.http.router.v3.Router";

/** HTTP filter config types the proxy implements by default. */
export const DEFAULT_HTTP_FILTER_TYPES: ReadonlySet<string> = new Set([
  ROUTER_TYPE,
  "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.extensions.filters.http.cors.v3.Cors",
]);

const NAME_TO_TYPE: Record<string, string> = {
  "envoy.filters.http.router": ROUTER_TYPE,
  "envoy.filters.http.fault": "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.filters.http.cors": "envoy.extensions.filters.http.cors.v3.Cors",
};

export interface HttpFilterOptions {
  /** Message names of the typed configs the proxy implements (default DEFAULT_HTTP_FILTER_TYPES). */
  knownHttpFilterTypes?: ReadonlySet<string>;
}

function decodeHttpFilter(f: Fields, known: ReadonlySet<string>): HttpFilter | undefined {
  const name = f.string("name", 1);
  const optional = f.bool("is_optional");
  const disabled = f.bool("disabled");
  f.unsupported("config_discovery", "filter config discovery (ECDS) is not supported");
  const config = f.json("typed_config") ?? {};
  const url = typeof config["@type"] === "string" ? config["@type"] : "";
  if (f.has("typed_config") && !url) f.error('an Any needs "@type"', "typed_config");
  f.finish();
  const type = url ? typeName(url) : (NAME_TO_TYPE[name] ?? "");
  if (known.has(type))
    return { name, typeUrl: url || `type.googleapis.com/${type}`, config, disabled };
  if (!optional) {
    f.error(
      `unsupported HTTP filter ${JSON.stringify(name)}${url ? ` (${url})` : ""}; mark it is_optional to skip it`,
    );
  }
  return undefined;
}

/** Decodes a filter list; `path` names the list for the router-placement errors. */
export function decodeHttpFilters(
  list: Fields[],
  path: string,
  errors: string[],
  options: HttpFilterOptions,
): HttpFilter[] {
  const known = options.knownHttpFilterTypes ?? DEFAULT_HTTP_FILTER_TYPES;
  const out: HttpFilter[] = [];
  const paths: string[] = [];
  for (const f of list) {
    const filter = decodeHttpFilter(f, known);
    if (filter) {
      out.push(filter);
      paths.push(f.path);
    }
  }
  out.forEach((filter, i) => {
    const terminal = typeName(filter.typeUrl) === ROUTER_TYPE;
    if (terminal && i < out.length - 1) {
      errors.push(`${paths[i]}: terminal filter ${JSON.stringify(filter.name)} must be the last`);
    }
    if (!terminal && i === out.length - 1) {
      errors.push(`${paths[i]}: non-terminal filter ${JSON.stringify(filter.name)} is the last`);
    }
  });
  if (out.length === 0) errors.push(`${path}: the router filter is required (last)`);
  return out;
}
