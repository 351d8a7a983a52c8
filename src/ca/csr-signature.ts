// Checks that a CSR is signed by the key it carries. Workloads sign with ECDSA on the NIST curves or
// RSA PKCS#1 v1.5: those are verified with node:crypto straight from the parsed request. Anything
// else (RSA-PSS, Ed25519, curves WebCrypto lacks, keys node:crypto cannot read) still goes through
// @peculiar/x509 and WebCrypto, as every CSR used to, so that which requests are accepted, and the
// reason others are refused, stay exactly as they were.
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { invalidCsr, type ParsedCsr } from "./csr.ts";
import { ecdsaSignatureToP1363 } from "./ecdsa-signature.ts";
import { x509 } from "./x509.ts";

interface SignatureScheme {
  keyType: "ec" | "rsa";
  /** node:crypto's digest name. */
  digest: string;
}

/** The signature algorithms @peculiar/x509 maps to ECDSA and RSASSA-PKCS1-v1_5, by OID. */
const SCHEMES: Record<string, SignatureScheme> = {
  "1.2.840.10045.4.1": { keyType: "ec", digest: "sha1" },
  "1.2.840.10045.4.3.2": { keyType: "ec", digest: "sha256" },
  "1.2.840.10045.4.3.3": { keyType: "ec", digest: "sha384" },
  "1.2.840.10045.4.3.4": { keyType: "ec", digest: "sha512" },
  "1.2.840.113549.1.1.5": { keyType: "rsa", digest: "sha1" },
  "1.2.840.113549.1.1.11": { keyType: "rsa", digest: "sha256" },
  "1.2.840.113549.1.1.12": { keyType: "rsa", digest: "sha384" },
  "1.2.840.113549.1.1.13": { keyType: "rsa", digest: "sha512" },
};

/** The curves WebCrypto verifies on, by node:crypto's name, with their coordinate size. */
const POINT_SIZES: Record<string, number> = { prime256v1: 32, secp384r1: 48, secp521r1: 66 };

interface NodeVerification {
  key: KeyObject;
  digest: string;
  /** As node:crypto verifies it: as X.509 carries it for RSA, r‖s for ECDSA. */
  signature: Uint8Array;
  dsaEncoding?: "ieee-p1363";
}

/**
 * How to verify the CSR with node:crypto, or undefined when it needs the WebCrypto path. Throws,
 * as @peculiar/x509 did, when an ECDSA signature is not a well-formed ECDSA-Sig-Value.
 */
function nodeVerification(csr: ParsedCsr): NodeVerification | undefined {
  const scheme = SCHEMES[csr.request.signatureAlgorithm.algorithm];
  if (!scheme) return undefined;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(csr.spki), format: "der", type: "spki" });
  } catch {
    return undefined;
  }
  if (key.asymmetricKeyType !== scheme.keyType) return undefined;
  const { digest } = scheme;
  const signature = csr.request.signature;
  if (scheme.keyType === "rsa") return { key, digest, signature: new Uint8Array(signature) };
  const pointSize = POINT_SIZES[key.asymmetricKeyDetails?.namedCurve ?? ""];
  if (pointSize === undefined) return undefined;
  const p1363 = ecdsaSignatureToP1363(signature, pointSize);
  return { key, digest, signature: p1363, dsaEncoding: "ieee-p1363" };
}

/** Verifies on the thread pool, as WebCrypto did, so that RSA keys do not hold the event loop. */
function verifyWithNode(data: Uint8Array, v: NodeVerification): Promise<boolean> {
  const key = v.dsaEncoding ? { key: v.key, dsaEncoding: v.dsaEncoding } : v.key;
  return new Promise((resolve, reject) => {
    verify(v.digest, data, key, v.signature, (error, ok) => {
      if (error) reject(error);
      else resolve(ok);
    });
  });
}

/** The CertificationRequestInfo exactly as the requester encoded and signed it. */
function signedBytes(csr: ParsedCsr): Uint8Array {
  const { certificationRequestInfoRaw: raw, certificationRequestInfo } = csr.request;
  return new Uint8Array(raw ?? AsnConvert.serialize(certificationRequestInfo));
}

function verifyWithWebCrypto(csr: ParsedCsr): Promise<boolean> {
  return new x509.Pkcs10CertificateRequest(csr.der).verify();
}

/** Resolves when the CSR's signature verifies; otherwise a CREMA_CA_INVALID_CSR error. */
export async function verifyCsrSignature(csr: ParsedCsr): Promise<void> {
  let verified = false;
  try {
    const viaNode = nodeVerification(csr);
    verified = viaNode
      ? await verifyWithNode(signedBytes(csr), viaNode)
      : await verifyWithWebCrypto(csr);
  } catch (error) {
    throw invalidCsr(
      `the CSR's key or signature algorithm is not supported (${(error as Error).message})`,
    );
  }
  if (!verified) throw invalidCsr("the CSR's signature does not verify with the key it carries");
}
