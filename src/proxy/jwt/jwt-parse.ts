// Parses a compact JWT the way Envoy's jwt_verify_lib Jwt::parseFromString does, with its exact
// failure statuses (base64url, JSON, header alg/kid, registered claims' types), and checks its
// time window (nbf/exp with clock skew). Signatures are checked elsewhere (jwt-signature.ts).
import type { JwtStatus } from "./jwt-status.ts";

/** Algorithms Envoy implements; anything else (including "none") is refused. */
export const IMPLEMENTED_ALGS: ReadonlySet<string> = new Set([
  "ES256",
  "ES384",
  "ES512",
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "EdDSA",
]);

export interface ParsedJwt {
  /** The token as extracted. */
  token: string;
  headerB64: string;
  payloadB64: string;
  signatureB64: string;
  signature: Uint8Array;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  alg: string;
  /** "" when absent. */
  kid: string;
  iss: string;
  sub: string;
  audiences: string[];
  /** Seconds since the epoch; 0 when absent. */
  nbf: number;
  exp: number;
}

export type JwtParse = { ok: true; jwt: ParsedJwt } | { ok: false; status: JwtStatus };

const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** absl::WebSafeBase64Unescape: the URL-safe alphabet, padding optional; undefined when invalid. */
export function decodeBase64Url(text: string): Uint8Array | undefined {
  if (!BASE64URL.test(text)) return undefined;
  const bare = text.replace(/=+$/, "");
  if (bare.length % 4 === 1) return undefined;
  if (text.length !== bare.length && text.length % 4 !== 0) return undefined;
  return Buffer.from(bare, "base64url");
}

function parseObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

type Field<T> = { ok: true; value: T } | { ok: false; range?: boolean };

function stringField(obj: Record<string, unknown>, name: string): Field<string> {
  const value = obj[name];
  if (value === undefined) return { ok: true, value: "" };
  return typeof value === "string" ? { ok: true, value } : { ok: false };
}

/** StructUtils::GetUInt64: a JSON number, non-negative and below 2^64, truncated. */
function uint64Field(obj: Record<string, unknown>, name: string): Field<number> {
  const value = obj[name];
  if (value === undefined) return { ok: true, value: 0 };
  if (typeof value !== "number") return { ok: false };
  if (value < 0 || value >= 2 ** 64) return { ok: false, range: true };
  return { ok: true, value: Math.trunc(value) };
}

/** "aud" as a string or a list of strings. */
function audiencesOf(payload: Record<string, unknown>): string[] | undefined {
  const aud = payload.aud;
  if (aud === undefined) return [];
  if (typeof aud === "string") return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === "string")) return aud as string[];
  return undefined;
}

const fail = (status: JwtStatus): JwtParse => ({ ok: false, status });

export function parseJwt(token: string): JwtParse {
  // Exactly three non-empty sections (Envoy splits with SkipEmpty, so "a.b.c." still parses).
  const parts = token.split(".").filter((p) => p !== "");
  if (parts.length !== 3) return fail("JwtBadFormat");
  const [headerB64, payloadB64, signatureB64] = parts as [string, string, string];

  const headerBytes = decodeBase64Url(headerB64);
  if (!headerBytes) return fail("JwtHeaderParseErrorBadBase64");
  const header = parseObject(headerBytes);
  if (!header) return fail("JwtHeaderParseErrorBadJson");
  if (typeof header.alg !== "string") return fail("JwtHeaderBadAlg");
  const alg = header.alg;
  if (!IMPLEMENTED_ALGS.has(alg)) return fail("JwtHeaderNotImplementedAlg");
  const kid = stringField(header, "kid");
  if (!kid.ok) return fail("JwtHeaderBadKid");

  const payloadBytes = decodeBase64Url(payloadB64);
  if (!payloadBytes) return fail("JwtPayloadParseErrorBadBase64");
  const payload = parseObject(payloadBytes);
  if (!payload) return fail("JwtPayloadParseErrorBadJson");
  const iss = stringField(payload, "iss");
  if (!iss.ok) return fail("JwtPayloadParseErrorIssNotString");
  const sub = stringField(payload, "sub");
  if (!sub.ok) return fail("JwtPayloadParseErrorSubNotString");
  const iat = uint64Field(payload, "iat");
  if (!iat.ok)
    return fail(
      iat.range ? "JwtPayloadParseErrorIatOutOfRange" : "JwtPayloadParseErrorIatNotInteger",
    );
  const nbf = uint64Field(payload, "nbf");
  if (!nbf.ok)
    return fail(
      nbf.range ? "JwtPayloadParseErrorNbfOutOfRange" : "JwtPayloadParseErrorNbfNotInteger",
    );
  const exp = uint64Field(payload, "exp");
  if (!exp.ok)
    return fail(
      exp.range ? "JwtPayloadParseErrorExpOutOfRange" : "JwtPayloadParseErrorExpNotInteger",
    );
  if (!stringField(payload, "jti").ok) return fail("JwtPayloadParseErrorJtiNotString");
  const audiences = audiencesOf(payload);
  if (!audiences) return fail("JwtPayloadParseErrorAudNotString");

  const signature = decodeBase64Url(signatureB64);
  if (!signature) return fail("JwtSignatureParseErrorBadBase64");
  return {
    ok: true,
    jwt: {
      token,
      headerB64,
      payloadB64,
      signatureB64,
      signature,
      header,
      payload,
      alg,
      kid: kid.value,
      iss: iss.value,
      sub: sub.value,
      audiences,
      nbf: nbf.value,
      exp: exp.value,
    },
  };
}

/** Envoy's default clock skew for nbf and exp. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** Jwt::verifyTimeConstraint: not before nbf − skew, not after exp + skew (exp 0 = none). */
export function checkJwtTime(jwt: ParsedJwt, nowSeconds: number, skewSeconds: number): JwtStatus {
  if (nowSeconds + skewSeconds < jwt.nbf) return "JwtNotYetValid";
  if (jwt.exp && nowSeconds > jwt.exp + skewSeconds) return "JwtExpired";
  return "Ok";
}

/** CheckAudience's sanitizeAudience: drop an http(s):// scheme and one trailing slash. */
function sanitizeAudience(aud: string): string {
  if (aud === "") return aud;
  let begin = 0;
  let sanitized = false;
  if (aud.startsWith("http://")) {
    begin = 7;
    sanitized = true;
  } else if (aud.startsWith("https://")) {
    begin = 8;
    sanitized = true;
  }
  let end = aud.length;
  if (aud.endsWith("/")) {
    end--;
    sanitized = true;
  }
  return sanitized ? aud.slice(begin, end) : aud;
}

/** CheckAudience::areAudiencesAllowed: no configured audiences allows any; else one must match. */
export function audiencesAllowed(configured: readonly string[], jwtAudiences: readonly string[]) {
  if (configured.length === 0) return true;
  const allowed = new Set(configured.map(sanitizeAudience));
  return jwtAudiences.some((aud) => allowed.has(sanitizeAudience(aud)));
}
