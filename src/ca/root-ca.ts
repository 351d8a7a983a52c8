// The self-signed root CA (istiod's default): generate a root certificate and key, persist them
// as Istio's `istio-ca-secret` keys (ca-cert.pem, ca-key.pem, root-cert.pem) and load them back
// on the next start, so that workload certificates stay trusted across restarts.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type Clock, systemClock } from "../base/clock.ts";
import { CremaError } from "../base/errors.ts";
import { buildCaBundle, type CaBundle } from "./ca-bundle.ts";
import {
  CA_CERT_FILE,
  CA_KEY_FILE,
  ROOT_CERT_FILE,
  readOptionalFile,
  writeFileAtomically,
} from "./ca-files.ts";
import {
  type CryptoKey,
  DEFAULT_KEY_ALGORITHM,
  exportPrivateKeyPem,
  generateKeyPair,
  type KeyAlgorithm,
  signingAlgorithm,
} from "./crypto-keys.ts";
import { parseCertificates, validity } from "./pem.ts";
import { DEFAULT_TRUST_DOMAIN } from "./spiffe.ts";
import { x509 } from "./x509.ts";

/** Istio's self-signed root lifetime: 10 years (87600h). */
export const SELF_SIGNED_ROOT_TTL_MS = 3650 * 24 * 3600 * 1000;

/** A positive random 128-bit serial number, as hex. */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString("hex");
}

export interface RootCertificateOptions {
  /** The key that signs the root, which is also the root's own key. */
  signingKey: CryptoKey;
  /** The root's public key as SPKI DER (the public half of signingKey). */
  publicKeySpki: ArrayBuffer | Uint8Array;
  /** Istio names its root by organisation only: `O=<trust domain>`. A rotation reuses the Name. */
  subject: string | x509.Name;
  notBefore: number;
  ttlMs: number;
}

