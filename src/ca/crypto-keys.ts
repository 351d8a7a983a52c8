// Key pairs for the CA and the certificates it issues: generation, PEM import and export, and the
// signature algorithm each key signs with. Keys are WebCrypto CryptoKeys (what @peculiar/x509
// signs with); PEM is read through node:crypto, which accepts PKCS#8, SEC1 and PKCS#1 alike.
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  type webcrypto,
  type X509Certificate,
} from "node:crypto";
import { encodePem } from "./pem.ts";

/** ECDSA P-256 is crema's default; Istio's self-signed CA defaults to RSA 2048. */
export type KeyAlgorithm = "ecdsa-p256" | "rsa-2048";
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = "ecdsa-p256";

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm =
  | (webcrypto.EcKeyImportParams & { hash: string })
  | webcrypto.RsaHashedImportParams;

const GENERATE: Record<KeyAlgorithm, webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams> = {
  "ecdsa-p256": { name: "ECDSA", namedCurve: "P-256" },
  "rsa-2048": {
    name: "RSASSA-PKCS1-v1_5",
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: "SHA-256",
  },
};

export function generateKeyPair(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(GENERATE[algorithm], true, ["sign", "verify"]);
}

/** PKCS#8 PEM ("PRIVATE KEY"); the key must be extractable. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", key));
}

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: "P-256", hash: "SHA-256" },
  secp384r1: { namedCurve: "P-384", hash: "SHA-384" },
};

/** The WebCrypto algorithm a node:crypto key signs with, or why it cannot sign certificates. */
function algorithmOf(key: KeyObject): SigningAlgorithm | string {
  if (key.asymmetricKeyType === "ec") {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve ?? ""];
    if (!curve) return `EC curve ${key.asymmetricKeyDetails?.namedCurve} is not supported`;
    return { name: "ECDSA", ...curve };
  }
  if (key.asymmetricKeyType === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) return `RSA keys must have at least 2048 bits, this one has ${bits}`;
    return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  }
  return `${key.asymmetricKeyType} keys are not supported (use ECDSA P-256/P-384 or RSA)`;
}

export type PrivateKeyImport = { ok: true; key: CryptoKey } | { ok: false; reason: string };

/** Reads a PEM private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"). */
export function importPrivateKeyPem(pem: string): PrivateKeyImport {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch (error) {
    return { ok: false, reason: `is not a PEM private key (${(error as Error).message})` };
  }
  const algorithm = algorithmOf(keyObject);
  if (typeof algorithm === "string") return { ok: false, reason: algorithm };
  return { ok: true, key: keyObject.toCryptoKey(algorithm, true, ["sign"]) };
}

/** The algorithm @peculiar/x509 should sign with when using this private key. */
export function signingAlgorithm(key: CryptoKey): { name: string; hash: string } {
  if (key.algorithm.name === "ECDSA") {
    const namedCurve = (key.algorithm as webcrypto.EcKeyAlgorithm).namedCurve;
    return { name: "ECDSA", hash: namedCurve === "P-384" ? "SHA-384" : "SHA-256" };
  }
  return { name: key.algorithm.name, hash: "SHA-256" };
}

/** Which KeyAlgorithm a CA key is, so that certificates it mints for itself use the same kind. */
export function keyAlgorithmOf(key: CryptoKey): KeyAlgorithm {
  return key.algorithm.name === "ECDSA" ? "ecdsa-p256" : "rsa-2048";
}

/** Whether a PEM private key is the key of a certificate (their public keys are equal). */
export function keyMatchesCertificate(
  privateKeyPem: string,
  certificate: X509Certificate,
): boolean {
  try {
    const fromKey = createPublicKey(privateKeyPem).export({ type: "spki", format: "der" });
    const fromCert = certificate.publicKey.export({ type: "spki", format: "der" });
    return fromKey.equals(fromCert);
  } catch {
    return false;
  }
}
