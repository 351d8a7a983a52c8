// Parses a JWKS the way Envoy's jwt_verify_lib Jwks::createFromJwksCore does: every key that
// passes its type's checks is kept, invalid ones are skipped, and a set with no usable key has a
// failure status (a provider with such a set rejects every token: "Jwks doesn't have any valid
// public key"). Keys stay JWK objects; jose imports them when a token needs them.
import { decodeBase64Url } from "./jwt-parse.ts";
import type { JwtStatus } from "./jwt-status.ts";

export interface Jwk {
  kty: "RSA" | "EC" | "oct" | "OKP";
  /** "" when absent. */
  kid: string;
  /** "" when absent. */
  alg: string;
  /** EC: P-256/P-384/P-521 (resolved from alg when absent); OKP: Ed25519. */
  crv: string;
  /** The JWK as written, for jose's importJWK. */
  jwk: Record<string, unknown>;
}

export interface Jwks {
  /** "Ok" when at least one key is usable; otherwise the first problem found. */
  status: JwtStatus;
  keys: Jwk[];
}

type KeyParse = { ok: true; key: Jwk } | { ok: false; status: JwtStatus };

function str(obj: Record<string, unknown>, name: string): string | undefined | null {
  const value = obj[name];
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : null;
}

/** Big-endian unsigned integer of a base64url field, or undefined when it does not decode. */
function bigNumber(text: string): bigint | undefined {
  const bytes = decodeBase64Url(text);
  if (!bytes) return undefined;
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
}

function rsaKey(jwk: Record<string, unknown>, base: Omit<Jwk, "kty" | "crv">): KeyParse {
  const { alg } = base;
  if (alg !== "" && !alg.startsWith("RS") && !alg.startsWith("PS"))
    return { ok: false, status: "JwksRSAKeyBadAlg" };
  const n = str(jwk, "n");
  if (n === undefined) return { ok: false, status: "JwksRSAKeyMissingN" };
  if (n === null) return { ok: false, status: "JwksRSAKeyBadN" };
  const e = str(jwk, "e");
  if (e === undefined) return { ok: false, status: "JwksRSAKeyMissingE" };
  if (e === null) return { ok: false, status: "JwksRSAKeyBadE" };
  const modulus = bigNumber(n);
  const exponent = bigNumber(e);
  // Envoy rejects non-standard exponents early, and moduli RSA_check_key refuses.
  if (modulus === undefined || exponent === undefined)
    return { ok: false, status: "JwksRsaParseError" };
  if (exponent !== 3n && exponent !== 65537n) return { ok: false, status: "JwksRsaParseError" };
  if (modulus % 2n === 0n || modulus <= exponent) return { ok: false, status: "JwksRsaParseError" };
  return { ok: true, key: { ...base, kty: "RSA", crv: "" } };
}

const EC_CURVES: Record<string, string> = { ES256: "P-256", ES384: "P-384", ES512: "P-521" };

function ecKey(jwk: Record<string, unknown>, base: Omit<Jwk, "kty" | "crv">): KeyParse {
  const { alg } = base;
  if (alg !== "" && !alg.startsWith("ES")) return { ok: false, status: "JwksECKeyBadAlg" };
  const crvField = str(jwk, "crv");
  if (crvField === null) return { ok: false, status: "JwksECKeyBadCrv" };
  let crv = crvField ?? "";
  if (alg !== "" && crv !== "" && EC_CURVES[alg] !== crv)
    return { ok: false, status: "JwksECKeyAlgNotCompatibleWithCrv" };
  if (alg === "" && crv === "") crv = "P-256";
  const resolved = EC_CURVES[alg] ?? (Object.values(EC_CURVES).includes(crv) ? crv : undefined);
  if (!resolved) return { ok: false, status: "JwksECKeyAlgOrCrvUnsupported" };
  const x = str(jwk, "x");
  if (x === undefined) return { ok: false, status: "JwksECKeyMissingX" };
  if (x === null) return { ok: false, status: "JwksECKeyBadX" };
  const y = str(jwk, "y");
  if (y === undefined) return { ok: false, status: "JwksECKeyMissingY" };
  if (y === null) return { ok: false, status: "JwksECKeyBadY" };
  if (!decodeBase64Url(x) || !decodeBase64Url(y))
    return { ok: false, status: "JwksEcXorYBadBase64" };
  return { ok: true, key: { ...base, kty: "EC", crv: resolved } };
}

