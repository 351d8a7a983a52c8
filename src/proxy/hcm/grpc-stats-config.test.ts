import { describe, expect, it } from "vitest";
import { decodeGrpcStatsConfig, GRPC_STATS_TYPE } from "./grpc-stats-config.ts";

const TYPE_URL = `type.googleapis.com/${GRPC_STATS_TYPE}`;

describe("decodeGrpcStatsConfig", () => {
  it("decodes istiod's config (emit_filter_state, no per-method stats)", () => {
    expect(
      decodeGrpcStatsConfig({
        "@type": TYPE_URL,
        emit_filter_state: true,
        stats_for_all_methods: false,
      }),
    ).toEqual({ ok: true, config: { emitFilterState: true } });
  });

  it("keeps no filter state unless asked (Envoy's default)", () => {
    expect(decodeGrpcStatsConfig({ "@type": TYPE_URL })).toEqual({
      ok: true,
      config: { emitFilterState: false },
    });
  });

  it("accepts what only shapes Envoy's own gRPC stats, which crema does not keep", () => {
    for (const config of [
      { statsForAllMethods: true, enableUpstreamStats: true, replaceDotsInGrpcServiceName: true },
      {
        individual_method_stats_allowlist: {
          services: [{ name: "crema.echo.v1.EchoService", method_names: ["Echo"] }],
        },
      },
    ]) {
      expect(decodeGrpcStatsConfig({ emit_filter_state: true, ...config })).toEqual({
        ok: true,
        config: { emitFilterState: true },
      });
    }
  });

  it("names the field of everything it cannot read", () => {
    const result = decodeGrpcStatsConfig(
      {
        emit_filter_state: "yes",
        stats_for_all_methods: true,
        individual_method_stats_allowlist: { services: [{ name: "", method_names: [] }] },
        per_method: 1,
      },
      "typed_config",
    );
    expect(result).toEqual({
      ok: false,
      errors: [
        "typed_config.emit_filter_state: expected true or false",
        "typed_config: only one of individual_method_stats_allowlist, stats_for_all_methods may be set",
        "typed_config.individual_method_stats_allowlist.services[0].name: must be at least 1 character(s)",
        "typed_config.individual_method_stats_allowlist.services[0].method_names: must list at least one method",
        "typed_config.per_method: unknown field",
      ],
    });
  });
});
