import { describe, expect, it } from "vitest";
import { decodeJwtAuthn } from "./decode-jwt-authn.ts";
import { parseJwks } from "./jwks.ts";
import { decodeBase64Url, parseJwt } from "./jwt-parse.ts";
import { cookies, queryParams, removeQueryParam, TokenExtractor } from "./token-extractor.ts";

const JWKS = '{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"k"}]}';

function config(provider: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    providers: { p: { issuer: "i", local_jwks: { inline_string: JWKS }, ...provider } },
    rules: [{ match: { prefix: "/" }, requires: { provider_name: "p" } }],
    ...extra,
  };
}

function errorsOf(json: unknown, options = {}): string[] {
  const decoded = decodeJwtAuthn(json, options, "typed_config");
  return decoded.ok ? [] : decoded.errors;
}

describe("decodeJwtAuthn", () => {
  it("accepts istiod's output and keeps what the verifier needs", () => {
    const decoded = decodeJwtAuthn(
      config({
        audiences: ["a"],
        from_headers: [{ name: "X-Token", value_prefix: "T " }],
        claim_to_headers: [{ header_name: "X-Sub", claim_name: "sub" }],
        payload_in_metadata: "payload",
        normalize_payload_in_metadata: { space_delimited_claims: ["scope"] },
        clear_route_cache: true,
        jwt_cache_config: { jwt_cache_size: 10 },
      }),
    );
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const p = decoded.config.providers.get("p");
    expect(p?.fromHeaders).toEqual([{ name: "x-token", valuePrefix: "T " }]);
    expect(p?.claimToHeaders).toEqual([{ headerName: "x-sub", claimName: "sub" }]);
    expect(p?.jwks.kind).toBe("local");
    expect(decoded.config.rules[0]?.requirement).toEqual({ type: "provider", provider: "p" });
  });

  it("NACKs what it cannot honour, with every reason and its field path", () => {
    const errors = errorsOf(
      config(
        {
          subjects: { exact: "alice" },
          require_expiration: true,
          local_jwks: { filename: "/etc/keys.json" },
        },
        {
          rules: [
            { match: { safe_regex: { regex: ".*" } }, requires: { provider_name: "nope" } },
            {
              match: { prefix: "/" },
              requires: { requires_any: { requirements: [{ allow_missing: {} }] } },
            },
          ],
          filter_state_rules: { name: "x" },
          surprise: 1,
        },
      ),
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        expect.stringContaining('typed_config.providers["p"].subjects: subject matching'),
        expect.stringContaining('providers["p"].require_expiration'),
        expect.stringContaining('providers["p"].local_jwks.filename: reading key files'),
        expect.stringContaining("typed_config.rules[0].match.safe_regex"),
        expect.stringContaining("Required provider ['nope'] is not configured."),
        expect.stringContaining("rules[1].requires.requires_any.requirements: needs at least 2"),
        expect.stringContaining("filter_state_rules"),
        "typed_config.surprise: unknown field",
      ]),
    );
  });

  it("NACKs remote_jwks unless the host can fetch keys", () => {
    const remote = {
      issuer: "i",
      remote_jwks: { http_uri: { uri: "https://i/keys", cluster: "c", timeout: "5s" } },
    };
    const json = { providers: { p: remote }, rules: [] };
    expect(errorsOf(json)).toEqual([
      'typed_config.providers["p"].remote_jwks: fetching keys from the proxy is not supported here (istiod inlines fetched keys as local_jwks)',
    ]);
    expect(errorsOf(json, { remoteJwks: true })).toEqual([]);
  });

  it("accepts an unusable local key set with a warning (its tokens are all rejected)", () => {
    const decoded = decodeJwtAuthn(config({ local_jwks: { inline_string: "{}" } }));
    expect(decoded.ok && decoded.warnings).toEqual([
      'providers["p"].local_jwks: the key set is unusable (Jwks does not have [keys] field); every token for this provider will be rejected',
    ]);
  });

  it("resolves requirement_name through requirement_map", () => {
    const ok = decodeJwtAuthn(
      config(
        {},
        {
          requirement_map: { r: { provider_name: "p" } },
          rules: [{ match: { prefix: "/" }, requirement_name: "r" }],
        },
      ),
    );
    expect(ok.ok && ok.config.rules[0]?.requirement).toEqual({ type: "provider", provider: "p" });
    expect(
      errorsOf(config({}, { rules: [{ match: { prefix: "/" }, requirement_name: "x" }] })),
    ).toEqual([
      "typed_config.rules[0].requirement_name: Wrong requirement_name: x. It should be one of []",
    ]);
  });
});

