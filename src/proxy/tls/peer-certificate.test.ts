// The peer identity crema reads from a certificate (SANs as node prints them, the RFC 2253
// subject) and Envoy's SAN matching, on certificates minted by crema's CA.
import { X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import {
  parseSubjectAltNames,
  rfc2253Subject,
  type SubjectAltNames,
  sanMatcherAccepts,
} from "./peer-certificate.ts";
import { createTestCa, type TestCa } from "./testing.ts";
import type { SanMatcher } from "./tls-context.ts";

describe("parseSubjectAltNames", () => {
  it("splits node's text into URI, DNS, email and IP SANs", () => {
    expect(
      parseSubjectAltNames(
        "URI:spiffe://cluster.local/ns/a/sa/b, DNS:foo.example, IP Address:10.0.0.1, email:x@y.z",
      ),
    ).toEqual({
      uri: ["spiffe://cluster.local/ns/a/sa/b"],
      dns: ["foo.example"],
      email: ["x@y.z"],
      ip: ["10.0.0.1"],
    });
  });

  it("reads JSON-quoted values that contain the separator", () => {
    expect(parseSubjectAltNames('URI:"http://a/b, c", DNS:d.example').uri).toEqual([
      "http://a/b, c",
    ]);
    expect(parseSubjectAltNames(undefined)).toEqual({ uri: [], dns: [], email: [], ip: [] });
  });
});

describe("certificates from crema's CA", () => {
  let ca: TestCa;
  beforeAll(async () => {
    ca = await createTestCa();
  });

  it("has the workload's SPIFFE URI and an empty subject", async () => {
    const leaf = await ca.issue({
      uris: ["spiffe://cluster.local/ns/shop/sa/orders"],
      dnsNames: ["orders.shop.svc"],
    });
    const cert = new X509Certificate(leaf.certificateChainPem);
    expect(parseSubjectAltNames(cert.subjectAltName)).toMatchObject({
      uri: ["spiffe://cluster.local/ns/shop/sa/orders"],
      dns: ["orders.shop.svc"],
    });
    expect(rfc2253Subject(cert)).toBe("");
    // The root: its subject is the trust domain as the organisation.
    expect(rfc2253Subject(new X509Certificate(ca.rootsPem))).toBe("O=cluster.local");
  });
});

describe("sanMatcherAccepts", () => {
  const sans: SubjectAltNames = {
    uri: ["spiffe://cluster.local/ns/shop/sa/orders"],
    dns: ["*.shop.example"],
    email: [],
    ip: ["10.0.0.1"],
  };
  const m = (m: Partial<SanMatcher>): SanMatcher => ({
    sanType: "ANY",
    kind: "exact",
    value: "",
    ignoreCase: false,
    ...m,
  });

  it("matches the SAN type it names, with each StringMatcher kind", () => {
    const uri = "spiffe://cluster.local/ns/shop/sa/orders";
    expect(sanMatcherAccepts(m({ sanType: "URI", value: uri }), sans)).toBe(true);
    expect(sanMatcherAccepts(m({ sanType: "DNS", value: uri }), sans)).toBe(false);
    expect(
      sanMatcherAccepts(
        m({ sanType: "URI", kind: "prefix", value: "spiffe://cluster.local/" }),
        sans,
      ),
    ).toBe(true);
    expect(
      sanMatcherAccepts(
        m({ sanType: "URI", kind: "suffix", value: "/SA/ORDERS", ignoreCase: true }),
        sans,
      ),
    ).toBe(true);
    expect(
      sanMatcherAccepts(
        m({ sanType: "URI", kind: "regex", value: "spiffe://[^/]+/ns/shop/sa/.*" }),
        sans,
      ),
    ).toBe(true);
    expect(sanMatcherAccepts(m({ sanType: "URI", kind: "regex", value: "ns/shop" }), sans)).toBe(
      false,
    );
    expect(sanMatcherAccepts(m({ sanType: "IP_ADDRESS", value: "10.0.0.1" }), sans)).toBe(true);
  });

  it("matches an exact DNS name against a wildcard SAN, one label deep", () => {
    expect(sanMatcherAccepts(m({ sanType: "DNS", value: "api.shop.example" }), sans)).toBe(true);
    expect(sanMatcherAccepts(m({ value: "a.b.shop.example" }), sans)).toBe(false);
    expect(sanMatcherAccepts(m({ kind: "prefix", value: "api." }), sans)).toBe(false);
  });
});
