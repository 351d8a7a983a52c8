// Checks a parsed JWT's signature against a key set, with Envoy's key selection
// (verifyJwtWithoutTimeChecking): a key is a candidate unless its kid or alg contradicts the token;
// no candidate is "Jwks doesn't have key to match kid or alg from Jwt", candidates that all fail
// are "Jwt verification fails". jose does the cryptography, and only with an algorithm of the
// key's own family — an HS256 token never meets an RSA public key used as an HMAC secret.
import type * as Jose from "jose";
import type { Jwk, Jwks } from "./jwks.ts";
import type { ParsedJwt } from "./jwt-parse.ts";
import type { JwtStatus } from "./jwt-status.ts";

type ImportedKey = Awaited<ReturnType<typeof Jose.importJWK>>;

// Loaded on the first signature check: most sidecars never verify a JWT, and jose's forty-odd
// modules would otherwise be part of every sidecar's start.
let jose: Promise<typeof Jose> | undefined;
const loadJose = () => {
  jose ??= import("jose");
  return jose;
};

/** Imported keys per JWK object and algorithm (jose binds a key to one algorithm). */
const imported = new WeakMap<Jwk, Map<string, Promise<ImportedKey | undefined>>>();

/** Whether `key` can verify `alg` at all: the algorithm must belong to the key's type. */
function familyMatches(key: Jwk, alg: string): boolean {
  switch (key.kty) {
    case "RSA":
      return alg.startsWith("RS") || alg.startsWith("PS");
    case "EC":
      return alg.startsWith("ES");
    case "oct":
      return alg.startsWith("HS");
    case "OKP":
      return alg === "EdDSA";
  }
}

function importFor(key: Jwk, alg: string): Promise<ImportedKey | undefined> {
  let byAlg = imported.get(key);
  if (!byAlg) {
    byAlg = new Map();
    imported.set(key, byAlg);
  }
  let pending = byAlg.get(alg);
  if (!pending) {
    // A key jose refuses (a curve that does not fit the alg, an RSA modulus under 2048 bits,
    // an invalid EC point) verifies nothing.
    const { alg: _ignored, use: _use, key_ops: _ops, ...jwk } = key.jwk;
    pending = loadJose()
      .then(({ importJWK }) => importJWK(jwk, alg))
      .catch(() => undefined);
    byAlg.set(alg, pending);
  }
  return pending;
}

async function verifiesWith(key: Jwk, jwt: ParsedJwt): Promise<boolean> {
  if (!familyMatches(key, jwt.alg)) return false;
  const cryptoKey = await importFor(key, jwt.alg);
  if (!cryptoKey) return false;
  const { flattenedVerify } = await loadJose();
  try {
    await flattenedVerify(
      { protected: jwt.headerB64, payload: jwt.payloadB64, signature: jwt.signatureB64 },
      cryptoKey,
      { algorithms: [jwt.alg] },
    );
    return true;
  } catch {
    return false;
  }
}

export async function verifyJwtSignature(jwt: ParsedJwt, jwks: Jwks): Promise<JwtStatus> {
  let matched = false;
  for (const key of jwks.keys) {
    if (jwt.kid !== "" && key.kid !== "" && key.kid !== jwt.kid) continue;
    if (key.alg !== "" && key.alg !== jwt.alg) continue;
    matched = true;
    if (key.kty === "OKP" && jwt.signature.length !== 64) return "JwtEd25519SignatureWrongLength";
    if (await verifiesWith(key, jwt)) return "Ok";
  }
  return matched ? "JwtVerificationFail" : "JwksKidAlgMismatch";
}
