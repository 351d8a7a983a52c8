import { createPublicKey, X509Certificate } from "node:crypto";
import { AsnConvert } from "@peculiar/asn1-schema";
import { Certificate } from "@peculiar/asn1-x509";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { manualClock } from "../base/clock.ts";
import { buildCaBundle, type CaBundle } from "./ca-bundle.ts";
import {
  type CryptoKeyPair,
  exportPrivateKeyPem,
  generateKeyPair,
  signingAlgorithm,
} from "./crypto-keys.ts";
import { issueLeafCertificate, type LeafCertificateRequest } from "./issue-leaf.ts";
import { decodePemBlocks } from "./pem.ts";
import { createSelfSignedCa, generateRootCertificate, randomSerialNumber } from "./root-ca.ts";
import { makePluggedInHierarchy, pluggedInBundle, YEAR } from "./test-support.ts";
import { x509 } from "./x509.ts";

// Both implementations draw their serial from randomSerialNumber(); the tests pin it.
const serial = vi.hoisted(() => ({ next: undefined as string | undefined }));
vi.mock("./root-ca.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("./root-ca.ts")>();
  return { ...original, randomSerialNumber: () => serial.next ?? original.randomSerialNumber() };
});

/** issueLeafCertificate as it was with @peculiar/x509's generator, kept as the reference. */
async function x509IssueLeafCertificate(
  bundle: CaBundle,
  request: LeafCertificateRequest,
): Promise<string> {
  const authorityKeyIdentifier = async (): Promise<x509.Extension> => {
    const signer = new x509.X509Certificate(bundle.signingCertPem);
    const ski = signer.getExtension<x509.SubjectKeyIdentifierExtension>("2.5.29.14");
    if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
    return x509.AuthorityKeyIdentifierExtension.create(signer.publicKey);
  };
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
    publicKey: new Uint8Array(request.publicKey),
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
      await authorityKeyIdentifier(),
    ],
  });
  return certificate.toString("pem").trimEnd().concat("\n");
}

const START = Date.UTC(2030, 0, 1);
const SPIFFE = "spiffe://cluster.local/ns/coffee/sa/barista";

function der(pem: string): Buffer {
  return decodePemBlocks(pem)[0]!.der;
}

function parts(pem: string): { tbs: Buffer; algorithm: Buffer; signature: Buffer } {
  const certificate = AsnConvert.parse(der(pem), Certificate);
  return {
    tbs: Buffer.from(certificate.tbsCertificateRaw!),
    algorithm: Buffer.from(AsnConvert.serialize(certificate.signatureAlgorithm)),
    signature: Buffer.from(certificate.signatureValue),
  };
}

/** A self-signed CA on a P-384 key, which signs with ECDSA SHA-384. */
async function p384Ca(): Promise<CaBundle> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const certPem = await generateRootCertificate({
    signingKey: keys.privateKey,
    publicKeySpki: await crypto.subtle.exportKey("spki", keys.publicKey),
    subject: "O=cluster.local",
    notBefore: START,
    ttlMs: 10 * YEAR,
  });
  return selfSigned(certPem, await exportPrivateKeyPem(keys.privateKey));
}

/** A CA whose certificate has no subjectKeyIdentifier, so leaves compute its key identifier. */
async function caWithoutSki(): Promise<CaBundle> {
  const keys = await generateKeyPair("ecdsa-p256");
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=No SKI Root, O=example",
    notBefore: new Date(START),
    notAfter: new Date(START + 10 * YEAR),
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return selfSigned(root.toString("pem"), await exportPrivateKeyPem(keys.privateKey));
}

function selfSigned(certPem: string, keyPem: string): CaBundle {
  return buildCaBundle({
    mode: "self-signed",
    certPem,
    keyPem,
    rootsPem: certPem,
    files: { cert: "ca-cert.pem", key: "ca-key.pem", chain: "(none)", roots: "root-cert.pem" },
  });
}

async function pluggedInCa(): Promise<CaBundle> {
  const { files } = await makePluggedInHierarchy();
  return pluggedInBundle(files);
}

