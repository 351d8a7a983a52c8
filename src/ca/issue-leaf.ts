// Mints an end-entity certificate under the CA's signing certificate — shared by workload
// certificates (from a CSR) and the control plane's own serving certificate. The shape follows
// Istio's: empty subject with a critical SAN, digitalSignature + keyEncipherment, serverAuth +
// clientAuth, CA:FALSE, and the issuer's key identifier.
import type { CaBundle } from "./ca-bundle.ts";
import { signingAlgorithm } from "./crypto-keys.ts";
import { randomSerialNumber } from "./root-ca.ts";
import { x509 } from "./x509.ts";

export interface LeafCertificateRequest {
  /** The subject's public key: from a CSR, or SPKI DER. */
  publicKey: x509.PublicKey | ArrayBuffer | Uint8Array;
  uris?: readonly string[];
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  notBefore: number;
  notAfter: number;
}

const SUBJECT_KEY_IDENTIFIER = "2.5.29.14";

async function authorityKeyIdentifier(bundle: CaBundle): Promise<x509.Extension> {
  const signer = new x509.X509Certificate(bundle.signingCertPem);
  const ski = signer.getExtension<x509.SubjectKeyIdentifierExtension>(SUBJECT_KEY_IDENTIFIER);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(signer.publicKey);
}

/** The signed certificate as PEM (one block, trailing newline). */
export async function issueLeafCertificate(
  bundle: CaBundle,
  request: LeafCertificateRequest,
): Promise<string> {
  const names: x509.JsonGeneralName[] = [
    ...(request.uris ?? []).map((value) => ({ type: "url" as const, value })),
    ...(request.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(request.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value })),
  ];
  const issuer = new x509.X509Certificate(bundle.signingCertPem).subjectName;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: "",
    issuer,
    notBefore: new Date(request.notBefore),
    notAfter: new Date(request.notAfter),
    publicKey:
      request.publicKey instanceof x509.PublicKey
        ? request.publicKey
        : new Uint8Array(request.publicKey),
    signingKey: bundle.signingKey,
    signingAlgorithm: signingAlgorithm(bundle.signingKey),
    extensions: [
      new x509.SubjectAlternativeNameExtension(names, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      await authorityKeyIdentifier(bundle),
    ],
  });
  return certificate.toString("pem").trimEnd().concat("\n");
}