describe("parseJwks", () => {
  it("keeps valid keys and skips broken ones", () => {
    const jwks = parseJwks(
      JSON.stringify({
        keys: [
          { kty: "RSA", alg: "ES256", n: "AQAB", e: "AQAB" },
          { kty: "EC", crv: "P-256", x: "AA", y: "AA", kid: "ec" },
          { kty: "PGP" },
        ],
      }),
    );
    expect(jwks.status).toBe("Ok");
    expect(jwks.keys.map((k) => k.kid)).toEqual(["ec"]);
  });

  it("reports the first problem when no key is usable", () => {
    expect(parseJwks("nope").status).toBe("JwksParseError");
    expect(parseJwks('{"keys":{}}').status).toBe("JwksBadKeys");
    expect(parseJwks('{"keys":[{"kty":"RSA","e":"AQAB"}]}').status).toBe("JwksRSAKeyMissingN");
    expect(parseJwks('{"keys":[]}').status).toBe("JwksNoValidKeys");
  });
});

describe("parseJwt", () => {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const jwt = (header: unknown, payload: unknown) => `${part(header)}.${part(payload)}.c2ln`;

  it.each([
    [jwt({ alg: 7 }, {}), "JwtHeaderBadAlg"],
    [jwt({ alg: "RS256", kid: 1 }, {}), "JwtHeaderBadKid"],
    [jwt({ alg: "RS256" }, { iss: 1 }), "JwtPayloadParseErrorIssNotString"],
    [jwt({ alg: "RS256" }, { exp: "soon" }), "JwtPayloadParseErrorExpNotInteger"],
    [jwt({ alg: "RS256" }, { nbf: -1 }), "JwtPayloadParseErrorNbfOutOfRange"],
    [jwt({ alg: "RS256" }, { aud: [1] }), "JwtPayloadParseErrorAudNotString"],
    [`${part({ alg: "RS256" })}.bm90IGpzb24.c2ln`, "JwtPayloadParseErrorBadJson"],
    [`${part({ alg: "RS256" })}.${part({})}.***`, "JwtSignatureParseErrorBadBase64"],
    ["a..b", "JwtBadFormat"],
  ])("%s → %s", (token, status) => {
    const parsed = parseJwt(token);
    expect(parsed.ok ? "Ok" : parsed.status).toBe(status);
  });

  it("decodes base64url strictly, padding optional", () => {
    expect([...(decodeBase64Url("YQ") ?? [])]).toEqual([97]);
    expect([...(decodeBase64Url("YQ==") ?? [])]).toEqual([97]);
    expect(decodeBase64Url("Y")).toBeUndefined();
    expect(decodeBase64Url("Y+Q")).toBeUndefined();
  });
});

describe("token extraction", () => {
  const provider = (fields: Record<string, unknown>) => {
    const decoded = decodeJwtAuthn(config(fields));
    if (!decoded.ok) throw new Error(decoded.errors.join());
    return decoded.config.providers.get("p")!;
  };

  it("reads Authorization: Bearer and access_token by default", () => {
    const extractor = new TokenExtractor([provider({})]);
    const tokens = extractor.extract({ authorization: "Bearer   a.b.c" }, "/x?access_token=d.e.f");
    expect(tokens.map((t) => [t.token, t.source.kind])).toEqual([
      ["a.b.c", "header"],
      ["d.e.f", "param"],
    ]);
    expect(tokens[0]?.issuers).toEqual(new Set(["i"]));
  });

  it("reads every value of a header, skips values without the prefix", () => {
    const extractor = new TokenExtractor([
      provider({ from_headers: [{ name: "x-t", value_prefix: "T " }] }),
    ]);
    const tokens = extractor.extract({ "x-t": ["T one", "other", "x T two"] }, "/");
    expect(tokens.map((t) => t.token)).toEqual(["one", "two"]);
  });

  it("parses queries and cookies as Envoy does", () => {
    expect(queryParams("/p?a=1&a=2&b=%41&c")).toEqual(
      new Map([
        ["a", "1"],
        ["b", "A"],
        ["c", ""],
      ]),
    );
    expect(cookies({ cookie: ['x=1; y="2"', "x=3"] })).toEqual(
      new Map([
        ["x", "1"],
        ["y", "2"],
      ]),
    );
    expect(removeQueryParam("/p?t=1&a=2#f", "t")).toBe("/p?a=2#f");
    expect(removeQueryParam("/p?t=1", "t")).toBe("/p");
  });
});
