// Self-signed root rotation, as Istio's SelfSignedCARootCertRotator does it: once 20 % of the
// root's lifetime remains, mint a new root — from the same key and with the same subject by
// default, so certificates the old root issued still verify — and keep trusting the old root
// until it expires. The decision is a pure function; the rotation is the action.
import { type Clock, systemClock } from "../base/clock.ts";
import { CremaError } from "../base/errors.ts";
import type { CaBundle } from "./ca-bundle.ts";
import { exportPrivateKeyPem, generateKeyPair, keyAlgorithmOf } from "./crypto-keys.ts";
import { validity } from "./pem.ts";
import { generateRootCertificate, SELF_SIGNED_ROOT_TTL_MS, selfSignedBundle } from "./root-ca.ts";
import { x509 } from "./x509.ts";

/** Istio's default `rootCertGracePeriodPercentile`. */
export const ROOT_ROTATION_GRACE_PERCENT = 20;

/** Whether a root with this validity should be replaced at `now`: at most 20 % of its life left. */
export function rootRotationDue(
  root: { notBefore: number; notAfter: number },
  now: number,
  gracePercent = ROOT_ROTATION_GRACE_PERCENT,
): boolean {
  const lifetime = root.notAfter - root.notBefore;
  return root.notAfter - now <= (lifetime * gracePercent) / 100;
}

/** The decision for a bundle: only a self-signed CA rotates its own root. */
export function bundleRotationDue(bundle: CaBundle, now: number, gracePercent?: number): boolean {
  return (
    bundle.mode === "self-signed" &&
    rootRotationDue(validity(bundle.signingCert), now, gracePercent)
  );
}

export interface RotateRootOptions {
  clock?: Clock;
  /** Lifetime of the new root; default 10 years. */
  ttlMs?: number;
  /** Generate a new key pair instead of reusing the old root's key (Istio reuses it). */
  newKey?: boolean;
}

/**
 * A new self-signed bundle whose root is a fresh certificate; the previous root stays in the trust
 * bundle (after the new one) until it expires.
 */
export async function rotateSelfSignedRoot(
  bundle: CaBundle,
  options: RotateRootOptions = {},
): Promise<CaBundle> {
  if (bundle.mode !== "self-signed") {
    throw new CremaError("CREMA_BASE_INTERNAL", "only a self-signed CA rotates its root");
  }
  const now = (options.clock ?? systemClock()).now();
  let signingKey = bundle.signingKey;
  let keyPem = bundle.signingKeyPem;
  let publicKeySpki: ArrayBuffer | Uint8Array = bundle.signingCert.publicKey.export({
    type: "spki",
    format: "der",
  });
  if (options.newKey) {
    const keys = await generateKeyPair(keyAlgorithmOf(bundle.signingKey));
    signingKey = keys.privateKey;
    keyPem = await exportPrivateKeyPem(keys.privateKey);
    publicKeySpki = await crypto.subtle.exportKey("spki", keys.publicKey);
  }
  const certPem = await generateRootCertificate({
    signingKey,
    publicKeySpki,
    subject: new x509.X509Certificate(bundle.signingCertPem).subjectName,
    notBefore: now,
    ttlMs: options.ttlMs ?? SELF_SIGNED_ROOT_TTL_MS,
  });
  return selfSignedBundle(
    { certPem, keyPem, rootsPem: bundle.rootsPem.join("") },
    { cert: "new root certificate", key: "root key", roots: "previous roots" },
    now,
  );
}
