// Bootstrap tokens: short-lived JWTs the control plane signs for a namespace and service account,
// which the local runtime and VMs present (`authorization: Bearer …`) when they ask the CA for a
// certificate — the part a Kubernetes service account token plays in Istio. ES256, with the
// Kubernetes token's claims: sub `system:serviceaccount:<ns>:<sa>`, aud `istio-ca`, exp.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from "node:crypto";
import { join } from "node:path";
import {
  calculateJwkThumbprint,
  errors,
  exportJWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from "jose";
import { type Clock, systemClock } from "../base/clock.ts";
import { CremaError } from "../base/errors.ts";
import { readOptionalFile, writeFileAtomically } from "./ca-files.ts";
import { type CallerIdentity, invalidIdentityReason } from "./spiffe.ts";

/** The audience Istio's agents request for CA tokens. */
export const BOOTSTRAP_TOKEN_AUDIENCE = "istio-ca";
export const BOOTSTRAP_TOKEN_ISSUER = "crema";
export const DEFAULT_BOOTSTRAP_TOKEN_TTL_MS = 3600 * 1000;
/** Kept beside the CA's files. */
export const BOOTSTRAP_TOKEN_KEY_FILE = "bootstrap-token-key.pem";
/** Far beyond any token we issue; longer input is refused before parsing. */
const MAX_TOKEN_LENGTH = 8 * 1024;
const ALGORITHM = "ES256";

export interface BootstrapTokenKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** RFC 7638 thumbprint of the public key, sent as the token's `kid`. */
  readonly keyId: string;
}

async function tokenKey(privateKey: KeyObject): Promise<BootstrapTokenKey> {
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: await calculateJwkThumbprint(await exportJWK(publicKey)) };
}

export function generateBootstrapTokenKey(): Promise<BootstrapTokenKey> {
  return tokenKey(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
}

/** Reads a P-256 private key (PEM); `file` names it in errors. */
export function bootstrapTokenKeyFromPem(pem: string, file: string): Promise<BootstrapTokenKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (error) {
    throw new CremaError(
      "CREMA_CA_INVALID_FILE",
      `${file} is not a PEM private key (${(error as Error).message})`,
    );
  }
  if (privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new CremaError("CREMA_CA_INVALID_FILE", `${file} is not an ECDSA P-256 key (ES256)`);
  }
  return tokenKey(privateKey);
}

/** The signing key in `dir`, generated and written there (mode 0600) on first use. */
export async function loadOrCreateBootstrapTokenKey(dir: string): Promise<BootstrapTokenKey> {
  const pem = await readOptionalFile(dir, BOOTSTRAP_TOKEN_KEY_FILE);
  if (pem !== undefined) return bootstrapTokenKeyFromPem(pem, join(dir, BOOTSTRAP_TOKEN_KEY_FILE));
  const key = await generateBootstrapTokenKey();
  const text = key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  await writeFileAtomically(dir, BOOTSTRAP_TOKEN_KEY_FILE, text, { secret: true });
  return key;
}

/** `system:serviceaccount:<namespace>:<serviceAccount>`, as Kubernetes names token subjects. */
export function serviceAccountSubject(identity: CallerIdentity): string {
  return `system:serviceaccount:${identity.namespace}:${identity.serviceAccount}`;
}

export function parseServiceAccountSubject(subject: string): CallerIdentity | undefined {
  const parts = subject.split(":");
  if (parts.length !== 4 || parts[0] !== "system" || parts[1] !== "serviceaccount")
    return undefined;
  const identity = { namespace: parts[2]!, serviceAccount: parts[3]! };
  return invalidIdentityReason({ trustDomain: "cluster.local", ...identity })
    ? undefined
    : identity;
}

export interface IssueBootstrapTokenOptions {
  /** Default one hour. */
  ttlMs?: number;
  clock?: Clock;
  issuer?: string;
}

/** A signed token for one namespace and service account. */
export async function issueBootstrapToken(
  key: BootstrapTokenKey,
  identity: CallerIdentity,
  options: IssueBootstrapTokenOptions = {},
): Promise<string> {
  const reason = invalidIdentityReason({ trustDomain: "cluster.local", ...identity });
  if (reason) throw new CremaError("CREMA_CA_INVALID_IDENTITY", reason);
  const now = Math.floor((options.clock ?? systemClock()).now() / 1000);
  const ttl = Math.max(1, Math.floor((options.ttlMs ?? DEFAULT_BOOTSTRAP_TOKEN_TTL_MS) / 1000));
  return new SignJWT({
    "kubernetes.io": {
      namespace: identity.namespace,
      serviceaccount: { name: identity.serviceAccount },
    },
  })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT", kid: key.keyId })
    .setIssuer(options.issuer ?? BOOTSTRAP_TOKEN_ISSUER)
    .setSubject(serviceAccountSubject(identity))
    .setAudience(BOOTSTRAP_TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + ttl)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

export type BootstrapTokenVerification =
  | { ok: true; identity: CallerIdentity; expiresAt: number }
  | { ok: false; reason: string };

function failure(error: unknown): BootstrapTokenVerification {
  if (error instanceof errors.JWTExpired) return { ok: false, reason: "the token has expired" };
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return { ok: false, reason: "the token is not signed by this control plane" };
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return {
      ok: false,
      reason: `the token's '${error.claim}' claim is not valid (${error.message})`,
    };
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return { ok: false, reason: `the token is not signed with ${ALGORITHM}` };
  }
  if (error instanceof errors.JOSEError) return { ok: false, reason: "the token is malformed" };
  return { ok: false, reason: `the token could not be verified (${String(error)})` };
}

function namespacedClaimMatches(payload: JWTPayload, identity: CallerIdentity): boolean {
  const claim = payload["kubernetes.io"] as
    | { namespace?: unknown; serviceaccount?: { name?: unknown } }
    | undefined;
  if (claim === undefined) return true;
  return (
    claim.namespace === identity.namespace && claim.serviceaccount?.name === identity.serviceAccount
  );
}

/** The identity a token is bound to, or why it is refused. Never throws. */
export async function verifyBootstrapToken(
  token: string,
  key: Pick<BootstrapTokenKey, "publicKey">,
  options: { clock?: Clock; issuer?: string } = {},
): Promise<BootstrapTokenVerification> {
  if (typeof token !== "string" || token.length === 0) return { ok: false, reason: "no token" };
  if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: "the token is too large" };
  try {
    const { payload } = await jwtVerify(token, key.publicKey, {
      algorithms: [ALGORITHM],
      audience: BOOTSTRAP_TOKEN_AUDIENCE,
      issuer: options.issuer ?? BOOTSTRAP_TOKEN_ISSUER,
      currentDate: new Date((options.clock ?? systemClock()).now()),
      requiredClaims: ["sub", "exp"],
    });
    const identity = parseServiceAccountSubject(String(payload.sub));
    if (!identity) {
      return { ok: false, reason: `the token's subject '${payload.sub}' is not a service account` };
    }
    if (!namespacedClaimMatches(payload, identity)) {
      return { ok: false, reason: "the token's kubernetes.io claim does not match its subject" };
    }
    return { ok: true, identity, expiresAt: (payload.exp ?? 0) * 1000 };
  } catch (error) {
    return failure(error);
  }
}
