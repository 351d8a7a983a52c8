// Decoding RBAC filter configs: every problem is reported at once with its field path, and what
// crema cannot honour is an error (so the proxy NACKs) rather than silently ignored.
import { describe, expect, it } from "vitest";
import { liveRegexCount } from "../routing/re2-pool.ts";
import {
  decodeHttpRbac,
  decodeNetworkRbac,
  decodeRbacPerRoute,
  releaseRbacConfig,
} from "./decode-rbac.ts";
import { evaluateRbac } from "./evaluate-rbac.ts";
import { rbacRequest, uriTemplateRule } from "./testing.ts";

function errorsOf(result: { ok: true } | { ok: false; errors: string[] }): string[] {
  return result.ok ? [] : result.errors;
}

const P = 'rules.policies["p"]';

describe("decodeHttpRbac", () => {
  it("collects every error with its field path", () => {
    const result = decodeHttpRbac({
      rules: {
        action: "MAYBE",
        policies: {
          p: {
            permissions: [
              {},
              { any: true, destination_port: 80 },
              { destination_port: 70000 },
              { destination_port_range: { start: 10, end: 5 } },
              { url_path: { path: { safe_regex: { regex: "(" } } } },
              uriTemplateRule("/{*}"),
              { header: { name: "x", bogus: 1 } },
              { matcher: { name: "m", typed_config: {} } },
              { any: false },
            ],
            principals: [
              { direct_remote_ip: { address_prefix: "not-an-ip", prefix_len: 8 } },
              { custom: {} },
              { filter_state: { key: "k", address_match: {} } },
            ],
            condition: { const_expr: { bool_value: true } },
          },
          q: { permissions: [], principals: [{ any: true }] },
        },
      },
      matcher: {},
      shadow_rules_stat_prefix: 5,
      bogus: true,
    });
    expect(errorsOf(result)).toEqual([
      "matcher: the RBAC matcher API (xds.type.matcher.v3.Matcher) is not supported by crema's proxy; use rules",
      "rules.action: expected one of ALLOW, DENY, LOG",
      `${P}.condition: CEL conditions are not supported by crema's proxy`,
      `${P}.permissions[0]: one of and_rules, or_rules, any, header, url_path, destination_ip, destination_port, destination_port_range, metadata, not_rule, requested_server_name, matcher, uri_template, sourced_metadata is required`,
      `${P}.permissions[1]: only one of any, destination_port may be set`,
      `${P}.permissions[2].destination_port: expected an integer between 0 and 65535`,
      `${P}.permissions[3].destination_port_range: range start 10 must be less than range end 5`,
      `${P}.permissions[4].url_path.path.safe_regex.regex: invalid RE2 regex "(": missing ): (`,
      `${P}.permissions[5].uri_template.typed_config.path_template: invalid path template "/{*}": {*} is Istio's syntax; an Envoy template writes *`,
      `${P}.permissions[6].header.bogus: unknown field`,
      `${P}.permissions[7].matcher: RBAC matcher extensions (envoy.rbac.matchers) are not supported`,
      `${P}.permissions[8].any: must be true`,
      `${P}.principals[0].direct_remote_ip.address_prefix: "not-an-ip" is not an IP address`,
      `${P}.principals[1].custom: custom principal extensions (envoy.rbac.principals) are not supported`,
      `${P}.principals[2].filter_state.address_match: filter_state address_match is not supported by crema's proxy`,
      'rules.policies["q"].permissions: at least one is required',
      "shadow_rules_stat_prefix: expected a string",
      "bogus: unknown field",
    ]);
  });

  it.each([
    ["shadow_matcher", { shadow_matcher: {} }, "shadow_matcher: the RBAC matcher API"],
    [
      "a policy without principals",
      { rules: { policies: { p: { permissions: [{ any: true }] } } } },
      `${P}.principals: at least one is required`,
    ],
    [
      "checked_condition",
      {
        rules: {
          policies: {
            p: { permissions: [{ any: true }], principals: [{ any: true }], checked_condition: {} },
          },
        },
      },
      `${P}.checked_condition: CEL conditions`,
    ],
    [
      "an empty and_rules",
      {
        rules: {
          policies: {
            p: { permissions: [{ and_rules: { rules: [] } }], principals: [{ any: true }] },
          },
        },
      },
      `${P}.permissions[0].and_rules.rules: at least one is required`,
    ],
    [
      "a port range out of bounds",
      {
        rules: {
          policies: {
            p: {
              permissions: [{ destination_port_range: { start: -1, end: 10 } }],
              principals: [{ any: true }],
            },
          },
        },
      },
      `${P}.permissions[0].destination_port_range.start: range start -1 is out of bounds`,
    ],
    [
      "another path matcher extension",
      {
        rules: {
          policies: {
            p: {
              permissions: [
                {
                  uri_template: {
                    name: "x",
                    typed_config: { "@type": "type.googleapis.com/foo.Bar" },
                  },
                },
              ],
              principals: [{ any: true }],
            },
          },
        },
      },
      `${P}.permissions[0].uri_template.typed_config: unsupported path matcher "foo.Bar"`,
    ],
    [
      "a metadata matcher without a path",
      {
        rules: {
          policies: {
            p: {
              permissions: [{ metadata: { filter: "f", value: { present_match: true } } }],
              principals: [{ any: true }],
            },
          },
        },
      },
      `${P}.permissions[0].metadata.path: at least one path segment is required`,
    ],
    [
      "a non-optional audit logger",
      {
        rules: {
          audit_logging_options: {
            audit_condition: "ON_DENY",
            logger_configs: [{ audit_logger: {} }],
          },
        },
      },
      "rules.audit_logging_options.logger_configs[0]: RBAC audit loggers are not supported",
    ],
    [
      "the wrong @type",
      { "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute" },
      "@type: expected envoy.extensions.filters.http.rbac.v3.RBAC",
    ],
    [
      "a principal with nothing set",
      { rules: { policies: { p: { permissions: [{ any: true }], principals: [{}] } } } },
      `${P}.principals[0]: one of and_ids, or_ids, any, authenticated`,
    ],
  ])("rejects %s", (_, json, error) => {
    const errors = errorsOf(decodeHttpRbac(json));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(error);
  });

  it("accepts proto3 JSON's camelCase names, enum numbers and the whole Any", () => {
    const result = decodeHttpRbac({
      "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
      rules: {
        action: 1,
        policies: {
          p: {
            permissions: [{ andRules: { rules: [{ destinationPort: 8080 }] } }],
            principals: [{ directRemoteIp: { addressPrefix: "10.0.0.0", prefixLen: 8 } }],
          },
        },
      },
      trackPerRuleStats: true,
      rulesStatPrefix: "r.",
    });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ trackPerRuleStats: true, rulesStatPrefix: "r." });
    expect(evaluateRbac(result.value, rbacRequest()).details).toBe(
      "rbac_access_denied_matched_policy[p]",
    );
    releaseRbacConfig(result.value);
  });

  it("accepts optional audit loggers and ignores them", () => {
    const result = decodeHttpRbac({
      rules: {
        audit_logging_options: { logger_configs: [{ audit_logger: {}, is_optional: true }] },
      },
    });
    expect(errorsOf(result)).toEqual([]);
    if (result.ok) releaseRbacConfig(result.value);
  });

  it("holds its regexes until released, and frees them when rejected", () => {
    const regex = { requested_server_name: { safe_regex: { regex: "rbac-lease-[a-z]+" } } };
    const before = liveRegexCount();
    const rejected = decodeHttpRbac({
      rules: { policies: { p: { permissions: [regex], principals: [{}] } } },
    });
    expect(rejected.ok).toBe(false);
    expect(liveRegexCount()).toBe(before);
    const accepted = decodeHttpRbac({
      rules: { policies: { p: { permissions: [regex], principals: [{ any: true }] } } },
    });
    expect(liveRegexCount()).toBe(before + 1);
    if (accepted.ok) releaseRbacConfig(accepted.value);
    expect(liveRegexCount()).toBe(before);
  });
});