function octKey(jwk: Record<string, unknown>, base: Omit<Jwk, "kty" | "crv">): KeyParse {
  const { alg } = base;
  if (alg !== "" && alg !== "HS256" && alg !== "HS384" && alg !== "HS512")
    return { ok: false, status: "JwksHMACKeyBadAlg" };
  const k = str(jwk, "k");
  if (k === undefined) return { ok: false, status: "JwksHMACKeyMissingK" };
  if (k === null) return { ok: false, status: "JwksHMACKeyBadK" };
  const secret = decodeBase64Url(k);
  if (!secret || secret.length === 0) return { ok: false, status: "JwksOctBadBase64" };
  return { ok: true, key: { ...base, kty: "oct", crv: "" } };
}

function okpKey(jwk: Record<string, unknown>, base: Omit<Jwk, "kty" | "crv">): KeyParse {
  if (base.alg !== "" && base.alg !== "EdDSA") return { ok: false, status: "JwksOKPKeyBadAlg" };
  const crv = str(jwk, "crv");
  if (crv === undefined) return { ok: false, status: "JwksOKPKeyMissingCrv" };
  if (crv === null) return { ok: false, status: "JwksOKPKeyBadCrv" };
  if (crv !== "Ed25519") return { ok: false, status: "JwksOKPKeyCrvUnsupported" };
  const x = str(jwk, "x");
  if (x === undefined) return { ok: false, status: "JwksOKPKeyMissingX" };
  if (x === null) return { ok: false, status: "JwksOKPKeyBadX" };
  const raw = decodeBase64Url(x);
  if (!raw) return { ok: false, status: "JwksOKPXBadBase64" };
  if (raw.length !== 32) return { ok: false, status: "JwksOKPXWrongLength" };
  return { ok: true, key: { ...base, kty: "OKP", crv } };
}

function parseKey(jwk: Record<string, unknown>): KeyParse {
  const kty = str(jwk, "kty");
  if (kty === undefined) return { ok: false, status: "JwksMissingKty" };
  if (kty === null) return { ok: false, status: "JwksBadKty" };
  // kid and alg are optional; a non-string one counts as absent.
  const base = { kid: str(jwk, "kid") ?? "", alg: str(jwk, "alg") ?? "", jwk };
  switch (kty) {
    case "RSA":
      return rsaKey(jwk, base);
    case "EC":
      return ecKey(jwk, base);
    case "oct":
      return octKey(jwk, base);
    case "OKP":
      return okpKey(jwk, base);
    default:
      return { ok: false, status: "JwksNotImplementedKty" };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A JWKS document (Envoy's Jwks::JWKS type; X.509 maps and PEM are not read). */
export function parseJwks(text: string): Jwks {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { status: "JwksParseError", keys: [] };
  }
  if (!isRecord(doc)) return { status: "JwksParseError", keys: [] };
  if (!("keys" in doc)) return { status: "JwksNoKeys", keys: [] };
  if (!Array.isArray(doc.keys)) return { status: "JwksBadKeys", keys: [] };
  const keys: Jwk[] = [];
  let firstProblem: JwtStatus | undefined;
  for (const raw of doc.keys) {
    if (!isRecord(raw)) continue;
    const parsed = parseKey(raw);
    if (parsed.ok) keys.push(parsed.key);
    else firstProblem ??= parsed.status;
  }
  if (keys.length === 0) return { status: firstProblem ?? "JwksNoValidKeys", keys };
  return { status: "Ok", keys };
}
