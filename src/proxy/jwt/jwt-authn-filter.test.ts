// The jwt_authn filter against real tokens signed here with jose (RS256, ES256), key sets inline,
// configured as istiod writes the filter: one provider per jwtRule, {provider OR allow_missing}.
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { MutableHeaders } from "../routing/types.ts";
import { decodeJwtAuthn } from "./decode-jwt-authn.ts";
import { JwtAuthnFilter, type JwtAuthnOutcome, type JwtRequest } from "./jwt-authn-filter.ts";

const NOW_MS = 1_750_000_000_000;
const NOW = NOW_MS / 1000;
const SHOP = "https://auth.coffee.example";
const PARTNER = "https://partner.example";
const LOYALTY = "https://loyalty.example";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: KeyPair;
let otherRsa: KeyPair;
let ec: KeyPair;
let shopJwks: string;
let partnerJwks: string;
let rsaSpki: string;

beforeAll(async () => {
  rsa = await generateKeyPair("RS256", { extractable: true });
  otherRsa = await generateKeyPair("RS256", { extractable: true });
  ec = await generateKeyPair("ES256", { extractable: true });
  shopJwks = JSON.stringify({
    keys: [{ ...(await exportJWK(rsa.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" }],
  });
  partnerJwks = JSON.stringify({
    keys: [{ ...(await exportJWK(ec.publicKey)), kid: "ec-1", alg: "ES256" }],
  });
  rsaSpki = await exportSPKI(rsa.publicKey);
});

interface Sign {
  iss?: string;
  claims?: JWTPayload;
  alg?: "RS256" | "ES256" | "HS256";
  kid?: string;
  key?: "rsa" | "other-rsa" | "ec" | "rsa-public-as-secret";
}

async function token(options: Sign = {}): Promise<string> {
  const alg = options.alg ?? "RS256";
  const key =
    options.key === "other-rsa"
      ? otherRsa.privateKey
      : options.key === "ec" || alg === "ES256"
        ? ec.privateKey
        : options.key === "rsa-public-as-secret"
          ? new TextEncoder().encode(rsaSpki)
          : rsa.privateKey;
  return new SignJWT({
    iss: options.iss ?? SHOP,
    sub: "alice",
    aud: "orders",
    iat: NOW - 10,
    exp: NOW + 3600,
    ...options.claims,
  })
    .setProtectedHeader({ alg, kid: options.kid ?? (alg === "ES256" ? "ec-1" : "rsa-1") })
    .sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Providers as istiod writes them; `overrides` patch origins-0 (the shop). */
function istioConfig(shop: Record<string, unknown> = {}, requirement?: unknown) {
  const provider = (fields: Record<string, unknown>) => ({
    payload_in_metadata: "payload",
    normalize_payload_in_metadata: { space_delimited_claims: ["permission", "scope"] },
    ...fields,
  });
  const names = ["origins-0", "origins-1", "origins-2"];
  return {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
    providers: {
      "origins-0": provider({
        issuer: SHOP,
        audiences: ["orders"],
        local_jwks: { inline_string: shopJwks },
        ...shop,
      }),
      "origins-1": provider({
        issuer: PARTNER,
        local_jwks: { inline_string: partnerJwks },
        from_headers: [{ name: "X-Partner-Token", value_prefix: "Partner " }],
        from_params: ["partner_token"],
        from_cookies: ["partner"],
        forward: true,
        forward_payload_header: "x-jwt-payload",
        claim_to_headers: [
          { header_name: "x-jwt-sub", claim_name: "sub" },
          { header_name: "x-jwt-tier", claim_name: "customer.tier" },
          { header_name: "x-jwt-visits", claim_name: "customer.visits" },
          { header_name: "x-jwt-vip", claim_name: "customer.vip" },
          { header_name: "x-jwt-drinks", claim_name: "drinks" },
        ],
      }),
      "origins-2": provider({ issuer: LOYALTY, local_jwks: { inline_string: partnerJwks } }),
    },
    rules: [
      {
        match: { prefix: "/" },
        requires: requirement ?? {
          requires_any: {
            requirements: [
              ...names.map((provider_name) => ({ provider_name })),
              {
                requires_all: {
                  requirements: names.map((provider_name) => ({
                    requires_any: { requirements: [{ provider_name }, { allow_missing: {} }] },
                  })),
                },
              },
            ],
          },
        },
      },
    ],
    bypass_cors_preflight: true,
  };
}

function filterFor(json: unknown): JwtAuthnFilter {
  const decoded = decodeJwtAuthn(json);
  if (!decoded.ok) throw new Error(decoded.errors.join("\n"));
  return new JwtAuthnFilter(decoded.config, { now: () => NOW_MS });
}

function request(headers: MutableHeaders = {}, path = "/orders", method = "GET"): JwtRequest {
  return { method, authority: "orders.shop", path, scheme: "http", headers };
}

const bearer = async (sign: Sign = {}) => ({ authorization: `Bearer ${await token(sign)}` });

interface Case {
  name: string;
  config?: () => unknown;
  request: () => Promise<JwtRequest>;
  /** 200 for allowed, else the local reply status. */
  status: 200 | 401 | 403;
  body?: string;
  check?: (outcome: JwtAuthnOutcome) => void;
}

const allowed = (o: JwtAuthnOutcome) => {
  if (!o.allowed) throw new Error(`denied: ${o.reply.body}`);
  return o;
};

const CASES: Case[] = [
  {
    name: "a valid RS256 token in Authorization: Bearer",
    request: async () => request(await bearer()),
    status: 200,
    check: (o) => {
      const ok = allowed(o);
      expect(ok.requestPrincipal).toBe(`${SHOP}/alice`);
      expect((ok.metadata?.payload as JWTPayload | undefined)?.sub).toBe("alice");
      // forward is false: the token does not reach the application.
      expect(ok.headers.authorization).toBeUndefined();
    },
  },
  {
    name: "forwardOriginalToken keeps the Authorization header",
    config: () => istioConfig({ forward: true }),
    request: async () => request(await bearer()),
    status: 200,
    check: (o) => expect(allowed(o).headers.authorization).toMatch(/^Bearer ey/),
  },
  {
    name: "an expired token",
    request: async () => request(await bearer({ claims: { exp: NOW - 120 } })),
    status: 401,
    body: "Jwt is expired",
    check: (o) => {
      if (o.allowed) throw new Error("allowed");
      expect(o.reply.headers["www-authenticate"]).toBe(
        'Bearer realm="http://orders.shop/orders", error="invalid_token"',
      );
      expect(o.reply.details).toBe("jwt_authn_access_denied{Jwt_is_expired}");
    },
  },
  {
    name: "a token expired less than the 60 s clock skew ago",
    request: async () => request(await bearer({ claims: { exp: NOW - 30 } })),
    status: 200,
  },
  {
    name: "a token not valid before a time beyond the skew",
    request: async () => request(await bearer({ claims: { nbf: NOW + 120 } })),
    status: 401,
    body: "Jwt not yet valid",
  },
  {
    name: "a token from an issuer no rule names",
    request: async () => request(await bearer({ iss: "https://evil.example" })),
    status: 401,
    body: "Jwt issuer is not configured",
  },
  {
    name: "a bad signature (another key, same kid)",
    request: async () => request(await bearer({ key: "other-rsa" })),
    status: 401,
    body: "Jwt verification fails",
  },
  {
    name: "alg none, unsigned (empty signature section)",
    request: async () =>
      request({ authorization: `Bearer ${b64({ alg: "none" })}.${b64({ iss: SHOP, sub: "x" })}.` }),
    status: 401,
    body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
  },
  {
    name: "alg none with a signature section",
    request: async () =>
      request({
        authorization: `Bearer ${b64({ alg: "none" })}.${b64({ iss: SHOP, sub: "x" })}.c2ln`,
      }),
    status: 401,
    body: "Jwt header [alg] is not supported",
  },
  {
    name: "HS256 signed with the RSA public key as the HMAC secret (key alg RS256)",
    request: async () => request(await bearer({ alg: "HS256", key: "rsa-public-as-secret" })),
    status: 401,
    body: "Jwks doesn't have key to match kid or alg from Jwt",
  },
  {
    name: "HS256 with the public key as secret against a key without alg",
    config: () =>
      istioConfig({
        local_jwks: {
          inline_string: JSON.stringify({
            keys: (JSON.parse(shopJwks) as { keys: Record<string, unknown>[] }).keys.map(
              ({ alg: _alg, ...key }) => key,
            ),
          }),
        },
      }),
    request: async () => request(await bearer({ alg: "HS256", key: "rsa-public-as-secret" })),
    status: 401,
    body: "Jwt verification fails",
  },
  {
    name: "an unknown kid",
    request: async () => request(await bearer({ kid: "rotated-away" })),
    status: 401,
    body: "Jwks doesn't have key to match kid or alg from Jwt",
  },
  {
    name: "a malformed token",
    request: async () => request({ authorization: "Bearer not-a-jwt" }),
    status: 401,
    body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
  },
  {
    name: "a header that is not base64url",
    request: async () => request({ authorization: "Bearer e30!.e30.c2ln" }),
    status: 401,
    body: "Jwt header is an invalid Base64url encoded",
  },
  {
    name: "a wrong audience is 403",
    request: async () => request(await bearer({ claims: { aud: ["payments"] } })),
    status: 403,
    body: "Audiences in Jwt are not allowed",
  },
  {
    name: "audiences compare without scheme and trailing slash",
    request: async () => request(await bearer({ claims: { aud: "https://orders/" } })),
    status: 200,
  },
  {
    name: "no token with allow_missing: allowed, without a principal",
    request: async () => request({}),
    status: 200,
    check: (o) => {
      const ok = allowed(o);
      expect(ok.requestPrincipal).toBeUndefined();
      expect(ok.metadata).toBeUndefined();
    },
  },
  {
    name: "no token when the provider is required",
    config: () => istioConfig({}, { provider_name: "origins-0" }),
    request: async () => request({}),
    status: 401,
    body: "Jwt is missing",
    check: (o) => {
      if (o.allowed) throw new Error("allowed");
      expect(o.reply.headers["www-authenticate"]).toBe('Bearer realm="http://orders.shop/orders"');
    },
  },
  {
    name: "a different scheme in Authorization counts as no token",
    request: async () => request({ authorization: "Basic YWxpY2U6c2VjcmV0" }),
    status: 200,
  },
  {
    name: "ES256 in a custom header with a prefix: payload and claims become headers",
    request: async () =>
      request({
        "x-partner-token": `Partner ${await token({
          iss: PARTNER,
          alg: "ES256",
          claims: { customer: { tier: "gold", visits: 12, vip: true }, drinks: ["latte"] },
        })}`,
      }),
    status: 200,
    check: (o) => {
      const ok = allowed(o);
      expect(ok.requestPrincipal).toBe(`${PARTNER}/alice`);
      expect(ok.headers["x-jwt-sub"]).toBe("alice");
      expect(ok.headers["x-jwt-tier"]).toBe("gold");
      expect(ok.headers["x-jwt-visits"]).toBe("12");
      expect(ok.headers["x-jwt-vip"]).toBe("true");
      expect(ok.headers["x-jwt-drinks"]).toBe(Buffer.from('["latte"]').toString("base64"));
      const payload = JSON.parse(
        Buffer.from(String(ok.headers["x-jwt-payload"]), "base64url").toString(),
      ) as JWTPayload;
      expect(payload.iss).toBe(PARTNER);
      // forward: true keeps the token.
      expect(ok.headers["x-partner-token"]).toMatch(/^Partner /);
    },
  },
  {
    name: "claim headers sent by the client are removed, never trusted",
    request: async () => request({ "x-jwt-sub": "mallory", "x-jwt-payload": "e30" }),
    status: 200,
    check: (o) => {
      const ok = allowed(o);
      expect(ok.headers["x-jwt-sub"]).toBeUndefined();
      expect(ok.headers["x-jwt-payload"]).toBeUndefined();
    },
  },
  {
    name: "a token in the default access_token query parameter is removed from the path",
    request: async () => request({}, `/orders?access_token=${await token()}&size=large`),
    status: 200,
    check: (o) => expect(allowed(o).path).toBe("/orders?size=large"),
  },
  {
    name: "a token in a configured query parameter (forwarded: stays)",
    request: async () =>
      request({}, `/orders?partner_token=${await token({ iss: PARTNER, alg: "ES256" })}`),
    status: 200,
    check: (o) => expect(allowed(o).path).toMatch(/^\/orders\?partner_token=ey/),
  },
  {
    name: "a token in a cookie",
    request: async () =>
      request({ cookie: `theme=dark; partner="${await token({ iss: PARTNER, alg: "ES256" })}"` }),
    status: 200,
    check: (o) => expect(allowed(o).requestPrincipal).toBe(`${PARTNER}/alice`),
  },
  {
    name: "two providers share Authorization: the token's issuer decides",
    request: async () => request(await bearer({ iss: LOYALTY, alg: "ES256" })),
    status: 200,
    check: (o) => expect(allowed(o).requestPrincipal).toBe(`${LOYALTY}/alice`),
  },
  {
    name: "space-delimited claims are lists in the metadata",
    request: async () => request(await bearer({ claims: { scope: "read write", roles: "a b" } })),
    status: 200,
    check: (o) => {
      const payload = allowed(o).metadata?.payload as Record<string, unknown>;
      expect(payload.scope).toEqual(["read", "write"]);
      expect(payload.roles).toBe("a b");
    },
  },
  {
    name: "every token must be valid: a good header and a bad query token",
    request: async () => request(await bearer(), "/orders?access_token=bad"),
    status: 401,
    body: "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
  },
  {
    name: "istiod's fake key set (JWKS fetch failed) rejects every token",
    config: () =>
      istioConfig({
        local_jwks: {
          inline_string: `{"keys":[ {"e":"AQAB","kid":"abc","kty":"RSA","n":"${Buffer.from("Error-IstiodFailedToFetchJwksUri-https://auth.coffee.example/jwks").toString("base64url")}"}]}`,
        },
      }),
    request: async () => request(await bearer()),
    status: 401,
    body: "Jwks doesn't have key to match kid or alg from Jwt",
  },
  {
    name: "a CORS preflight passes without a token check",
    request: async () =>
      request(
        {
          authorization: "Bearer garbage",
          origin: "https://shop.example",
          "access-control-request-method": "POST",
        },
        "/orders",
        "OPTIONS",
      ),
    status: 200,
  },
  {
    name: "the realm uses x-forwarded-proto and at most 256 path characters",
    request: async () =>
      request({ authorization: "Bearer x", "x-forwarded-proto": "https" }, `/${"a".repeat(300)}`),
    status: 401,
    check: (o) => {
      if (o.allowed) throw new Error("allowed");
      expect(o.reply.headers["www-authenticate"]).toBe(
        `Bearer realm="https://orders.shop/${"a".repeat(255)}", error="invalid_token"`,
      );
    },
  },
  {
    name: "strip_failure_response sends no body and no WWW-Authenticate",
    config: () => ({ ...istioConfig(), strip_failure_response: true }),
    request: async () => request(await bearer({ claims: { exp: NOW - 600 } })),
    status: 401,
    body: "",
    check: (o) => {
      if (o.allowed) throw new Error("allowed");
      expect(o.reply.headers).toEqual({});
    },
  },
];

describe("jwt_authn filter", () => {
  it("has a table of at least 20 cases", () => expect(CASES.length).toBeGreaterThanOrEqual(20));
  for (const c of CASES) {
    it(c.name, async () => {
      const filter = filterFor(c.config ? c.config() : istioConfig());
      const outcome = await filter.authenticate(await c.request());
      expect(outcome.allowed ? 200 : outcome.reply.status).toBe(c.status);
      if (c.body !== undefined && !outcome.allowed) expect(outcome.reply.body).toBe(c.body);
      c.check?.(outcome);
    });
  }

  it("leaves the request it was given untouched", async () => {
    const headers = await bearer();
    const before = { ...headers };
    const outcome = await filterFor(istioConfig()).authenticate(request(headers));
    expect(outcome.allowed).toBe(true);
    expect(headers).toEqual(before);
  });

  it("applies only the first rule whose path matches", async () => {
    const config = {
      ...istioConfig(),
      rules: [
        { match: { path: "/healthz" } },
        { match: { prefix: "/" }, requires: { provider_name: "origins-0" } },
      ],
    };
    const filter = filterFor(config);
    expect((await filter.authenticate(request({}, "/healthz?x=1"))).allowed).toBe(true);
    expect((await filter.authenticate(request({}, "/orders"))).allowed).toBe(false);
  });
});

describe("remote_jwks", () => {
  const decodeRemote = (cacheDuration: string) => {
    const config = istioConfig({
      remote_jwks: {
        http_uri: { uri: "https://auth.coffee.example/jwks", cluster: "jwks", timeout: "5s" },
        cache_duration: cacheDuration,
      },
    });
    delete (config.providers["origins-0"] as { local_jwks?: unknown }).local_jwks;
    return decodeJwtAuthn(config, { remoteJwks: true });
  };
  const remote = (fetchJwks: () => Promise<string>) => {
    const decoded = decodeRemote("300s");
    if (!decoded.ok) throw new Error(decoded.errors.join("\n"));
    return new JwtAuthnFilter(decoded.config, { now: () => NOW_MS, fetchJwks });
  };

  it("fetches the key set once and caches it", async () => {
    let fetches = 0;
    const filter = remote(async () => {
      fetches++;
      return shopJwks;
    });
    expect((await filter.authenticate(request(await bearer()))).allowed).toBe(true);
    expect((await filter.authenticate(request(await bearer()))).allowed).toBe(true);
    expect(fetches).toBe(1);
  });

  it("refuses a cache_duration under 1 ms, as Envoy's validation does", () => {
    const decoded = decodeRemote("0s");
    expect(decoded.ok ? "" : decoded.errors.join("\n")).toContain(
      "cache_duration: must be at least 1ms",
    );
  });

  it("rejects with Envoy's body when the fetch fails", async () => {
    const filter = remote(() => Promise.reject(new Error("connect ECONNREFUSED")));
    const outcome = await filter.authenticate(request(await bearer()));
    expect(outcome.allowed ? "" : outcome.reply.body).toBe("Jwks remote fetch is failed");
  });
});
