// Envoy's jwt_authn AuthenticatorImpl: verifies the tokens one requirement found (last found
// first), each through parse → issuer → time → audience → signature, and for a good token writes
// its outputs (payload and claim headers, token removal, metadata). Every token must be good
// unless the requirement allows failures; "missing" is a status like the others.
import type { MutableHeaders } from "../routing/types.ts";
import type { JwtProviderConfig } from "./jwt-authn-config.ts";
import {
  audiencesAllowed,
  checkJwtTime,
  DEFAULT_CLOCK_SKEW_SECONDS,
  type ParsedJwt,
  parseJwt,
} from "./jwt-parse.ts";
import { verifyJwtSignature } from "./jwt-signature.ts";
import { type JwtStatus, jwtStatusCode, jwtStatusMessage } from "./jwt-status.ts";
import type { KeySets } from "./key-sets.ts";
import { type ExtractedToken, removeQueryParam } from "./token-extractor.ts";

/** The request as the filter rewrites it, plus what verification produced so far. */
export interface VerifyContext {
  headers: MutableHeaders;
  path: string;
  /** The filter's dynamic metadata (a Struct): payloads, headers, failure statuses by key. */
  extracted: Record<string, unknown>;
  clearRouteCache: boolean;
  nowSeconds: number;
}

export interface AuthenticateOptions {
  /** The provider a provider requirement names; undefined for allow_missing(_or_failed). */
  provider?: JwtProviderConfig;
  /** Every provider, in configuration order (tokens are matched to one by issuer). */
  providers: readonly JwtProviderConfig[];
  /** provider_and_audiences overrides the provider's audiences. */
  audiences?: readonly string[];
  allowFailed: boolean;
  allowMissing: boolean;
  keySets: KeySets;
}

export function addHeader(headers: MutableHeaders, name: string, value: string): void {
  const existing = headers[name];
  if (existing === undefined) headers[name] = value;
  else headers[name] = [...(typeof existing === "string" ? [existing] : existing), value];
}

/** Envoy's convertClaimDoubleToString: whole numbers as integers, others as "%f". */
function numberClaim(value: number): string {
  if (value < 0 || value >= 2 ** 64 || !Number.isInteger(value)) return value.toFixed(6);
  return BigInt(value).toString();
}

/** A claim by dotted path, as StructUtils::GetValue walks nested objects. */
export function claimValue(payload: Record<string, unknown>, name: string): unknown {
  let current: unknown = payload;
  for (const part of name.split(".")) {
    if (typeof current !== "object" || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
    if (current === undefined) return undefined;
  }
  return current;
}

/** The header value claim_to_headers writes for a claim ("" writes nothing). */
export function claimHeaderValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return numberClaim(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "object" && value !== null)
    return Buffer.from(JSON.stringify(value)).toString("base64");
  return "";
}

/** The payload in metadata, with space-delimited claims split into lists. */
function normalizedPayload(payload: Record<string, unknown>, claims: readonly string[]) {
  const out = structuredClone(payload);
  for (const claim of claims) {
    const value = payload[claim];
    if (typeof value !== "string") continue;
    const parts = value.split(" ").filter((p) => p !== "");
    if (parts.length > 0) out[claim] = parts;
  }
  return out;
}

function padBase64(text: string): string {
  return text.length % 4 === 0 ? text : text + "=".repeat(4 - (text.length % 4));
}

/** jwks_cache findByIssuer: the first provider of that issuer, else the first without one. */
function providerForIssuer(providers: readonly JwtProviderConfig[], iss: string) {
  return (
    providers.find((p) => p.issuer === iss) ??
    (iss !== "" ? providers.find((p) => p.issuer === "") : undefined)
  );
}

