// decodeRouteConfiguration: every error collected with its path; unsupported features rejected.
import { describe, expect, it } from "vitest";
import { messageType } from "../../xds/envoy-protos.ts";
import { decodeJson, encodeJson } from "../../xds/proto-json.ts";
import { decodeRouteConfiguration } from "./decode-route-config.ts";
import { singleHost } from "./testing.ts";

function errorsOf(json: unknown): string[] {
  const result = decodeRouteConfiguration(json);
  return result.ok ? [] : result.errors;
}

describe("decode errors", () => {
  it("collects every error of a broken configuration with its field path", () => {
    const errors = errorsOf({
      name: "80",
      virtual_hosts: [
        {
          name: "ok",
          domains: ["a.com"],
          routes: [{ match: { prefix: "/" }, route: { cluster: "a" } }],
        },
        {
          name: "",
          domains: ["a.com", "*", "*"],
          routes: [
            { match: { safe_regex: { regex: "(unclosed" } }, route: { cluster: "x" } },
            {
              match: {
                prefix: "/",
                headers: [{ name: "x", string_match: { safe_regex: { regex: "a(?=b)" } } }],
              },
              redirect: {},
            },
            { match: {}, route: {} },
            {
              match: { prefix: "/" },
              route: { weighted_clusters: { clusters: [{ name: "a", weight: 0 }, { weight: 1 }] } },
            },
            {
              match: { prefix: "/" },
              route: {
                cluster: "c",
                timeout: "soon",
                prefix_rewrite: "/",
                regex_rewrite: { pattern: { regex: "a" }, substitution: "\\1" },
              },
            },
            {
              match: { prefix: "/" },
              direct_response: { status: 700 },
              request_headers_to_add: [{ header: { key: ":path", value: "/x" } }],
            },
            { match: { prefix: "/", typo_field: true }, route: { cluster: "c" } },
          ],
        },
      ],
    });
    expect(errors).toEqual([
      "virtual_hosts[1].name: must be at least 1 character(s)",
      'virtual_hosts[1].routes[0].match.safe_regex.regex: invalid RE2 regex "(unclosed": missing ): (unclosed',
      'virtual_hosts[1].routes[1].match.headers[0].string_match.safe_regex.regex: invalid RE2 regex "a(?=b)": invalid perl operator: (?=',
      "virtual_hosts[1].routes[2].match: one of prefix, path, safe_regex, connect_matcher, path_separated_prefix is required",
      "virtual_hosts[1].routes[2].route: one of cluster, cluster_header, weighted_clusters is required",
      "virtual_hosts[1].routes[3].route.weighted_clusters.clusters[1]: one of name or cluster_header is required",
      "virtual_hosts[1].routes[4].route.regex_rewrite.substitution: substitution references \\1 but the regex has 0 capture group(s)",
      "virtual_hosts[1].routes[4].route: specify only one of prefix_rewrite, regex_rewrite or path_rewrite_policy",
      'virtual_hosts[1].routes[4].route.timeout: "soon" is not a non-negative duration such as "1.5s"',
      "virtual_hosts[1].routes[5].direct_response.status: must be between 200 and 599",
      "virtual_hosts[1].routes[5].request_headers_to_add[0].header.key: :-prefixed or host headers may not be modified",
      "virtual_hosts[1].routes[6].match.typo_field: unknown field",
      "virtual_hosts[1].domains[0]: only unique values for domains are permitted; duplicate entry of domain a.com in route 80",
      "virtual_hosts[1].domains[2]: only a single wildcard domain is permitted in route 80",
    ]);
  });

  it.each([
    [{ vhds: { config_source: {} } }, "vhds: VHDS (on-demand virtual hosts) is not supported"],
    [
      { virtual_hosts: [{ name: "v", domains: ["*"], matcher: {} }] },
      "virtual_hosts[0].matcher: VirtualHost.matcher",
    ],
    [
      singleHost([{ match: { path_match_policy: { name: "t" } }, route: { cluster: "c" } }]),
      "routes[0].match.path_match_policy: path_match_policy (URI template matching) is not supported",
    ],
    [
      singleHost([
        { match: { prefix: "/" }, route: { cluster: "c", path_rewrite_policy: { name: "t" } } },
      ]),
      "routes[0].route.path_rewrite_policy: path_rewrite_policy",
    ],
    [
      singleHost([{ match: { prefix: "/" }, non_forwarding_action: {} }]),
      "routes[0].non_forwarding_action: non_forwarding_action is not supported",
    ],
    [
      singleHost([{ match: { prefix: "/" }, route: { cluster_specifier_plugin: "p" } }]),
      'routes[0].route.cluster_specifier_plugin: unknown cluster specifier plugin "p"',
    ],
    [
      { cluster_specifier_plugins: [{ extension: { name: "p" } }] },
      'cluster_specifier_plugins[0].extension: cluster specifier plugin "p" is not supported',
    ],
    [
      singleHost([
        {
          match: { prefix: "/", headers: [{ name: "x", string_match: { custom: {} } }] },
          route: { cluster: "c" },
        },
      ]),
      "string_match.custom: custom string matcher extensions are not supported",
    ],
    [
      singleHost([
        {
          match: { prefix: "/" },
          route: {
            cluster: "c",
            retry_policy: { retry_host_predicate: [{ name: "my.predicate" }] },
          },
        },
      ]),
      'retry_host_predicate[0].name: unsupported retry host predicate "my.predicate"',
    ],
    [
      singleHost([
        {
          match: { prefix: "/" },
          direct_response: { status: 200, body: { filename: "/etc/motd" } },
        },
      ]),
      "body.filename: a direct response body from filename is not supported",
    ],
    [
      singleHost([
        {
          match: { prefix: "/" },
          direct_response: { status: 200, body: { inline_string: "x".repeat(4097) } },
        },
      ]),
      "body: response body is 4097 bytes; the maximum is 4096",
    ],
    [
      singleHost([
        {
          match: {
            prefix: "/",
            headers: [
              { name: "x", string_match: { safe_regex: { regex: "a" }, ignore_case: true } },
            ],
          },
          route: { cluster: "c" },
        },
      ]),
      "ignore_case: ignore_case has no effect for safe_regex",
    ],
    [
      singleHost([{ match: { path_separated_prefix: "/api/" }, route: { cluster: "c" } }]),
      "match.path_separated_prefix: must not contain ? or # nor end with /",
    ],
    [
      singleHost([
        {
          match: { prefix: "/" },
          route: {
            cluster: "c",
            upgrade_configs: [{ upgrade_type: "websocket" }, { upgrade_type: "WebSocket" }],
          },
        },
      ]),
      "upgrade_configs[1].upgrade_type: duplicate upgrade websocket",
    ],
    [
      singleHost([
        {
          match: { prefix: "/" },
          route: {
            cluster: "c",
            retry_policy: { retry_back_off: { base_interval: "1s", max_interval: "0.5s" } },
          },
        },
      ]),
      "retry_back_off.max_interval: must be greater than or equal to base_interval",
    ],
    [
      singleHost([
        {
          match: { prefix: "/" },
          route: { cluster: "c", retry_policy: { retry_back_off: { base_interval: "0s" } } },
        },
      ]),
      "retry_back_off.base_interval: must be greater than 0",
    ],
    [
      singleHost([
        {
          match: { prefix: "/" },
          route: { cluster: "c" },
          request_headers_to_add: [{ header: { key: "x", value: "50%" } }],
        },
      ]),
      "header.value: no valid %COMMAND% at position 2",
    ],
    [
      singleHost([
        { match: { prefix: "/" }, route: { cluster: "c" }, request_headers_to_remove: ["host"] },
      ]),
      "request_headers_to_remove[0]: :-prefixed or host headers may not be removed",
    ],
    ["not an object", "(root): expected an object"],
    [
      { "@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster" },
      "@type: expected type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    ],
  ])("rejects %j", (json, expected) => {
    const errors = errorsOf(json);
    expect(
      errors.some((e) => e.includes(expected)),
      errors.join("\n"),
    ).toBe(true);
  });

  it("skips what only feeds statistics or absent filters", () => {
    expect(
      errorsOf({
        name: "r",
        virtual_hosts: [
          {
            name: "v",
            domains: ["*"],
            virtual_clusters: [{ name: "vc", headers: [{ name: ":path" }] }],
            rate_limits: [{ actions: [{ remote_address: {} }] }],
            routes: [
              {
                name: "n",
                match: { prefix: "/" },
                route: { cluster: "c", rate_limits: [] },
                tracing: {},
                decorator: { operation: "op" },
              },
            ],
          },
        ],
      }),
    ).toEqual([]);
  });
});

describe("xDS wire form", () => {
  it("accepts what the proto-JSON codec produces from the binary resource", () => {
    const type = messageType("envoy.config.route.v3.RouteConfiguration");
    const json = {
      name: "80",
      virtual_hosts: [
        {
          name: "a",
          domains: ["a.com", "a.com:80"],
          require_tls: "ALL",
          routes: [
            {
              match: {
                prefix: "/",
                case_sensitive: false,
                headers: [{ name: "r", range_match: { start: "-5", end: "5" } }],
                runtime_fraction: { default_value: { numerator: 5, denominator: "MILLION" } },
              },
              route: {
                weighted_clusters: {
                  clusters: [
                    { name: "a", weight: 0 },
                    { name: "b", weight: 2 },
                  ],
                },
                timeout: "0s",
                retry_policy: { num_retries: 0, host_selection_retry_max_attempts: "5" },
              },
              request_headers_to_add: [{ header: { key: "k", value: "" }, keep_empty_value: true }],
              typed_per_filter_config: {
                "envoy.filters.http.fault": {
                  "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
                  max_active_faults: 3,
                },
              },
            },
            {
              match: { prefix: "" },
              direct_response: { status: 404, body: { inline_bytes: "aGk=" } },
            },
            { match: { path: "/r" }, redirect: { https_redirect: true, response_code: "FOUND" } },
          ],
        },
      ],
    };
    const wire = decodeJson(type, encodeJson(type, json));
    const result = decodeRouteConfiguration(wire);
    expect(result.ok ? [] : result.errors).toEqual([]);
    const routes = result.ok ? result.value.virtualHosts[0]!.routes : [];
    expect(routes.map((r) => r.match.kind)).toEqual(["prefix", "prefix", "path"]);
    expect(routes[0]!.typedPerFilterConfig["envoy.filters.http.fault"]?.config).toEqual({
      max_active_faults: 3,
    });
  });
});