/** A self-signed CA certificate (PEM): CA:TRUE, keyCertSign and cRLSign, with a key identifier. */
export async function generateRootCertificate(options: RootCertificateOptions): Promise<string> {
  const publicKey = new Uint8Array(options.publicKeySpki);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumber(),
    subject: options.subject,
    issuer: options.subject,
    notBefore: new Date(options.notBefore),
    notAfter: new Date(options.notBefore + options.ttlMs),
    publicKey,
    signingKey: options.signingKey,
    signingAlgorithm: signingAlgorithm(options.signingKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  return certificate.toString("pem").trimEnd().concat("\n");
}

export interface SelfSignedCaOptions {
  /** Written into the root as its organisation, as Istio does. Default `cluster.local`. */
  trustDomain?: string;
  /** Default ECDSA P-256 (Istio's default is RSA 2048). */
  keyAlgorithm?: KeyAlgorithm;
  /** Default 10 years. */
  ttlMs?: number;
  clock?: Clock;
}

const SELF_SIGNED_FILES = {
  cert: CA_CERT_FILE,
  key: CA_KEY_FILE,
  chain: "(none)",
  roots: ROOT_CERT_FILE,
};

/** A new self-signed root CA, in memory. */
export async function createSelfSignedCa(options: SelfSignedCaOptions = {}): Promise<CaBundle> {
  const clock = options.clock ?? systemClock();
  const keys = await generateKeyPair(options.keyAlgorithm ?? DEFAULT_KEY_ALGORITHM);
  const certPem = await generateRootCertificate({
    signingKey: keys.privateKey,
    publicKeySpki: await crypto.subtle.exportKey("spki", keys.publicKey),
    subject: `O=${options.trustDomain ?? DEFAULT_TRUST_DOMAIN}`,
    notBefore: clock.now(),
    ttlMs: options.ttlMs ?? SELF_SIGNED_ROOT_TTL_MS,
  });
  const keyPem = await exportPrivateKeyPem(keys.privateKey);
  return buildCaBundle({
    mode: "self-signed",
    certPem,
    keyPem,
    rootsPem: certPem,
    files: SELF_SIGNED_FILES,
  });
}

/**
 * Assembles a self-signed bundle from its files' texts: ca-cert.pem is the root that signs,
 * root-cert.pem the roots still trusted (roots that have expired by `now` are dropped).
 */
export function selfSignedBundle(
  texts: { certPem: string; keyPem: string; rootsPem?: string },
  files: { cert: string; key: string; roots: string },
  now: number,
): CaBundle {
  const cert = parseCertificates(texts.certPem);
  const others = parseCertificates(texts.rootsPem ?? "");
  const stillValid = others.ok
    ? others.pems.filter((_, i) => validity(others.certificates[i]!).notAfter > now)
    : [];
  if (texts.rootsPem !== undefined && !others.ok) {
    throw new CremaError("CREMA_CA_INVALID_FILE", `${files.roots} ${others.reason}`);
  }
  // An intermediate here would be taken for the root, and rotated into a new self-signed one.
  const own = cert.ok ? cert.certificates[0]! : undefined;
  if (own && !(own.checkIssued(own) && own.verify(own.publicKey))) {
    throw new CremaError(
      "CREMA_CA_INVALID_FILE",
      `${files.cert} is not self-signed (issued by ${own.issuer.replaceAll("\n", ", ")}): a plugged-in CA's files go in the cacerts folder of the CA directory`,
    );
  }
  const signer = cert.ok ? cert.pems[0]! : texts.certPem;
  return buildCaBundle({
    mode: "self-signed",
    certPem: texts.certPem,
    keyPem: texts.keyPem,
    rootsPem: [signer, ...stillValid].join(""),
    files: { ...files, chain: "(none)" },
  });
}

/** Writes a self-signed CA's files: root-cert.pem first, then the key, then ca-cert.pem. */
export async function writeSelfSignedCa(dir: string, bundle: CaBundle): Promise<void> {
  await writeFileAtomically(dir, ROOT_CERT_FILE, bundle.rootsPem.join(""));
  await writeFileAtomically(dir, CA_KEY_FILE, bundle.signingKeyPem, { secret: true });
  await writeFileAtomically(dir, CA_CERT_FILE, bundle.signingCertPem);
}

/** The self-signed CA stored in `dir`, or undefined when the directory holds none. */
export async function loadSelfSignedCa(
  dir: string,
  options: { clock?: Clock } = {},
): Promise<CaBundle | undefined> {
  const certPem = await readOptionalFile(dir, CA_CERT_FILE);
  const keyPem = await readOptionalFile(dir, CA_KEY_FILE);
  if (certPem === undefined && keyPem === undefined) return undefined;
  if (certPem === undefined || keyPem === undefined) {
    const missing = join(dir, certPem === undefined ? CA_CERT_FILE : CA_KEY_FILE);
    const present = join(dir, certPem === undefined ? CA_KEY_FILE : CA_CERT_FILE);
    throw new CremaError(
      "CREMA_CA_INVALID_FILE",
      `${missing} is missing but ${present} exists; restore it rather than generate a new root`,
    );
  }
  const rootsPem = await readOptionalFile(dir, ROOT_CERT_FILE);
  return selfSignedBundle(
    { certPem, keyPem, rootsPem },
    {
      cert: join(dir, CA_CERT_FILE),
      key: join(dir, CA_KEY_FILE),
      roots: join(dir, ROOT_CERT_FILE),
    },
    (options.clock ?? systemClock()).now(),
  );
}

/** Loads the self-signed CA from `dir`, or generates one and writes it there. */
export async function loadOrCreateSelfSignedCa(
  dir: string,
  options: SelfSignedCaOptions = {},
): Promise<{ bundle: CaBundle; created: boolean }> {
  const loaded = await loadSelfSignedCa(dir, options);
  if (loaded) return { bundle: loaded, created: false };
  const bundle = await createSelfSignedCa(options);
  await writeSelfSignedCa(dir, bundle);
  return { bundle, created: true };
}