function writeOutputs(
  ctx: VerifyContext,
  provider: JwtProviderConfig,
  jwt: ParsedJwt,
  token: ExtractedToken,
): void {
  if (provider.forwardPayloadHeader) {
    const payload = provider.padForwardPayloadHeader ? padBase64(jwt.payloadB64) : jwt.payloadB64;
    addHeader(ctx.headers, provider.forwardPayloadHeader, payload);
  }
  let claimAdded = false;
  for (const { headerName, claimName } of provider.claimToHeaders) {
    const value = claimHeaderValue(claimValue(jwt.payload, claimName));
    if (value === "") continue;
    addHeader(ctx.headers, headerName, value);
    claimAdded = true;
  }
  if (provider.clearRouteCache && claimAdded) ctx.clearRouteCache = true;
  if (!provider.forward) {
    // Envoy removes a token from a header or the query; one in a cookie stays.
    if (token.source.kind === "header") delete ctx.headers[token.source.name];
    if (token.source.kind === "param") ctx.path = removeQueryParam(ctx.path, token.source.name);
  }
  if (provider.headerInMetadata)
    ctx.extracted[provider.headerInMetadata] = structuredClone(jwt.header);
  if (provider.payloadInMetadata) {
    ctx.extracted[provider.payloadInMetadata] = normalizedPayload(
      jwt.payload,
      provider.spaceDelimitedClaims,
    );
  }
}

async function verifyToken(
  ctx: VerifyContext,
  token: ExtractedToken,
  options: AuthenticateOptions,
): Promise<{ status: JwtStatus; provider?: JwtProviderConfig }> {
  const parsed = parseJwt(token.token);
  if (!parsed.ok) return { status: parsed.status };
  const jwt = parsed.jwt;
  if (token.issuers && !token.issuers.has(jwt.iss)) return { status: "JwtUnknownIssuer" };
  const provider = options.provider ?? providerForIssuer(options.providers, jwt.iss);
  if (!provider) return { status: "JwtUnknownIssuer" };
  const done = (status: JwtStatus) => ({ status, provider });
  const skew =
    provider.clockSkewSeconds > 0 ? provider.clockSkewSeconds : DEFAULT_CLOCK_SKEW_SECONDS;
  const time = checkJwtTime(jwt, ctx.nowSeconds, skew);
  if (time !== "Ok") return done(time);
  if (!audiencesAllowed(options.audiences ?? provider.audiences, jwt.audiences))
    return done("JwtAudienceNotAllowed");
  const keys = await options.keySets.keysFor(provider);
  if (typeof keys === "string") return done(keys);
  const signature = await verifyJwtSignature(jwt, keys);
  if (signature !== "Ok") return done(signature);
  writeOutputs(ctx, provider, jwt, token);
  return done("Ok");
}

function recordFailure(
  ctx: VerifyContext,
  status: JwtStatus,
  provider: JwtProviderConfig | undefined,
  options: AuthenticateOptions,
): void {
  const target = provider ?? (options.providers.length === 1 ? options.providers[0] : undefined);
  if (!target?.failedStatusInMetadata) return;
  ctx.extracted[target.failedStatusInMetadata] = {
    code: jwtStatusCode(status),
    message: jwtStatusMessage(status),
  };
}

/** Verifies `tokens` for one requirement; the status the requirement reports. */
export async function authenticate(
  ctx: VerifyContext,
  tokens: readonly ExtractedToken[],
  options: AuthenticateOptions,
): Promise<JwtStatus> {
  const pending = [...tokens];
  let status: JwtStatus = "JwtMissed";
  if (pending.length === 0) recordFailure(ctx, status, options.provider, options);
  // Envoy verifies the last token found first, and stops at the first failure unless the
  // requirement tolerates failures (allow_missing keeps going: the last status decides).
  for (let token = pending.pop(); token; token = pending.pop()) {
    const result = await verifyToken(ctx, token, options);
    status = result.status;
    if (status === "Ok") continue;
    recordFailure(ctx, status, result.provider ?? options.provider, options);
    if (!options.allowFailed && !options.allowMissing) break;
  }
  if (options.allowFailed) return "Ok";
  if (options.allowMissing && status === "JwtMissed") return "Ok";
  return status;
}
