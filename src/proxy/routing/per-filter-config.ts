// typed_per_filter_config maps (route configuration, virtual host, route, weighted cluster): kept as
// opaque JSON for the HTTP filters, with Envoy's FilterConfig wrapper (is_optional, disabled)
// unwrapped. An optional validator lets the proxy reject configs its filters cannot use.
import { type DecodeContext, Fields, isObject } from "./decode-reader.ts";
import type { PerFilterConfig, PerFilterConfigs } from "./types.ts";

const FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig";

/** Returns a reason when `config` is not acceptable for filter `name` (e.g. an unknown type). */
export type PerFilterConfigValidator = (
  name: string,
  config: PerFilterConfig,
) => string | undefined;

export function decodePerFilterConfigs(
  f: Fields,
  validate: PerFilterConfigValidator | undefined,
): PerFilterConfigs {
  const out: Record<string, PerFilterConfig> = {};
  for (const [name, value, path] of f.entries("typed_per_filter_config")) {
    const config = decodeOne(f.ctx, value, path);
    if (!config) continue;
    const problem = validate?.(name, config);
    if (problem && !config.isOptional) f.ctx.errors.push(`${path}: ${problem}`);
    else if (!problem) out[name] = config;
  }
  return out;
}

function decodeOne(ctx: DecodeContext, value: unknown, path: string): PerFilterConfig | undefined {
  if (!isObject(value) || typeof value["@type"] !== "string") {
    ctx.errors.push(`${path}: expected an Any with "@type"`);
    return undefined;
  }
  const { "@type": typeUrl, ...rest } = value;
  if (typeUrl !== FILTER_CONFIG) {
    return {
      typeUrl,
      config: rest as PerFilterConfig["config"],
      isOptional: false,
      disabled: false,
    };
  }
  const wrapper = new Fields(ctx, rest, path);
  const isOptional = wrapper.bool("is_optional");
  const disabled = wrapper.bool("disabled");
  const inner = wrapper.raw("config");
  wrapper.finish();
  if (inner === undefined) {
    if (!disabled) ctx.errors.push(`${path}.config: is required unless disabled`);
    return { typeUrl: "", config: {}, isOptional, disabled };
  }
  const unwrapped = decodeOne(ctx, inner, `${path}.config`);
  return unwrapped && { ...unwrapped, isOptional, disabled };
}
