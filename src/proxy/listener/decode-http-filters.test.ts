// The HCM's http_filters decoding: the router filter's typed_config — honoured fields decoded,
// stats/tracing/log-only fields accepted, everything else rejected (so the proxy NACKs).
import { describe, expect, it } from "vitest";
import { Fields } from "../routing/decode-reader.ts";
import { Re2Lease } from "../routing/re2-pool.ts";
import { decodeHttpFilters, routerFilterConfig } from "./decode-http-filters.ts";

const ROUTER_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

function decodeRouter(config: Record<string, unknown>) {
  const ctx = { errors: [] as string[], regexes: new Re2Lease() };
  const list = [
    new Fields(
      ctx,
      { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_URL, ...config } },
      "http_filters[0]",
    ),
  ];
  const filters = decodeHttpFilters(list, "http_filters", ctx.errors, {});
  return { errors: ctx.errors, router: routerFilterConfig(filters) };
}

describe("decodeHttpFilters: the router's typed_config", () => {
  it("defaults to adding Envoy's headers", () => {
    expect(decodeRouter({})).toEqual({
      errors: [],
      router: { suppressEnvoyHeaders: false, respectExpectedRqTimeout: false },
    });
  });

  it("decodes suppress_envoy_headers and respect_expected_rq_timeout", () => {
    expect(decodeRouter({ suppress_envoy_headers: true, respectExpectedRqTimeout: true })).toEqual({
      errors: [],
      router: { suppressEnvoyHeaders: true, respectExpectedRqTimeout: true },
    });
  });

  it("accepts what only shapes stats, tracing and upstream logs", () => {
    const result = decodeRouter({
      dynamic_stats: false,
      start_child_span: true,
      suppress_grpc_request_failure_code_stats: true,
      upstream_log: [],
      upstream_log_options: { flush_upstream_log_on_upstream_stream: true },
    });
    expect(result.errors).toEqual([]);
  });

  it("rejects what it cannot honour", () => {
    const result = decodeRouter({
      strict_check_headers: ["x-envoy-max-retries"],
      upstream_http_filters: [{ name: "codec" }],
      no_such_field: 1,
    });
    expect(result.errors).toEqual([
      "http_filters[0].typed_config.strict_check_headers: strict header checking is not supported",
      "http_filters[0].typed_config.upstream_http_filters: upstream HTTP filters are not supported",
      "http_filters[0].typed_config.no_such_field: unknown field",
    ]);
  });
});

describe("decodeHttpFilters: envoy.filters.http.grpc_stats", () => {
  const GRPC_STATS_URL =
    "type.googleapis.com/envoy.extensions.filters.http.grpc_stats.v3.FilterConfig";

  function decode(filter: Record<string, unknown>) {
    const ctx = { errors: [] as string[], regexes: new Re2Lease() };
    const list = [
      new Fields(ctx, filter, "http_filters[0]"),
      new Fields(
        ctx,
        { name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_URL } },
        "http_filters[1]",
      ),
    ];
    return { filters: decodeHttpFilters(list, "http_filters", ctx.errors, {}), errors: ctx.errors };
  }

  it("is a known filter, by its typed config or by its name", () => {
    const typed = decode({
      name: "envoy.filters.http.grpc_stats",
      typed_config: { "@type": GRPC_STATS_URL, emit_filter_state: true },
    });
    expect(typed.errors).toEqual([]);
    expect(typed.filters.map((f) => f.typeUrl)).toEqual([GRPC_STATS_URL, ROUTER_URL]);
    const named = decode({ name: "envoy.filters.http.grpc_stats" });
    expect(named.errors).toEqual([]);
    expect(named.filters[0]!.typeUrl).toBe(GRPC_STATS_URL);
  });

  it("rejects a config it cannot read, naming the field", () => {
    const { errors } = decode({
      name: "envoy.filters.http.grpc_stats",
      typed_config: { "@type": GRPC_STATS_URL, emit_filter_state: 1 },
    });
    expect(errors).toEqual([
      "http_filters[0].typed_config.emit_filter_state: expected true or false",
    ]);
  });
});
