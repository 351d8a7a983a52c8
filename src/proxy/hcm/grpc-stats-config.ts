// Decodes `envoy.filters.http.grpc_stats` (envoy.extensions.filters.http.grpc_stats.v3.FilterConfig).
// crema's proxy keeps the part Istio's metrics read — the per-stream message counts left in filter
// state (emit_filter_state) — and none of Envoy's own `cluster.<name>.grpc.*` counters. The fields
// that only choose or rename those counters (per-method stats, the allowlist, upstream timing,
// dots in service names) are therefore checked and accepted without effect, as the router's
// stats-only fields are: rejecting them would refuse Istio's own config, which implies the
// unprefixed counters crema does not emit either.
import { Fields } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";

export const GRPC_STATS_TYPE = "envoy.extensions.filters.http.grpc_stats.v3.FilterConfig";
export const GRPC_STATS_FILTER_NAME = "envoy.filters.http.grpc_stats";

export interface GrpcStatsConfig {
  /** Keep the message counts in the stream's filter state (what `istio.stats` reads). */
  readonly emitFilterState: boolean;
}

export type GrpcStatsDecode =
  | { ok: true; config: GrpcStatsConfig }
  | { ok: false; errors: string[] };

/** config.core.v3.GrpcMethodList, validated as Envoy validates it (and then unused). */
function checkMethodList(f: Fields): void {
  for (const service of f.objects("services")) {
    service.string("name", 1);
    const methods = service.strings("method_names");
    if (methods.length === 0) service.error("must list at least one method", "method_names");
    service.finish();
  }
  f.finish();
}

/** Decodes a grpc_stats FilterConfig typed_config; `path` prefixes every error. */
export function decodeGrpcStatsConfig(json: unknown, path = ""): GrpcStatsDecode {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  try {
    const f = Fields.of(ctx, json, path);
    if (!f) return { ok: false, errors: ctx.errors };
    f.skip("@type");
    const emitFilterState = f.bool("emit_filter_state");
    f.oneof(["individual_method_stats_allowlist", "stats_for_all_methods"]);
    const allowlist = f.object("individual_method_stats_allowlist");
    if (allowlist) checkMethodList(allowlist);
    f.optBool("stats_for_all_methods");
    f.bool("enable_upstream_stats");
    f.bool("replace_dots_in_grpc_service_name");
    f.finish();
    if (ctx.errors.length > 0) return { ok: false, errors: ctx.errors };
    return { ok: true, config: { emitFilterState } };
  } finally {
    ctx.regexes.release();
  }
}
