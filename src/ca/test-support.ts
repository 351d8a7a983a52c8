// Builders for the CA's tests: CSRs made the way a workload makes them (WebCrypto + @peculiar/x509),
// and an operator's plugged-in CA hierarchy (offline root → intermediate) written as `cacerts`.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildCaBundle, type CaBundle } from "./ca-bundle.ts";
import {
  type CryptoKey,
  type CryptoKeyPair,
  exportPrivateKeyPem,
  generateKeyPair,
  type KeyAlgorithm,
  signingAlgorithm,
} from "./crypto-keys.ts";
import { generateRootCertificate, randomSerialNumber } from "./root-ca.ts";
import { x509 } from "./x509.ts";

export const HOUR = 3600 * 1000;
export const DAY = 24 * HOUR;
export const YEAR = 365 * DAY;

const created: string[] = [];

/** A fresh directory under the system's temp dir; removeTemporaryDirs() deletes them all. */
export function temporaryDir(prefix = "crema-ca-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function removeTemporaryDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface TestCsr {
  csrPem: string;
  keys: CryptoKeyPair;
}

/** A CSR for the given SAN URIs (and DNS names), signed with a fresh key. */
export async function makeCsr(
  options: { uris?: string[]; dnsNames?: string[]; algorithm?: KeyAlgorithm } = {},
): Promise<TestCsr> {
  const keys = await generateKeyPair(options.algorithm ?? "ecdsa-p256");
  const names: x509.JsonGeneralName[] = [
    ...(options.uris ?? []).map((value) => ({ type: "url" as const, value })),
    ...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
  });
  return { csrPem: csr.toString("pem"), keys };
}

export interface TestCertificate {
  certPem: string;
  keyPem: string;
  key: CryptoKey;
}

/** A self-signed root, as an operator's offline root CA. */
export async function makeRoot(
  options: { subject?: string; notBefore?: number; ttlMs?: number } = {},
): Promise<TestCertificate> {
  const keys = await generateKeyPair("ecdsa-p256");
  const certPem = await generateRootCertificate({
    signingKey: keys.privateKey,
    publicKeySpki: await crypto.subtle.exportKey("spki", keys.publicKey),
    subject: options.subject ?? "CN=Offline Root, O=example",
    notBefore: options.notBefore ?? Date.now() - HOUR,
    ttlMs: options.ttlMs ?? 10 * YEAR,
  });
  return { certPem, keyPem: await exportPrivateKeyPem(keys.privateKey), key: keys.privateKey };
}

/** A certificate signed by `issuer`: a CA (intermediate) unless `ca` is false. */
export async function makeSigned(
  issuer: TestCertificate,
  options: { subject: string; ca?: boolean; notBefore?: number; ttlMs?: number },
): Promise<TestCertificate> {
  const keys = await generateKeyPair("ecdsa-p256");
  const ca = options.ca ?? true;
  const notBefore = options.notBefore ?? Date.now() - HOUR;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: options.subject,
    issuer: new x509.X509Certificate(issuer.certPem).subjectName,
    notBefore: new Date(notBefore),
    notAfter: new Date(notBefore + (options.ttlMs ?? 5 * YEAR)),
    publicKey: keys.publicKey,
    signingKey: issuer.key,
    signingAlgorithm: signingAlgorithm(issuer.key),
    extensions: [
      new x509.BasicConstraintsExtension(ca, undefined, true),
      new x509.KeyUsagesExtension(
        ca
          ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
          : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: certificate.toString("pem").trimEnd().concat("\n"),
    keyPem: await exportPrivateKeyPem(keys.privateKey),
    key: keys.privateKey,
  };
}

/** Writes Istio's `cacerts` files into a new directory; `files` overrides or omits (undefined). */
export function writeCacerts(files: Record<string, string | undefined>): string {
  const dir = temporaryDir("crema-cacerts-");
  for (const [name, text] of Object.entries(files)) {
    if (text !== undefined) writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** root → intermediate (the signing CA), laid out the way Istio's Makefile writes cacerts. */
export async function makePluggedInHierarchy(): Promise<{
  root: TestCertificate;
  intermediate: TestCertificate;
  files: Record<string, string>;
}> {
  const root = await makeRoot();
  const intermediate = await makeSigned(root, { subject: "CN=Intermediate CA, O=cluster1" });
  return {
    root,
    intermediate,
    files: {
      "ca-cert.pem": intermediate.certPem,
      "ca-key.pem": intermediate.keyPem,
      "root-cert.pem": root.certPem,
      "cert-chain.pem": intermediate.certPem + root.certPem,
    },
  };
}

/** The CA bundle a plugged-in hierarchy's `cacerts` files make. */
export function pluggedInBundle(files: Record<string, string>): CaBundle {
  return buildCaBundle({
    mode: "plugged-in",
    certPem: files["ca-cert.pem"]!,
    keyPem: files["ca-key.pem"]!,
    chainPem: files["cert-chain.pem"]!,
    rootsPem: files["root-cert.pem"]!,
    files: {
      cert: "ca-cert.pem",
      key: "ca-key.pem",
      chain: "cert-chain.pem",
      roots: "root-cert.pem",
    },
  });
}
