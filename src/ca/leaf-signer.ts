// What every leaf a bundle signs shares: the issuer Name, the authority key identifier, the
// signature algorithm (all three DER-encoded) and the signing key as a node:crypto KeyObject.
// Derived from the bundle alone, so worked out on its first issuance and kept for as long as the
// bundle lives; a rotation makes a new bundle, and with it a new signer.
import { createHash, KeyObject } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  AuthorityKeyIdentifier,
  Certificate,
  Extension,
  id_ce_authorityKeyIdentifier,
  id_ce_subjectKeyIdentifier,
  KeyIdentifier,
  SubjectKeyIdentifier,
} from "@peculiar/asn1-x509";
import { CremaError } from "../base/errors.ts";
import type { CaBundle } from "./ca-bundle.ts";
import { signingAlgorithm } from "./crypto-keys.ts";

export interface LeafSigner {
  /** The signing certificate's subject Name, as the leaves' issuer. */
  readonly issuer: Uint8Array;
  /** The authorityKeyIdentifier Extension. */
  readonly authorityKeyIdentifier: Uint8Array;
  /** The AlgorithmIdentifier, written in both the TBSCertificate and the Certificate. */
  readonly signatureAlgorithm: Uint8Array;
  readonly key: KeyObject;
  /** node:crypto's digest name. */
  readonly digest: string;
}

interface SignatureAlgorithm {
  oid: string;
  /** RSA signature algorithms carry NULL parameters (RFC 4055), ECDSA's none (RFC 5758). */
  nullParameters: boolean;
  digest: string;
}

/** Keyed by signingAlgorithm()'s name and hash: the algorithms @peculiar/x509 wrote for them. */
const SIGNATURE_ALGORITHMS: Record<string, SignatureAlgorithm> = {
  "ECDSA/SHA-256": { oid: "1.2.840.10045.4.3.2", nullParameters: false, digest: "sha256" },
  "ECDSA/SHA-384": { oid: "1.2.840.10045.4.3.3", nullParameters: false, digest: "sha384" },
  "RSASSA-PKCS1-v1_5/SHA-256": {
    oid: "1.2.840.113549.1.1.11",
    nullParameters: true,
    digest: "sha256",
  },
};

function signatureAlgorithmOf(bundle: CaBundle): SignatureAlgorithm {
  const { name, hash } = signingAlgorithm(bundle.signingKey);
  const algorithm = SIGNATURE_ALGORITHMS[`${name}/${hash}`];
  if (!algorithm) {
    throw new CremaError(
      "CREMA_BASE_INTERNAL",
      `no certificate signature algorithm for ${name} ${hash}`,
    );
  }
  return algorithm;
}

/**
 * The signer's own subject key identifier, or else (RFC 5280's method 1) the SHA-1 of its public
 * key's bits, as @peculiar/x509's AuthorityKeyIdentifierExtension.create computes it.
 */
function keyIdentifier(signer: Certificate): ArrayBuffer {
  const { extensions, subjectPublicKeyInfo } = signer.tbsCertificate;
  const ski = extensions?.find((e) => e.extnID === id_ce_subjectKeyIdentifier);
  if (ski) return AsnConvert.parse(ski.extnValue, SubjectKeyIdentifier).buffer;
  const digest = createHash("sha1").update(new Uint8Array(subjectPublicKeyInfo.subjectPublicKey));
  return new Uint8Array(digest.digest()).buffer;
}

function authorityKeyIdentifier(signer: Certificate): Extension {
  const value = new AuthorityKeyIdentifier({
    keyIdentifier: new KeyIdentifier(keyIdentifier(signer)),
  });
  return new Extension({
    extnID: id_ce_authorityKeyIdentifier,
    critical: false,
    extnValue: new OctetString(AsnConvert.serialize(value)),
  });
}

function der(value: object): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(value));
}

function createLeafSigner(bundle: CaBundle): LeafSigner {
  const signer = AsnConvert.parse(bundle.signingCert.raw, Certificate);
  const algorithm = signatureAlgorithmOf(bundle);
  const identifier = new AlgorithmIdentifier({
    algorithm: algorithm.oid,
    ...(algorithm.nullParameters ? { parameters: null } : {}),
  });
  return {
    issuer: der(signer.tbsCertificate.subject),
    authorityKeyIdentifier: der(authorityKeyIdentifier(signer)),
    signatureAlgorithm: der(identifier),
    key: KeyObject.from(bundle.signingKey),
    digest: algorithm.digest,
  };
}

const signers = new WeakMap<CaBundle, LeafSigner>();

/** The bundle's leaf signer, made on first use. */
export function leafSigner(bundle: CaBundle): LeafSigner {
  let signer = signers.get(bundle);
  if (!signer) {
    signer = createLeafSigner(bundle);
    signers.set(bundle, signer);
  }
  return signer;
}
