// The workload's key and its certificate request, made in memory the way pilot-agent makes them:
// a fresh key for every request (ECDSA P-256 by default, RSA 2048 on request), and a PKCS#10 CSR
// whose only content is the SPIFFE ID as a URI SAN — critical, since the subject is empty.
import {
  exportPrivateKeyPem,
  generateKeyPair,
  type KeyAlgorithm,
  signingAlgorithm,
} from "../../ca/crypto-keys.ts";
import { x509 } from "../../ca/x509.ts";

export interface WorkloadCsr {
  /** PEM `CERTIFICATE REQUEST`. */
  csrPem: string;
  /** PKCS#8 PEM; never leaves the process. */
  privateKeyPem: string;
}

/** A new key pair and a CSR for `spiffeId` signed with it. */
export async function buildWorkloadCsr(
  spiffeId: string,
  keyAlgorithm: KeyAlgorithm,
): Promise<WorkloadCsr> {
  const keys = await generateKeyPair(keyAlgorithm);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], true),
    ],
  });
  return { csrPem: csr.toString("pem"), privateKeyPem: await exportPrivateKeyPem(keys.privateKey) };
}