describe("decodeRbacPerRoute", () => {
  it("reports errors under rbac", () => {
    expect(errorsOf(decodeRbacPerRoute({ rbac: { rules: { action: "NOPE" } }, extra: 1 }))).toEqual(
      ["extra: unknown field", "rbac.rules.action: expected one of ALLOW, DENY, LOG"],
    );
  });
});

describe("decodeNetworkRbac", () => {
  it("rejects header rules anywhere, as Envoy's network filter does", () => {
    const header = { header: { name: ":path", exact_match: "/" } };
    const result = decodeNetworkRbac({
      stat_prefix: "tcp",
      shadow_rules: {
        policies: {
          h: {
            permissions: [{ and_rules: { rules: [{ not_rule: header }] } }],
            principals: [{ or_ids: { ids: [header] } }],
          },
        },
      },
    });
    expect(errorsOf(result)).toEqual([
      'shadow_rules.policies["h"].permissions[0].and_rules.rules[0].not_rule.header: header rules are not supported by the RBAC network filter (HTTP only)',
      'shadow_rules.policies["h"].principals[0].or_ids.ids[0].header: header rules are not supported by the RBAC network filter (HTTP only)',
    ]);
  });

  it("requires a stat_prefix and checks the network-only fields", () => {
    expect(
      errorsOf(
        decodeNetworkRbac({
          enforcement_type: "SOMETIMES",
          delay_deny: "-1s",
          rules_stat_prefix: "x",
        }),
      ),
    ).toEqual([
      "stat_prefix: must be at least 1 character(s)",
      "enforcement_type: expected one of ONE_TIME_ON_FIRST_BYTE, CONTINUOUS",
      'delay_deny: "-1s" is not a non-negative duration such as "1.5s"',
      "rules_stat_prefix: unknown field",
    ]);
  });
});
