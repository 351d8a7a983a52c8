// Every permission kind, one row each: an ALLOW filter with a single policy made of the row's
// permission (and principal `any`) must allow exactly the rows marked `match`.
import { describe, expect, it } from "vitest";
import {
  type RbacCase as Case,
  cidr,
  headerRule as header,
  JWT_METADATA as JWT,
  metadataRule as meta,
  runCase,
  uriTemplateRule as template,
} from "./testing.ts";

const PERMISSIONS: Case[] = [
  { name: "any", permission: { any: true }, match: true },
  { name: "destination_port equal", permission: { destination_port: 8080 }, match: true },
  { name: "destination_port other", permission: { destination_port: 9090 }, match: false },
  {
    name: "destination_port_range contains",
    permission: { destination_port_range: { start: 8000, end: 8081 } },
    match: true,
  },
  {
    name: "destination_port_range end is exclusive",
    permission: { destination_port_range: { start: 8000, end: 8080 } },
    match: false,
  },
  {
    name: "destination_port_range above",
    permission: { destination_port_range: { start: 8081, end: 9000 } },
    match: false,
  },
  {
    name: "destination_ip v4 /8",
    permission: { destination_ip: cidr("10.0.0.0", 8) },
    match: true,
  },
  {
    name: "destination_ip v4 other range",
    permission: { destination_ip: cidr("192.168.0.0", 16) },
    match: false,
  },
  {
    name: "destination_ip without prefix_len is /0",
    permission: { destination_ip: cidr("192.168.1.1") },
    match: true,
  },
  {
    name: "destination_ip prefix_len above 32 is clamped",
    permission: { destination_ip: cidr("10.0.0.1", 99) },
    match: true,
  },
  {
    name: "destination_ip v6",
    permission: { destination_ip: cidr("2001:db8::", 32) },
    request: { destinationIp: "2001:db8::5" },
    match: true,
  },
  {
    name: "destination_ip v4 range never matches a v6 address",
    permission: { destination_ip: cidr("0.0.0.0", 0) },
    request: { destinationIp: "2001:db8::5" },
    match: false,
  },
  {
    name: "requested_server_name exact",
    permission: { requested_server_name: { exact: "www.cncf.io" } },
    request: { requestedServerName: "www.cncf.io" },
    match: true,
  },
  {
    name: "requested_server_name without SNI",
    permission: { requested_server_name: { exact: "www.cncf.io" } },
    match: false,
  },
  {
    name: "requested_server_name suffix",
    permission: { requested_server_name: { suffix: ".cncf.io" } },
    request: { requestedServerName: "www.cncf.io" },
    match: true,
  },
  {
    name: "requested_server_name safe_regex",
    permission: { requested_server_name: { safe_regex: { regex: ".*cncf.io" } } },
    request: { requestedServerName: "xyz.cncf.io" },
    match: true,
  },
  {
    name: "url_path exact ignores the query",
    permission: { url_path: { path: { exact: "/api" } } },
    http: { path: "/api?x=1" },
    match: true,
  },
  {
    name: "url_path suffix ignores the fragment and query",
    permission: { url_path: { path: { suffix: "suffix" } } },
    http: { path: "/suffix#seg?param=value" },
    match: true,
  },
  {
    name: "url_path exact is not a prefix",
    permission: { url_path: { path: { exact: "/api" } } },
    http: { path: "/api/" },
    match: false,
  },
  {
    name: "url_path ignore_case",
    permission: { url_path: { path: { exact: "/API/Items", ignore_case: true } } },
    http: { path: "/api/items" },
    match: true,
  },
  {
    name: "url_path safe_regex",
    permission: { url_path: { path: { safe_regex: { regex: "/v[0-9]+/.*" } } } },
    http: { path: "/v2/users" },
    match: true,
  },
  { name: "header :method", permission: header(":method", { exact_match: "GET" }), match: true },
  {
    name: "header :method other",
    permission: header(":method", { string_match: { exact: "POST" } }),
    match: false,
  },
  {
    name: "header :path includes the query",
    permission: header(":path", { string_match: { exact: "/api?x=1" } }),
    http: { path: "/api?x=1" },
    match: true,
  },
  {
    name: "header :authority prefix",
    permission: header(":authority", { string_match: { prefix: "example." } }),
    match: true,
  },
  {
    name: "header missing never matches a value matcher",
    permission: header("x-a", { string_match: { exact: "" } }),
    match: false,
  },
  {
    name: "header missing matches present_match false",
    permission: header("x-a", { present_match: false }),
    match: true,
  },
  {
    name: "header present matches present_match true",
    permission: header("x-a", { present_match: true }),
    http: { headers: { "x-a": "1" } },
    match: true,
  },
  {
    name: "header invert_match of a mismatch",
    permission: header("x-a", { string_match: { exact: "no" }, invert_match: true }),
    http: { headers: { "x-a": "yes" } },
    match: true,
  },
  {
    name: "header invert_match does not match a missing header",
    permission: header("x-a", { string_match: { exact: "no" }, invert_match: true }),
    match: false,
  },
  {
    name: "header treat_missing_header_as_empty",
    permission: header("x-a", { string_match: { exact: "" }, treat_missing_header_as_empty: true }),
    match: true,
  },
  {
    name: "header values joined with a comma",
    permission: header("x-a", { string_match: { exact: "a,b" } }),
    http: { headers: { "x-a": ["a", "b"] } },
    match: true,
  },
  {
    name: "header joined values are not one value",
    permission: header("x-a", { string_match: { exact: "a" } }),
    http: { headers: { "x-a": ["a", "b"] } },
    match: false,
  },
  {
    name: "header range_match inside",
    permission: header("x-n", { range_match: { start: 1, end: 10 } }),
    http: { headers: { "x-n": "5" } },
    match: true,
  },
  {
    name: "header range_match end is exclusive",
    permission: header("x-n", { range_match: { start: 1, end: 10 } }),
    http: { headers: { "x-n": "10" } },
    match: false,
  },
  {
    name: "header safe_regex_match",
    permission: header("user-agent", { safe_regex_match: { regex: "curl/.*" } }),
    http: { headers: { "user-agent": "curl/8.1" } },
    match: true,
  },
  {
    name: "uri_template *",
    permission: template("/api/*/items"),
    http: { path: "/api/v1/items" },
    match: true,
  },
  {
    name: "uri_template * is one segment",
    permission: template("/api/*/items"),
    http: { path: "/api/v1/v2/items" },
    match: false,
  },
  {
    name: "uri_template **",
    permission: template("/api/**"),
    http: { path: "/api/a/b/c" },
    match: true,
  },
  {
    name: "uri_template variable, query ignored",
    permission: template("/users/{id}"),
    http: { path: "/users/42?full=1" },
    match: true,
  },
  {
    name: "uri_template variable with ** and a suffix",
    permission: template("/videos/{file=**}.m3u8"),
    http: { path: "/videos/a/b.m3u8" },
    match: true,
  },
  {
    name: "uri_template suffix mismatch",
    permission: template("/*.m3u8"),
    http: { path: "/x.mp4" },
    match: false,
  },
  {
    name: "metadata string on a nested path",
    permission: meta(["payload", "iss"], { string_match: { exact: "acme" } }),
    request: { dynamicMetadata: JWT },
    match: true,
  },
  {
    name: "metadata missing value",
    permission: meta(["payload", "sub"], { string_match: { exact: "acme" } }),
    request: { dynamicMetadata: JWT },
    match: false,
  },
  {
    name: "metadata list_match one_of",
    permission: meta(["payload", "groups"], {
      list_match: { one_of: { string_match: { exact: "admin" } } },
    }),
    request: { dynamicMetadata: JWT },
    match: true,
  },
  {
    name: "metadata list_match without the value",
    permission: meta(["payload", "groups"], {
      list_match: { one_of: { string_match: { exact: "root" } } },
    }),
    request: { dynamicMetadata: JWT },
    match: false,
  },
  {
    name: "metadata bool_match",
    permission: meta(["payload", "admin"], { bool_match: true }),
    request: { dynamicMetadata: JWT },
    match: true,
  },
  {
    name: "metadata inverted present_match on a missing value",
    permission: meta(["payload", "sub"], { present_match: true }, { invert: true }),
    match: true,
  },
  {
    name: "sourced_metadata from the route",
    permission: {
      sourced_metadata: {
        metadata_matcher: meta(["payload", "iss"], { string_match: { exact: "acme" } }).metadata,
        metadata_source: "ROUTE",
      },
    },
    request: { routeMetadata: JWT },
    match: true,
  },
  {
    name: "sourced_metadata from the route without one",
    permission: {
      sourced_metadata: {
        metadata_matcher: meta(["payload", "sub"], { present_match: true }, { invert: true })
          .metadata,
        metadata_source: "ROUTE",
      },
    },
    match: false,
  },
  {
    name: "and_rules all match",
    permission: {
      and_rules: { rules: [{ destination_port: 8080 }, header(":method", { exact_match: "GET" })] },
    },
    match: true,
  },
  {
    name: "and_rules one fails",
    permission: { and_rules: { rules: [{ destination_port: 8080 }, { destination_port: 1 }] } },
    match: false,
  },
  {
    name: "or_rules one matches",
    permission: { or_rules: { rules: [{ destination_port: 1 }, { destination_port: 8080 }] } },
    match: true,
  },
  {
    name: "not_rule of a mismatch",
    permission: { not_rule: { destination_port: 9090 } },
    match: true,
  },
  {
    name: "nested and / or / not",
    permission: {
      and_rules: {
        rules: [
          { or_rules: { rules: [{ destination_port: 1 }, { destination_port: 8080 }] } },
          { not_rule: header("x-deny", { present_match: true }) },
        ],
      },
    },
    match: true,
  },
  {
    name: "nested not of an and",
    permission: { not_rule: { and_rules: { rules: [{ any: true }, { destination_port: 8080 }] } } },
    match: false,
  },
];

describe("RBAC permissions", () => {
  it.each(PERMISSIONS)("$name → $match", (c) => {
    expect(runCase(c)).toBe(c.match);
  });
});
