// The CA's signing material as one immutable value — signing certificate and key, the
// intermediates above it, and the trusted roots — and the checks that make it usable: the key
// matches the certificate, the certificate is a CA, and it chains to a root. Istio's KeyCertBundle.
import type { X509Certificate } from "node:crypto";
import { CremaError } from "../base/errors.ts";
import { type CryptoKey, importPrivateKeyPem, keyMatchesCertificate } from "./crypto-keys.ts";
import { parseCertificates, validity } from "./pem.ts";

/** self-signed: crema generated the root and signs with it. plugged-in: operator's `cacerts`. */
export type CaMode = "self-signed" | "plugged-in";

export interface CaBundle {
  readonly mode: CaMode;
  readonly signingCertPem: string;
  readonly signingCert: X509Certificate;
  readonly signingKey: CryptoKey;
  readonly signingKeyPem: string;
  /** Certificates between the signing certificate and its root, nearest first. */
  readonly intermediatesPem: readonly string[];
  /** The trust bundle: the root the signing certificate chains to first, then other trusted roots. */
  readonly rootsPem: readonly string[];
  /** The earliest notAfter from the signing certificate up to its root: nothing it signs may outlive it. */
  readonly chainNotAfter: number;
}

/** The roots workloads should trust (during a root rotation, both the new and the old one). */
export function trustBundle(bundle: CaBundle): string[] {
  return [...bundle.rootsPem];
}

/**
 * The chain a certificate signed by this CA presents above itself: the signing certificate
 * (unless it is the root itself), the intermediates, and the issuing root.
 */
export function issuerChain(bundle: CaBundle): string[] {
  const root = bundle.rootsPem[0]!;
  const signer = bundle.signingCertPem === root ? [] : [bundle.signingCertPem];
  return [...signer, ...bundle.intermediatesPem, root];
}

/** The PEM texts a bundle is built from, with the file names errors should mention. */
export interface CaBundleInput {
  mode: CaMode;
  certPem: string;
  keyPem: string;
  /** cert-chain.pem: may repeat the signing certificate and the root; both are skipped. */
  chainPem?: string;
  rootsPem: string;
  files: { cert: string; key: string; chain: string; roots: string };
  /** When set, every certificate from the signer to its root must be valid at this instant. */
  validAt?: number;
}

function invalidFile(file: string, reason: string): CremaError {
  return new CremaError("CREMA_CA_INVALID_FILE", `${file} ${reason}`);
}

function describeName(name: string): string {
  return `'${name.replaceAll("\n", ", ") || "(empty subject)"}'`;
}

function describe(certificate: X509Certificate): string {
  return describeName(certificate.subject);
}

function issued(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

/** Checks the parts against each other and assembles a CaBundle; errors name the file at fault. */
export function buildCaBundle(input: CaBundleInput): CaBundle {
  const { files } = input;
  const cert = parseCertificates(input.certPem);
  if (!cert.ok) throw invalidFile(files.cert, cert.reason);
  const signingCert = cert.certificates[0]!;
  const signingCertPem = cert.pems[0]!;
  const key = importPrivateKeyPem(input.keyPem);
  if (!key.ok) throw invalidFile(files.key, key.reason);
  if (!keyMatchesCertificate(input.keyPem, signingCert)) {
    throw new CremaError(
      "CREMA_CA_KEY_MISMATCH",
      `${files.key} is not the private key of the certificate in ${files.cert} (${describe(signingCert)})`,
    );
  }
  if (!signingCert.ca) {
    throw new CremaError(
      "CREMA_CA_INVALID_CHAIN",
      `${files.cert} (${describe(signingCert)}) is not a CA certificate (basicConstraints CA:FALSE), so it cannot sign certificates`,
    );
  }
  const roots = parseCertificates(input.rootsPem);
  if (!roots.ok) throw invalidFile(files.roots, roots.reason);
  const rootFingerprints = new Set(roots.certificates.map((c) => c.fingerprint256));

  const candidates: { certificate: X509Certificate; pem: string }[] = [];
  if (input.chainPem !== undefined && input.chainPem.trim() !== "") {
    const chain = parseCertificates(input.chainPem);
    if (!chain.ok) throw invalidFile(files.chain, chain.reason);
    chain.certificates.forEach((certificate, index) => {
      const fingerprint = certificate.fingerprint256;
      if (fingerprint === signingCert.fingerprint256 || rootFingerprints.has(fingerprint)) return;
      candidates.push({ certificate, pem: chain.pems[index]! });
    });
  }

  // Walk up from the signing certificate: each step must be signed by the next, ending at a root.
  const intermediates: { certificate: X509Certificate; pem: string }[] = [];
  let current = signingCert;
  let rootIndex = -1;
  for (let depth = 0; depth <= candidates.length; depth++) {
    rootIndex = roots.certificates.findIndex((root) => issued(current, root));
    if (rootIndex >= 0) break;
    const next = candidates.find(
      (c) => !intermediates.includes(c) && issued(current, c.certificate),
    );
    if (!next) break;
    intermediates.push(next);
    current = next.certificate;
  }
  if (rootIndex < 0) {
    const via = candidates.length > 0 ? ` through ${files.chain}` : "";
    throw new CremaError(
      "CREMA_CA_INVALID_CHAIN",
      `${files.cert} does not chain to any certificate in ${files.roots}${via}: nothing there issued ${describe(current)} (issuer ${describeName(current.issuer)})`,
    );
  }

  const path = [
    { certificate: signingCert, file: files.cert },
    ...intermediates.map((i) => ({ certificate: i.certificate, file: files.chain })),
    { certificate: roots.certificates[rootIndex]!, file: files.roots },
  ];
  if (input.validAt !== undefined) {
    for (const { certificate, file } of path) {
      const { notBefore, notAfter } = validity(certificate);
      if (input.validAt < notBefore || input.validAt >= notAfter) {
        const when = input.validAt < notBefore ? "is not valid before" : "expired on";
        const date = new Date(input.validAt < notBefore ? notBefore : notAfter).toISOString();
        throw new CremaError(
          "CREMA_CA_INVALID_CHAIN",
          `${describe(certificate)} in ${file} ${when} ${date}`,
        );
      }
    }
  }

  const rootsPem = [roots.pems[rootIndex]!, ...roots.pems.filter((_, i) => i !== rootIndex)];
  return {
    mode: input.mode,
    signingCertPem,
    signingCert,
    signingKey: key.key,
    signingKeyPem: input.keyPem,
    intermediatesPem: intermediates.map((i) => i.pem),
    rootsPem: dedupe(rootsPem),
    chainNotAfter: Math.min(...path.map(({ certificate }) => validity(certificate).notAfter)),
  };
}

function dedupe(pems: string[]): string[] {
  return [...new Set(pems)];
}
