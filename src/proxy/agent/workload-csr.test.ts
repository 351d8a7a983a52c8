import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { CertificationRequest } from "@peculiar/asn1-csr";
import { AsnConvert } from "@peculiar/asn1-schema";
import { beforeAll, describe, expect, it } from "vitest";
import type { CaBundle } from "../../ca/ca-bundle.ts";
import { type CryptoKeyPair, generateKeyPair, signingAlgorithm } from "../../ca/crypto-keys.ts";
import { decodePemBlocks } from "../../ca/pem.ts";
import { createSelfSignedCa } from "../../ca/root-ca.ts";
import { requestedUris, signCsr, verifyCsr } from "../../ca/sign-csr.ts";
import { x509 } from "../../ca/x509.ts";
import { buildSpiffeCsr, buildWorkloadCsr } from "./workload-csr.ts";

const ID = "spiffe://cluster.local/ns/coffee/sa/barista";
const SUBJECT_ALT_NAME = "2.5.29.17";
const ALGORITHMS = [
  ["ecdsa-p256", "ec", "1.2.840.10045.4.3.2"],
  ["rsa-2048", "rsa", "1.2.840.113549.1.1.11"],
] as const;

function csrDer(csrPem: string): Buffer {
  const blocks = decodePemBlocks(csrPem);
  expect(blocks.map((block) => block.label)).toEqual(["CERTIFICATE REQUEST"]);
  return blocks[0]!.der;
}

/** What @peculiar/x509 made for the workload before crema encoded the CSR itself. */
async function x509Csr(keys: CryptoKeyPair, spiffeId: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], true),
    ],
  });
  return csr.toString("pem");
}

let ca: CaBundle;
beforeAll(async () => {
  ca = await createSelfSignedCa();
});

describe("buildWorkloadCsr", () => {
  it.each(ALGORITHMS)(
    "makes a %s key and a CSR the CA accepts, asking for the SPIFFE ID only",
    async (algorithm, type) => {
      const { csrPem, privateKeyPem } = await buildWorkloadCsr(ID, algorithm);
      const csr = await verifyCsr(csrPem);
      expect(requestedUris(csr)).toEqual([ID]);
      expect(csr.subject).toBe("");
      const key = createPrivateKey(privateKeyPem);
      expect(key.asymmetricKeyType).toBe(type);
      if (type === "rsa") expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
      // The CSR carries the public half of the key that is kept.
      const fromCsr = Buffer.from(csr.publicKey.rawData);
      expect(fromCsr.equals(createPublicKey(key).export({ type: "spki", format: "der" }))).toBe(
        true,
      );
    },
  );

  it.each(ALGORITHMS)(
    "signs a %s CSR that verifies, with an empty subject and the ID as a critical URI SAN",
    async (algorithm, _type, signatureOid) => {
      const { csrPem } = await buildWorkloadCsr(ID, algorithm);
      expect(csrPem).toMatch(
        /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/,
      );
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      expect(await csr.verify()).toBe(true);
      expect(csr.subject).toBe("");
      expect(csr.extensions).toHaveLength(1);
      const san = csr.getExtension(SUBJECT_ALT_NAME);
      expect(san).toBeInstanceOf(x509.SubjectAlternativeNameExtension);
      expect(san?.critical).toBe(true);
      expect((san as x509.SubjectAlternativeNameExtension).names.toJSON()).toEqual([
        { type: "url", value: ID },
      ]);
      const asn = AsnConvert.parse(csrDer(csrPem), CertificationRequest);
      expect(asn.certificationRequestInfo.version).toBe(0);
      expect(asn.certificationRequestInfo.subject).toHaveLength(0);
      expect(asn.signatureAlgorithm.algorithm).toBe(signatureOid);
      // X.509 carries an ECDSA signature as a DER SEQUENCE of r and s, not WebCrypto's r||s.
      if (algorithm === "ecdsa-p256") expect(new Uint8Array(asn.signature)[0]).toBe(0x30);
    },
  );

  it.each(ALGORITHMS)(
    "encodes a %s CSR as @peculiar/x509's generator did, all but the signature",
    async (algorithm) => {
      const keys = await generateKeyPair(algorithm);
      const [ours, theirs] = await Promise.all([buildSpiffeCsr(keys, ID), x509Csr(keys, ID)]);
      const a = AsnConvert.parse(csrDer(ours), CertificationRequest);
      const b = AsnConvert.parse(csrDer(theirs), CertificationRequest);
      expect(Buffer.from(a.certificationRequestInfoRaw!)).toEqual(
        Buffer.from(b.certificationRequestInfoRaw!),
      );
      expect(Buffer.from(AsnConvert.serialize(a.signatureAlgorithm))).toEqual(
        Buffer.from(AsnConvert.serialize(b.signatureAlgorithm)),
      );
      // PKCS#1 v1.5 signatures are deterministic, so an RSA CSR is the same to the last byte.
      if (algorithm === "rsa-2048") expect(csrDer(ours)).toEqual(csrDer(theirs));
    },
  );

  it.each(ALGORITHMS)(
    "gets a %s CSR signed by the CA, the certificate naming the SPIFFE ID",
    async (algorithm) => {
      const { csrPem } = await buildWorkloadCsr(ID, algorithm);
      const signed = await signCsr(ca, {
        csrPem,
        caller: { namespace: "coffee", serviceAccount: "barista" },
      });
      expect(signed.identity).toBe(ID);
      expect(new X509Certificate(signed.certChain[0]!).subjectAltName).toBe(`URI:${ID}`);
    },
  );

  it("uses a fresh key every time", async () => {
    const [a, b] = await Promise.all([
      buildWorkloadCsr(ID, "ecdsa-p256"),
      buildWorkloadCsr(ID, "ecdsa-p256"),
    ]);
    expect(a.privateKeyPem).not.toBe(b.privateKeyPem);
  });
});
