// Mints an end-entity certificate under the CA's signing certificate — shared by workload
// certificates (from a CSR) and the control plane's own serving certificate. The shape follows
// Istio's: empty subject with a critical SAN, digitalSignature + keyEncipherment, serverAuth +
// clientAuth, CA:FALSE, and the issuer's key identifier.
// The DER is byte for byte what @peculiar/x509's generator wrote. The parts every leaf shares are
// encoded once (per module, or per bundle in leaf-signer.ts), the rest per request with the ASN.1
// schemas, and the whole is signed with node:crypto.
import { sign } from "node:crypto";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  BasicConstraints,
  ExtendedKeyUsage,
  Extension,
  GeneralName,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_kp_clientAuth,
  id_kp_serverAuth,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
  Validity,
} from "@peculiar/asn1-x509";
import type { CaBundle } from "./ca-bundle.ts";
import { DER_BIT_STRING, DER_INTEGER, DER_SEQUENCE, derTlv } from "./der.ts";
import { type LeafSigner, leafSigner } from "./leaf-signer.ts";
import { encodePem } from "./pem.ts";
import { randomSerialNumber } from "./root-ca.ts";

export interface LeafCertificateRequest {
  /** The subject's public key: SPKI DER, written into the certificate as it is. */
  publicKey: ArrayBuffer | Uint8Array;
  uris?: readonly string[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  notBefore: number;
  notAfter: number;
}

function extension(extnID: string, critical: boolean, value: object): Uint8Array {
  const extnValue = new OctetString(AsnConvert.serialize(value));
  return new Uint8Array(AsnConvert.serialize(new Extension({ extnID, critical, extnValue })));
}

/** [0] EXPLICIT INTEGER 2. */
const VERSION_V3 = Uint8Array.from([0xa0, 0x03, DER_INTEGER, 0x01, 0x02]);
/** [3] EXPLICIT, around the Extensions. */
const EXTENSIONS_TAG = 0xa3;
/** An empty Name: the identity is in the SAN alone. */
const EMPTY_SUBJECT = Uint8Array.from([DER_SEQUENCE, 0x00]);
const KEY_USAGE = extension(
  id_ce_keyUsage,
  true,
  new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment),
);
const EXTENDED_KEY_USAGE = extension(
  id_ce_extKeyUsage,
  false,
  new ExtendedKeyUsage([id_kp_serverAuth, id_kp_clientAuth]),
);
const NOT_A_CA = extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false }));

function subjectAltName(request: LeafCertificateRequest): Uint8Array {
  const names = new SubjectAlternativeName([
    ...(request.uris ?? []).map((uri) => new GeneralName({ uniformResourceIdentifier: uri })),
    ...(request.dnsNames ?? []).map((dns) => new GeneralName({ dNSName: dns })),
    ...(request.ipAddresses ?? []).map((ip) => new GeneralName({ iPAddress: ip })),
  ]);
  return extension(id_ce_subjectAltName, true, names);
}

/** A hex serial as a positive INTEGER: leading zeros dropped, a sign octet where needed. */
function serialNumber(hex: string): Uint8Array {
  const bytes = Buffer.from(hex, "hex");
  let first = 0;
  while (first < bytes.length - 1 && bytes[first] === 0) first++;
  const magnitude = bytes.length > 0 ? bytes.subarray(first) : Uint8Array.from([0]);
  const signOctet = magnitude[0]! > 0x7f ? [Uint8Array.from([0])] : [];
  return derTlv(DER_INTEGER, ...signOctet, magnitude);
}

/** UTCTime through 2049, GeneralizedTime after, whole seconds: the schema's Time decides. */
function validity(request: LeafCertificateRequest): Uint8Array {
  const notBefore = new Date(request.notBefore);
  const notAfter = new Date(request.notAfter);
  return new Uint8Array(AsnConvert.serialize(new Validity({ notBefore, notAfter })));
}

function tbsCertificate(signer: LeafSigner, request: LeafCertificateRequest): Uint8Array {
  const extensions = derTlv(
    DER_SEQUENCE,
    subjectAltName(request),
    KEY_USAGE,
    EXTENDED_KEY_USAGE,
    NOT_A_CA,
    signer.authorityKeyIdentifier,
  );
  return derTlv(
    DER_SEQUENCE,
    VERSION_V3,
    serialNumber(randomSerialNumber()),
    signer.signatureAlgorithm,
    signer.issuer,
    validity(request),
    EMPTY_SUBJECT,
    new Uint8Array(request.publicKey),
    derTlv(EXTENSIONS_TAG, extensions),
  );
}

/** Signs on the thread pool, as WebCrypto did; ECDSA signatures DER-encoded, as X.509 has them. */
function signDer(signer: LeafSigner, data: Uint8Array): Promise<Buffer> {
  const key = { key: signer.key, dsaEncoding: "der" as const };
  return new Promise((resolve, reject) => {
    sign(signer.digest, data, key, (error, signature) => {
      if (error) reject(error);
      else resolve(signature);
    });
  });
}

/** The signed certificate as PEM (one block, trailing newline). */
export async function issueLeafCertificate(
  bundle: CaBundle,
  request: LeafCertificateRequest,
): Promise<string> {
  const signer = leafSigner(bundle);
  const tbs = tbsCertificate(signer, request);
  const signature = await signDer(signer, tbs);
  const certificate = derTlv(
    DER_SEQUENCE,
    tbs,
    signer.signatureAlgorithm,
    derTlv(DER_BIT_STRING, Uint8Array.from([0]), signature),
  );
  return encodePem("CERTIFICATE", certificate);
}