const CAS = {
  "ECDSA P-256": () => createSelfSignedCa({ clock: manualClock(START) }),
  "RSA 2048": () => createSelfSignedCa({ keyAlgorithm: "rsa-2048", clock: manualClock(START) }),
  "ECDSA P-384": p384Ca,
  "plugged-in intermediate": pluggedInCa,
  "no subjectKeyIdentifier": caWithoutSki,
};
const cas = new Map<string, CaBundle>();
const leafKeys = new Map<string, ArrayBuffer>();
beforeAll(async () => {
  for (const [name, make] of Object.entries(CAS)) cas.set(name, await make());
  for (const algorithm of ["ecdsa-p256", "rsa-2048"] as const) {
    const keys = await generateKeyPair(algorithm);
    leafKeys.set(algorithm, await crypto.subtle.exportKey("spki", keys.publicKey));
  }
});

const REQUESTS: Record<string, Omit<LeafCertificateRequest, "publicKey">> = {
  "a workload": { uris: [SPIFFE], notBefore: START - 120_000, notAfter: START + 86_400_000 },
  "a serving certificate": {
    dnsNames: ["istiod.istio-system.svc", "crema.local"],
    ipAddresses: ["127.0.0.1", "::1", "fd00:10:96::a"],
    notBefore: START + 1234,
    notAfter: START + YEAR + 5678,
  },
  "validity past 2049": {
    uris: [SPIFFE, "spiffe://cluster.local/ns/tea/sa/kettle"],
    dnsNames: ["kettle.tea.svc"],
    notBefore: Date.UTC(2049, 11, 31, 23, 59, 59),
    notAfter: Date.UTC(2050, 0, 1),
  },
};

const SERIALS = [undefined, "7f00000000000000000000000000ff01", "8000000000000000000000000000ff01"];

describe("issueLeafCertificate", () => {
  afterEach(() => {
    serial.next = undefined;
  });

  for (const caName of Object.keys(CAS)) {
    for (const keyAlgorithm of ["ecdsa-p256", "rsa-2048"]) {
      it(`writes what @peculiar/x509 wrote: ${caName} CA, ${keyAlgorithm} leaf`, async () => {
        const ca = cas.get(caName)!;
        const caCert = new X509Certificate(ca.signingCertPem);
        for (const [requestName, fields] of Object.entries(REQUESTS)) {
          for (const pinned of SERIALS) {
            serial.next = undefined;
            serial.next = pinned ?? randomSerialNumber();
            const request = { ...fields, publicKey: leafKeys.get(keyAlgorithm)! };
            const [ours, theirs] = [
              await issueLeafCertificate(ca, request),
              await x509IssueLeafCertificate(ca, request),
            ];
            const context = `${requestName}, serial ${serial.next}`;
            expect(parts(ours).tbs.toString("hex"), context).toBe(
              parts(theirs).tbs.toString("hex"),
            );
            expect(parts(ours).algorithm, context).toEqual(parts(theirs).algorithm);
            // PKCS#1 v1.5 signatures are deterministic: an RSA CA's certificate is identical.
            if (caName === "RSA 2048") expect(ours, context).toBe(theirs);

            const leaf = new X509Certificate(ours);
            expect(leaf.verify(caCert.publicKey), context).toBe(true);
            expect(leaf.checkIssued(caCert), context).toBe(true);
          }
        }
      });
    }
  }

  it("verifies with the CA's key taken from its PEM, and carries the leaf key unchanged", async () => {
    const ca = cas.get("ECDSA P-256")!;
    const publicKey = leafKeys.get("ecdsa-p256")!;
    const pem = await issueLeafCertificate(ca, {
      publicKey,
      uris: [SPIFFE],
      ...REQUESTS["a workload"]!,
    });
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/,
    );
    const leaf = new X509Certificate(pem);
    expect(leaf.verify(createPublicKey(ca.signingCertPem))).toBe(true);
    expect(leaf.publicKey.export({ type: "spki", format: "der" })).toEqual(Buffer.from(publicKey));
  });

  it("gives every certificate a fresh serial", async () => {
    const ca = cas.get("ECDSA P-256")!;
    const request = { publicKey: leafKeys.get("ecdsa-p256")!, ...REQUESTS["a workload"]! };
    const [a, b] = await Promise.all([
      issueLeafCertificate(ca, request),
      issueLeafCertificate(ca, request),
    ]);
    expect(new X509Certificate(a).serialNumber).not.toBe(new X509Certificate(b).serialNumber);
  });
});
