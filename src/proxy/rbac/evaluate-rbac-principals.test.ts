// Every principal kind, one row each (with permission `any`), and how policies combine them.
import { describe, expect, it } from "vitest";
import { releaseRbacConfig } from "./decode-rbac.ts";
import { evaluateRbac } from "./evaluate-rbac.ts";
import {
  type RbacCase as Case,
  PEER_CERT as CERT,
  cidr,
  compileHttpRbac,
  headerRule as header,
  JWT_METADATA as JWT,
  metadataRule as meta,
  principalName as name,
  rbacRequest,
  runCase,
  SPIFFE,
} from "./testing.ts";

const PRINCIPALS: Case[] = [
  { name: "any", principal: { any: true }, match: true },
  { name: "direct_remote_ip", principal: { direct_remote_ip: cidr("10.0.0.0", 24) }, match: true },
  {
    name: "source_ip is the direct peer",
    principal: { source_ip: cidr("10.0.0.2", 32) },
    match: true,
  },
  {
    name: "remote_ip uses the computed client address",
    principal: { remote_ip: cidr("203.0.113.0", 24) },
    request: { remoteIp: "203.0.113.7" },
    match: true,
  },
  {
    name: "remote_ip defaults to the peer",
    principal: { remote_ip: cidr("10.0.0.2", 32) },
    match: true,
  },
  {
    name: "direct_remote_ip ignores the computed client address",
    principal: { direct_remote_ip: cidr("203.0.113.0", 24) },
    request: { remoteIp: "203.0.113.7" },
    match: false,
  },
  {
    name: "direct_remote_ip v6",
    principal: { direct_remote_ip: cidr("::1", 128) },
    request: { directRemoteIp: "::1" },
    match: true,
  },
  {
    name: "direct_remote_ip IPv4-mapped peer",
    principal: { direct_remote_ip: cidr("10.0.0.0", 8) },
    request: { directRemoteIp: "::ffff:10.0.0.2" },
    match: true,
  },
  { name: "authenticated on plaintext", principal: { authenticated: {} }, match: false },
  {
    name: "authenticated without principal_name: any TLS peer",
    principal: { authenticated: {} },
    request: { tls: {} },
    match: true,
  },
  {
    name: "authenticated principal_name on plaintext",
    principal: name({ exact: SPIFFE }),
    match: false,
  },
  {
    name: "principal_name exact URI SAN",
    principal: name({ exact: SPIFFE }),
    request: { tls: CERT },
    match: true,
  },
  {
    name: "principal_name prefix",
    principal: name({ prefix: "spiffe://cluster.local/ns/default/" }),
    request: { tls: CERT },
    match: true,
  },
  {
    name: "principal_name suffix",
    principal: name({ suffix: "/sa/admin" }),
    request: { tls: CERT },
    match: true,
  },
  {
    name: "principal_name safe_regex",
    principal: name({ safe_regex: { regex: "spiffe://cluster\\.local/ns/[^/]+/sa/admin" } }),
    request: { tls: CERT },
    match: true,
  },
  {
    name: "principal_name falls back to the DNS SAN",
    principal: name({ exact: "admin.default.svc" }),
    request: { tls: CERT },
    match: true,
  },
  {
    name: "principal_name falls back to the subject",
    principal: name({ exact: "CN=admin,O=acme" }),
    request: { tls: CERT },
    match: true,
  },
  {
    name: "principal_name any of several URI SANs",
    principal: name({ exact: SPIFFE }),
    request: { tls: { uriSans: ["spiffe://other/sa/x", SPIFFE] } },
    match: true,
  },
  {
    name: "principal_name mismatch",
    principal: name({ exact: "spiffe://cluster.local/ns/default/sa/other" }),
    request: { tls: CERT },
    match: false,
  },
  {
    name: "principal header",
    principal: header("x-user", { string_match: { exact: "alice" } }),
    http: { headers: { "x-user": "alice" } },
    match: true,
  },
  {
    name: "principal url_path",
    principal: { url_path: { path: { prefix: "/public/" } } },
    http: { path: "/public/a?b" },
    match: true,
  },
  {
    name: "principal metadata",
    principal: meta(["payload", "iss"], { string_match: { exact: "acme" } }),
    request: { dynamicMetadata: JWT },
    match: true,
  },
  {
    name: "principal filter_state",
    principal: { filter_state: { key: "io.istio.peer", string_match: { prefix: "ns/" } } },
    request: { filterState: { "io.istio.peer": "ns/default" } },
    match: true,
  },
  {
    name: "principal filter_state missing",
    principal: { filter_state: { key: "io.istio.peer", string_match: { prefix: "ns/" } } },
    match: false,
  },
  {
    name: "and_ids",
    principal: { and_ids: { ids: [{ any: true }, name({ exact: SPIFFE })] } },
    request: { tls: CERT },
    match: true,
  },
  {
    name: "and_ids one fails",
    principal: { and_ids: { ids: [{ any: true }, name({ exact: SPIFFE })] } },
    match: false,
  },
  {
    name: "or_ids",
    principal: {
      or_ids: { ids: [name({ exact: SPIFFE }), { direct_remote_ip: cidr("10.0.0.0", 8) }] },
    },
    match: true,
  },
  { name: "not_id", principal: { not_id: { authenticated: {} } }, match: true },
];

describe("RBAC principals", () => {
  it.each(PRINCIPALS)("$name → $match", (c) => {
    expect(runCase(c)).toBe(c.match);
  });
});

describe("RBAC policies", () => {
  it("needs a matching permission AND a matching principal in the same policy", () => {
    const config = compileHttpRbac({
      rules: {
        policies: {
          ports: {
            permissions: [{ destination_port: 8080 }],
            principals: [name({ exact: SPIFFE })],
          },
          peers: { permissions: [{ destination_port: 1 }], principals: [{ any: true }] },
        },
      },
    });
    expect(evaluateRbac(config, rbacRequest()).allowed).toBe(false);
    expect(evaluateRbac(config, rbacRequest({ tls: CERT })).matchedPolicy).toBe("ports");
    releaseRbacConfig(config);
  });

  it("ORs the permissions and the principals of a policy", () => {
    const config = compileHttpRbac({
      rules: {
        policies: {
          p: {
            permissions: [{ destination_port: 1 }, { destination_port: 8080 }],
            principals: [name({ exact: SPIFFE }), { any: true }],
          },
        },
      },
    });
    expect(evaluateRbac(config, rbacRequest()).allowed).toBe(true);
    releaseRbacConfig(config);
  });
});
