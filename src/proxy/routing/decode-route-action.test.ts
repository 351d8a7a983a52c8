// Decoded route actions: Envoy's defaults, durations in ms, inherited policies, opaque configs.
import { describe, expect, it } from "vitest";
import { decodeRouteConfiguration } from "./decode-route-config.ts";
import { compileRoutes, singleHost } from "./testing.ts";
import type { ForwardAction } from "./types.ts";

function forward(
  route: Record<string, unknown>,
  vhost: Record<string, unknown> = {},
): ForwardAction {
  const config = compileRoutes(
    singleHost([{ match: { prefix: "/" }, route: { cluster: "c", ...route } }], vhost),
  );
  const action = config.virtualHosts[0]!.routes[0]!.action;
  if (action.kind !== "route") throw new Error("expected a route action");
  return action;
}

describe("decoded actions", () => {
  it("accepts lowerCamelCase field names as proto3 JSON parsers must", () => {
    const action = forward({ prefixRewrite: "/x", retryPolicy: { numRetries: 3 } });
    expect(action.prefixRewrite).toBe("/x");
    expect(action.retryPolicy?.numRetries).toBe(3);
  });
  it("applies Envoy's defaults", () => {
    const action = forward({});
    expect(action.timeoutMs).toBe(15_000);
    expect(action.clusterNotFoundResponseCode).toBe(503);
    expect(action.priority).toBe("DEFAULT");
    expect(action.retryPolicy).toBeUndefined();
    expect(action.requestMirrorPolicies).toEqual([]);
  });

  it("decodes timeouts, retries and hedging with durations in ms", () => {
    const action = forward({
      timeout: "0s",
      idle_timeout: "1.5s",
      max_stream_duration: { max_stream_duration: "30s", grpc_timeout_header_max: "0.0015s" },
      retry_policy: {
        retry_on: "connect-failure,refused-stream, 5xx",
        num_retries: 2,
        per_try_timeout: "0.25s",
        retriable_status_codes: [503],
        host_selection_retry_max_attempts: "5",
        retry_host_predicate: [
          { name: "envoy.retry_host_predicates.previous_hosts", typed_config: { "@type": "x" } },
        ],
        retry_back_off: { base_interval: "0.025s" },
        retriable_request_headers: [{ name: ":method", string_match: { exact: "GET" } }],
      },
      hedge_policy: { hedge_on_per_try_timeout: true },
    });
    expect(action.timeoutMs).toBe(0);
    expect(action.idleTimeoutMs).toBe(1500);
    expect(action.maxStreamDurationMs).toBe(30_000);
    expect(action.grpcTimeoutHeaderMaxMs).toBe(1);
    expect(action.retryPolicy).toMatchObject({
      retryOn: ["connect-failure", "refused-stream", "5xx"],
      numRetries: 2,
      perTryTimeoutMs: 250,
      retriableStatusCodes: [503],
      hostSelectionRetryMaxAttempts: 5,
      retryHostPredicates: ["envoy.retry_host_predicates.previous_hosts"],
      retryBackOff: { baseIntervalMs: 25, maxIntervalMs: 250 },
    });
    expect(action.retryPolicy?.retriableRequestHeaders).toHaveLength(1);
    expect(action.hedgePolicy).toEqual({ initialRequests: 1, hedgeOnPerTryTimeout: true });
  });

  it("inherits retry and mirror policies from the virtual host (never merged)", () => {
    const vhost = {
      retry_policy: { retry_on: "5xx", num_retries: 4 },
      request_mirror_policies: [
        { cluster: "shadow", runtime_fraction: { default_value: { numerator: 25 } } },
      ],
    };
    const inherited = forward({}, vhost);
    expect(inherited.retryPolicy?.numRetries).toBe(4);
    expect(inherited.requestMirrorPolicies).toEqual([
      {
        cluster: "shadow",
        fraction: { numerator: 25, denominator: 100 },
        disableShadowHostSuffixAppend: false,
      },
    ]);
    const own = forward(
      { retry_policy: { retry_on: "reset" }, request_mirror_policies: [{ cluster: "m" }] },
      vhost,
    );
    expect(own.retryPolicy?.numRetries).toBe(1);
    expect(own.requestMirrorPolicies.map((m) => m.cluster)).toEqual(["m"]);
  });

  it("decodes hash policies, upgrades and opaque per-filter configs", () => {
    const config = compileRoutes(
      singleHost([
        {
          match: { prefix: "/" },
          typed_per_filter_config: {
            "envoy.filters.http.cors": {
              "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
              is_optional: true,
              config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
                allow_credentials: true,
              },
            },
          },
          route: {
            cluster: "c",
            hash_policy: [
              { header: { header_name: "X-User" }, terminal: true },
              { cookie: { name: "session", ttl: "0s" } },
              { connection_properties: { source_ip: true } },
            ],
            upgrade_configs: [
              { upgrade_type: "WebSocket" },
              { upgrade_type: "CONNECT", connect_config: { allow_post: true } },
            ],
          },
        },
      ]),
    );
    const route = config.virtualHosts[0]!.routes[0]!;
    expect(route.typedPerFilterConfig["envoy.filters.http.cors"]).toEqual({
      typeUrl: "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
      config: { allow_credentials: true },
      isOptional: true,
      disabled: false,
    });
    const action = route.action as ForwardAction;
    expect(action.hashPolicies).toEqual([
      { terminal: true, kind: "header", headerName: "x-user" },
      { terminal: false, kind: "cookie", name: "session", attributes: [], ttlMs: 0 },
      { terminal: false, kind: "connection_properties", sourceIp: true },
    ]);
    expect(action.upgradeConfigs).toEqual([
      { upgradeType: "websocket", enabled: true },
      { upgradeType: "connect", enabled: true, connectConfig: { allowPost: true } },
    ]);
  });

  it("lets the proxy reject per-filter configs its filters cannot use, unless optional", () => {
    const json = singleHost([
      {
        match: { prefix: "/" },
        route: { cluster: "c" },
        typed_per_filter_config: {
          "envoy.filters.http.unknown": { "@type": "type.googleapis.com/x.Y" },
        },
      },
    ]);
    const result = decodeRouteConfiguration(json, {
      validatePerFilterConfig: (name) =>
        name === "envoy.filters.http.unknown" ? "no such filter" : undefined,
    });
    expect(result.ok ? [] : result.errors).toEqual([
      'virtual_hosts[0].routes[0].typed_per_filter_config["envoy.filters.http.unknown"]: no such filter',
    ]);
  });
});
