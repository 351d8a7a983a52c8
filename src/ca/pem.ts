// PEM text in and out: splitting bundles into single blocks, normalising their layout, and
// parsing certificates into node:crypto X509Certificate objects.
import { X509Certificate } from "node:crypto";

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export interface PemBlock {
  readonly label: string;
  readonly der: Buffer;
}

/** Every PEM block in the text, in order; text between blocks is ignored. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const body = match[2]!.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) continue;
    blocks.push({ label: match[1]!, der: Buffer.from(body, "base64") });
  }
  return blocks;
}

/** One PEM block with 64-column base64 and a trailing newline, as Istio sends each certificate. */
export function encodePem(label: string, der: Uint8Array | ArrayBuffer): string {
  const base64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString(
    "base64",
  );
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The certificates in a PEM bundle, each re-encoded as its own normalised PEM string. */
export function splitCertificates(text: string): string[] {
  return decodePemBlocks(text)
    .filter((block) => block.label === "CERTIFICATE")
    .map((block) => encodePem("CERTIFICATE", block.der));
}

export type CertificateParse =
  | { ok: true; certificates: X509Certificate[]; pems: string[] }
  | { ok: false; reason: string };

/** Parses every certificate in a PEM bundle; fails on none or on any that does not parse. */
export function parseCertificates(text: string): CertificateParse {
  const pems = splitCertificates(text);
  if (pems.length === 0) return { ok: false, reason: "contains no PEM CERTIFICATE block" };
  const certificates: X509Certificate[] = [];
  for (const [index, pem] of pems.entries()) {
    try {
      certificates.push(new X509Certificate(pem));
    } catch (error) {
      return {
        ok: false,
        reason: `certificate ${index + 1} does not parse (${(error as Error).message})`,
      };
    }
  }
  return { ok: true, certificates, pems };
}

/** Milliseconds since the epoch of a certificate's notBefore and notAfter. */
export function validity(certificate: X509Certificate): { notBefore: number; notAfter: number } {
  return {
    notBefore: certificate.validFromDate.getTime(),
    notAfter: certificate.validToDate.getTime(),
  };
}
