// The CA's answer to a CSR, decoded into the two SDS secrets: `default` (the leaf and the
// intermediates above it, with the key) and `ROOTCA` (the roots). Istio's CA answers with one PEM
// certificate per element, leaf first and root last; crema's puts any other trusted root (during
// a root rotation) just before the last one. Self-signed certificates after the leaf are roots.
import { X509Certificate } from "node:crypto";
import { keyMatchesCertificate } from "../../ca/crypto-keys.ts";
import { splitCertificates, validity } from "../../ca/pem.ts";

export interface IssuedCertificate {
  /** Leaf then intermediates, concatenated (no root): what the proxy presents. */
  readonly certificateChainPem: string;
  readonly privateKeyPem: string;
  /** Every root in the answer, concatenated: what the proxy trusts. */
  readonly rootsPem: string;
  /** The leaf's URI SANs (its SPIFFE identity). */
  readonly uris: readonly string[];
  readonly serialNumber: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export type IssuedCertificateDecode =
  | { ok: true; certificate: IssuedCertificate }
  | { ok: false; reason: string };

function isSelfSigned(certificate: X509Certificate): boolean {
  try {
    return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}

/** The URIs of a certificate's subjectAltName. */
export function subjectAltUris(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? "")
    .split(/,\s*/)
    .filter((name) => name.startsWith("URI:"))
    .map((name) => name.slice("URI:".length));
}

/** Checks and splits `cert_chain` for the key the CSR was made with. */
export function decodeIssuedCertificate(
  certChain: readonly string[],
  privateKeyPem: string,
): IssuedCertificateDecode {
  const pems = certChain.flatMap((element) => splitCertificates(String(element)));
  // pilot-agent refuses an answer without a root after the leaf as well.
  if (pems.length < 2) {
    return {
      ok: false,
      reason: `the CA answered ${pems.length} certificate(s); a leaf and its root are needed`,
    };
  }
  let certificates: X509Certificate[];
  try {
    certificates = pems.map((pem) => new X509Certificate(pem));
  } catch (error) {
    return { ok: false, reason: `the CA answered a certificate that does not parse (${error})` };
  }
  const leaf = certificates[0]!;
  if (!keyMatchesCertificate(privateKeyPem, leaf)) {
    return { ok: false, reason: "the CA answered a certificate for another key" };
  }
  const last = pems.length - 1;
  const chain = [pems[0]!];
  const roots: string[] = [];
  for (let index = 1; index <= last; index++) {
    if (index === last || isSelfSigned(certificates[index]!)) roots.push(pems[index]!);
    else chain.push(pems[index]!);
  }
  const { notBefore, notAfter } = validity(leaf);
  return {
    ok: true,
    certificate: {
      certificateChainPem: chain.join(""),
      privateKeyPem,
      rootsPem: roots.join(""),
      uris: subjectAltUris(leaf),
      serialNumber: leaf.serialNumber.toLowerCase(),
      notBefore,
      notAfter,
    },
  };
}
