// The workload's key and its certificate request, made in memory the way pilot-agent makes them:
// a fresh key for every request (ECDSA P-256 by default, RSA 2048 on request), and a PKCS#10 CSR
// whose only content is the SPIFFE ID as a URI SAN — critical, since the subject is empty.
// Encoded with the ASN.1 schemas alone, not @peculiar/x509: that brings reflect-metadata, tsyringe
// and every algorithm's schemas, about 100 ms of CPU in the start of every sidecar.
import { KeyObject, sign } from "node:crypto";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  Attribute,
  Extension,
  Extensions,
  GeneralName,
  id_ce_subjectAltName,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
} from "@peculiar/asn1-x509";
import { CremaError } from "../../base/errors.ts";
import {
  type CryptoKeyPair,
  exportPrivateKeyPem,
  generateKeyPair,
  type KeyAlgorithm,
  signingAlgorithm,
} from "../../ca/crypto-keys.ts";
import { encodePem } from "../../ca/pem.ts";

export interface WorkloadCsr {
  /** PEM `CERTIFICATE REQUEST`. */
  csrPem: string;
  /** PKCS#8 PEM; never leaves the process. */
  privateKeyPem: string;
}

/** PKCS#9 extensionRequest: the extensions a CSR asks the CA to put in the certificate. */
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
/** DER NULL: RSA signature algorithms carry it as their parameters (RFC 4055), ECDSA's none. */
const DER_NULL = new Uint8Array([0x05, 0x00]).buffer;

interface CsrSignature {
  algorithm: AlgorithmIdentifier;
  /** node:crypto's digest name. */
  digest: string;
}

/** Keyed by signingAlgorithm()'s name and hash, the signature algorithms of RFC 5758 and 4055. */
const SIGNATURES: Record<string, CsrSignature> = {
  "ECDSA/SHA-256": {
    algorithm: new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.2" }),
    digest: "sha256",
  },
  "ECDSA/SHA-384": {
    algorithm: new AlgorithmIdentifier({ algorithm: "1.2.840.10045.4.3.3" }),
    digest: "sha384",
  },
  "RSASSA-PKCS1-v1_5/SHA-256": {
    algorithm: new AlgorithmIdentifier({
      algorithm: "1.2.840.113549.1.1.11",
      parameters: DER_NULL,
    }),
    digest: "sha256",
  },
};

function signatureFor(keys: CryptoKeyPair): CsrSignature {
  const { name, hash } = signingAlgorithm(keys.privateKey);
  const signature = SIGNATURES[`${name}/${hash}`];
  if (!signature) {
    throw new CremaError("CREMA_BASE_INTERNAL", `no CSR signature algorithm for ${name} ${hash}`);
  }
  return signature;
}

function subjectAltNameRequest(spiffeId: string): Attribute {
  const san = new SubjectAlternativeName([
    new GeneralName({ uniformResourceIdentifier: spiffeId }),
  ]);
  const extension = new Extension({
    extnID: id_ce_subjectAltName,
    critical: true,
    extnValue: new OctetString(AsnConvert.serialize(san)),
  });
  return new Attribute({
    type: EXTENSION_REQUEST,
    values: [AsnConvert.serialize(new Extensions([extension]))],
  });
}

/** Signs DER bytes in the thread pool; ECDSA signatures DER-encoded, as X.509 carries them. */
function signDer(digest: string, keys: CryptoKeyPair, data: ArrayBuffer): Promise<Buffer> {
  const key = { key: KeyObject.from(keys.privateKey), dsaEncoding: "der" as const };
  return new Promise((resolve, reject) => {
    sign(digest, new Uint8Array(data), key, (error, signature) => {
      if (error) reject(error);
      else resolve(signature);
    });
  });
}

/** A PKCS#10 CSR (PEM) for `spiffeId` with the key pair: empty subject, the ID as critical SAN. */
export async function buildSpiffeCsr(keys: CryptoKeyPair, spiffeId: string): Promise<string> {
  const signature = signatureFor(keys);
  const spki = await crypto.subtle.exportKey("spki", keys.publicKey);
  const info = new CertificationRequestInfo({
    subjectPKInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
  });
  info.attributes.push(subjectAltNameRequest(spiffeId));
  const tbs = AsnConvert.serialize(info);
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: signature.algorithm,
    signature: new Uint8Array(await signDer(signature.digest, keys, tbs)).buffer,
  });
  return encodePem("CERTIFICATE REQUEST", AsnConvert.serialize(request));
}

/** A new key pair and a CSR for `spiffeId` signed with it. */
export async function buildWorkloadCsr(
  spiffeId: string,
  keyAlgorithm: KeyAlgorithm,
): Promise<WorkloadCsr> {
  const keys = await generateKeyPair(keyAlgorithm);
  return {
    csrPem: await buildSpiffeCsr(keys, spiffeId),
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
  };
}
