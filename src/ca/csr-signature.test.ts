import { generateKeyPairSync, type KeyObject, sign, type webcrypto } from "node:crypto";
import { CertificationRequest, CertificationRequestInfo } from "@peculiar/asn1-csr";
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import {
  AlgorithmIdentifier,
  Attribute,
  Extension,
  Extensions,
  GeneralName,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  KeyUsage,
  KeyUsageFlags,
  SubjectAlternativeName,
  SubjectPublicKeyInfo,
} from "@peculiar/asn1-x509";
import { beforeAll, describe, expect, it } from "vitest";
import { CremaError } from "../base/errors.ts";
import { type CryptoKeyPair, generateKeyPair, signingAlgorithm } from "./crypto-keys.ts";
import { DER_INTEGER, DER_SEQUENCE, derTlv } from "./der.ts";
import { decodePemBlocks, encodePem } from "./pem.ts";
import { createSelfSignedCa } from "./root-ca.ts";
import { MAX_CSR_BYTES, readVerifiedCsr, requestedUris, signCsr } from "./sign-csr.ts";
import { x509 } from "./x509.ts";

// How the CA read and verified CSRs with @peculiar/x509 and WebCrypto, kept as the reference.
function invalidCsr(reason: string): CremaError {
  return new CremaError("CREMA_CA_INVALID_CSR", reason);
}
async function x509VerifyCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof csrPem !== "string" || csrPem.trim() === "") throw invalidCsr("the CSR is empty");
  if (Buffer.byteLength(csrPem) > MAX_CSR_BYTES) {
    throw invalidCsr(`the CSR is larger than ${MAX_CSR_BYTES} bytes`);
  }
  const blocks = decodePemBlocks(csrPem).filter((b) => b.label === "CERTIFICATE REQUEST");
  if (blocks.length !== 1) {
    throw invalidCsr(
      blocks.length === 0
        ? "the CSR is not a PEM 'CERTIFICATE REQUEST' block"
        : "the CSR holds more than one 'CERTIFICATE REQUEST' block",
    );
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(new Uint8Array(blocks[0]!.der));
  } catch (error) {
    throw invalidCsr(`the CSR is not a PKCS#10 request (${(error as Error).message})`);
  }
  let verified = false;
  try {
    verified = await csr.verify();
  } catch (error) {
    throw invalidCsr(
      `the CSR's key or signature algorithm is not supported (${(error as Error).message})`,
    );
  }
  if (!verified) throw invalidCsr("the CSR's signature does not verify with the key it carries");
  return csr;
}
function x509RequestedUris(csr: x509.Pkcs10CertificateRequest): string[] {
  const san = csr.getExtension("2.5.29.17");
  if (!(san instanceof x509.SubjectAlternativeNameExtension)) return [];
  return san.names.items.filter((name) => name.type === "url").map((name) => name.value);
}

const ID = "spiffe://cluster.local/ns/coffee/sa/barista";
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const ECDSA_SHA256 = "1.2.840.10045.4.3.2";
const RSA_SHA256 = "1.2.840.113549.1.1.11";

/** The outcome as a caller sees it: accepted, or the error code and reason without the detail. */
async function outcome(verify: () => Promise<unknown>): Promise<string> {
  try {
    await verify();
    return "accepted";
  } catch (error) {
    if (!(error instanceof CremaError)) return `unhandled ${(error as Error).name}`;
    return `${error.code}: ${error.message.replace(/ \(.*\)$/s, "")}`;
  }
}

function extensionRequest(extensions: Extension[]): Attribute {
  return new Attribute({
    type: EXTENSION_REQUEST,
    values: [AsnConvert.serialize(new Extensions(extensions))],
  });
}

function sanExtension(names: GeneralName[]): Extension {
  return new Extension({
    extnID: id_ce_subjectAltName,
    critical: true,
    extnValue: new OctetString(AsnConvert.serialize(new SubjectAlternativeName(names))),
  });
}

const SPIFFE_SAN = extensionRequest([
  sanExtension([new GeneralName({ uniformResourceIdentifier: ID })]),
]);

interface Crafted {
  publicKey: KeyObject;
  /** The signatureAlgorithm OID; RSA ones get NULL parameters. */
  algorithm: string;
  sign(tbs: Uint8Array): Uint8Array;
  attributes?: Attribute[];
  spki?: Uint8Array;
}

/** A CSR encoded and signed here, to reach the corners @peculiar/x509's generator never makes. */
function craftCsr(crafted: Crafted): string {
  const spki = crafted.spki ?? crafted.publicKey.export({ type: "spki", format: "der" });
  const info = new CertificationRequestInfo({
    subjectPKInfo: AsnConvert.parse(spki, SubjectPublicKeyInfo),
  });
  info.attributes.push(...(crafted.attributes ?? [SPIFFE_SAN]));
  const tbs = new Uint8Array(AsnConvert.serialize(info));
  const rsa = crafted.algorithm.startsWith("1.2.840.113549");
  const request = new CertificationRequest({
    certificationRequestInfo: info,
    signatureAlgorithm: new AlgorithmIdentifier({
      algorithm: crafted.algorithm,
      ...(rsa ? { parameters: null } : {}),
    }),
    signature: new Uint8Array(crafted.sign(tbs)).buffer,
  });
  return encodePem("CERTIFICATE REQUEST", AsnConvert.serialize(request));
}

/** r and s of a DER ECDSA signature, to re-encode them in odd ways. */
function ecdsaIntegers(der: Uint8Array): [Buffer, Buffer] {
  const bytes = Buffer.from(der);
  const rLength = bytes[3]!;
  const r = bytes.subarray(4, 4 + rLength);
  const s = bytes.subarray(6 + rLength, 6 + rLength + bytes[5 + rLength]!);
  return [r, s];
}

function ecdsaDer(r: Uint8Array, s: Uint8Array): Uint8Array {
  return derTlv(DER_SEQUENCE, derTlv(DER_INTEGER, r), derTlv(DER_INTEGER, s));
}

function withDer(csrPem: string, change: (der: Buffer) => Buffer): string {
  return encodePem("CERTIFICATE REQUEST", change(Buffer.from(decodePemBlocks(csrPem)[0]!.der)));
}

type KeyGeneration =
  | webcrypto.EcKeyGenParams
  | webcrypto.RsaHashedKeyGenParams
  | webcrypto.Algorithm;
type CsrSigning = x509.Pkcs10CertificateRequestCreateParams["signingAlgorithm"];

async function x509Csr(generate: KeyGeneration, signing: CsrSigning | webcrypto.RsaPssParams) {
  const keys = (await crypto.subtle.generateKey(generate, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: signing,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: ID }], true)],
  });
  return csr.toString("pem");
}

async function generatedCsr(keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.SubjectAlternativeNameExtension(
        [
          { type: "dns", value: "barista.coffee.svc" },
          { type: "url", value: ID },
          { type: "url", value: "spiffe://cluster.local/ns/coffee/sa/other" },
        ],
        true,
      ),
    ],
  });
  return csr.toString("pem");
}

const RSA_GENERATE = { modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
const corpus = new Map<string, string>();

beforeAll(async () => {
  const p256 = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const k256 = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
  const ecdsa = (key: KeyObject) => (tbs: Uint8Array) =>
    sign("sha256", tbs, { key, dsaEncoding: "der" });
  const rsaSign = (tbs: Uint8Array) => sign("sha256", tbs, rsa.privateKey);
  const ecdsaCsr = (sig: (tbs: Uint8Array) => Uint8Array, extra: Partial<Crafted> = {}) =>
    craftCsr({ publicKey: p256.publicKey, algorithm: ECDSA_SHA256, sign: sig, ...extra });
  const reencoded = (change: (r: Buffer, s: Buffer) => Uint8Array) => (tbs: Uint8Array) =>
    change(...ecdsaIntegers(ecdsa(p256.privateKey)(tbs)));

  const cases: Record<string, string | Promise<string>> = {
    "ECDSA P-256 (crema's workload CSR)": generatedCsr(await generateKeyPair("ecdsa-p256")),
    "RSA 2048 (crema's workload CSR)": generatedCsr(await generateKeyPair("rsa-2048")),
    "ECDSA P-384 SHA-384": x509Csr(
      { name: "ECDSA", namedCurve: "P-384" },
      { name: "ECDSA", hash: "SHA-384" },
    ),
    "ECDSA P-521 SHA-512": x509Csr(
      { name: "ECDSA", namedCurve: "P-521" },
      { name: "ECDSA", hash: "SHA-512" },
    ),
    "ECDSA P-256 SHA-1": x509Csr(
      { name: "ECDSA", namedCurve: "P-256" },
      { name: "ECDSA", hash: "SHA-1" },
    ),
    "RSA SHA-512": x509Csr(
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512", ...RSA_GENERATE },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" },
    ),
    "RSA 1024": x509Csr(
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", ...RSA_GENERATE, modulusLength: 1024 },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    ),
    "RSA-PSS": x509Csr(
      { name: "RSA-PSS", hash: "SHA-256", ...RSA_GENERATE },
      { name: "RSA-PSS", hash: "SHA-256", saltLength: 32 },
    ),
    Ed25519: x509Csr({ name: "Ed25519" }, { name: "Ed25519" }),
    "ECDSA on secp256k1, which WebCrypto lacks": craftCsr({
      publicKey: k256.publicKey,
      algorithm: ECDSA_SHA256,
      sign: ecdsa(k256.privateKey),
    }),
    "an EC key with an RSA signature algorithm": ecdsaCsr(ecdsa(p256.privateKey), {
      algorithm: RSA_SHA256,
    }),
    "an RSA key with an ECDSA signature algorithm": craftCsr({
      publicKey: rsa.publicKey,
      algorithm: ECDSA_SHA256,
      sign: rsaSign,
    }),
    "an unknown signature algorithm": ecdsaCsr(ecdsa(p256.privateKey), { algorithm: "1.2.3.4" }),
    "an EC point off the curve": ecdsaCsr(ecdsa(p256.privateKey), {
      spki: (() => {
        const spki = p256.publicKey.export({ type: "spki", format: "der" });
        spki[spki.length - 1]! ^= 0x01;
        return spki;
      })(),
    }),
    "an ECDSA signature that is not DER": ecdsaCsr(() => new Uint8Array(64).fill(7)),
    "an empty ECDSA signature": ecdsaCsr(() => new Uint8Array(0)),
    "an ECDSA r longer than the curve": ecdsaCsr(
      reencoded((r, s) => ecdsaDer(Buffer.concat([Buffer.from([1]), r.subarray(-32)]), s)),
    ),
    "an ECDSA r with extra leading zeros": ecdsaCsr(
      reencoded((r, s) => ecdsaDer(Buffer.concat([Buffer.from([0, 0]), r]), s)),
    ),
    "an ECDSA signature with bytes after it": ecdsaCsr(
      reencoded((r, s) => Buffer.concat([ecdsaDer(r, s), Buffer.from([0, 0])])),
    ),
    "an ECDSA signature for other data": ecdsaCsr((tbs) =>
      ecdsa(p256.privateKey)(Buffer.concat([tbs, Buffer.from([0])])),
    ),
    "an RSA signature for other data": craftCsr({
      publicKey: rsa.publicKey,
      algorithm: RSA_SHA256,
      sign: (tbs) => rsaSign(Buffer.concat([tbs, Buffer.from([0])])),
    }),
    "a truncated RSA signature": craftCsr({
      publicKey: rsa.publicKey,
      algorithm: RSA_SHA256,
      sign: (tbs) => rsaSign(tbs).subarray(1),
    }),
    "no attributes": ecdsaCsr(ecdsa(p256.privateKey), { attributes: [] }),
    "the SAN in a second extension request": ecdsaCsr(ecdsa(p256.privateKey), {
      attributes: [
        extensionRequest([
          new Extension({
            extnID: id_ce_keyUsage,
            critical: true,
            extnValue: new OctetString(
              AsnConvert.serialize(new KeyUsage(KeyUsageFlags.digitalSignature)),
            ),
          }),
        ]),
        SPIFFE_SAN,
      ],
    }),
    "two SAN extensions": ecdsaCsr(ecdsa(p256.privateKey), {
      attributes: [
        extensionRequest([
          sanExtension([new GeneralName({ dNSName: "first.example" })]),
          sanExtension([new GeneralName({ uniformResourceIdentifier: ID })]),
        ]),
      ],
    }),
    "an empty URI": ecdsaCsr(ecdsa(p256.privateKey), {
      attributes: [
        extensionRequest([sanExtension([new GeneralName({ uniformResourceIdentifier: "" })])]),
      ],
    }),
  };
  for (const [name, csr] of Object.entries(cases)) corpus.set(name, await csr);

  const valid = corpus.get("ECDSA P-256 (crema's workload CSR)")!;
  const truncated = withDer(valid, (der) => der.subarray(0, der.length - 10));
  const tampered = withDer(valid, (der) => {
    der[40]! ^= 0xff;
    return der;
  });
  for (const [name, pem] of Object.entries({
    empty: "",
    blank: " \n",
    "not PEM": "hello",
    "a certificate": encodePem("CERTIFICATE", decodePemBlocks(valid)[0]!.der),
    "base64 of zeros":
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
    "an empty block": "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n",
    "a SEQUENCE that is not a request": encodePem(
      "CERTIFICATE REQUEST",
      Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]),
    ),
    "two requests": valid + valid,
    "too large": `-----BEGIN CERTIFICATE REQUEST-----\n${"A".repeat(MAX_CSR_BYTES)}\n-----END CERTIFICATE REQUEST-----\n`,
    "a truncated request": truncated,
    "a tampered request": tampered,
  })) {
    corpus.set(name, pem);
  }
});

describe("readVerifiedCsr", () => {
  it("accepts and refuses exactly the CSRs @peculiar/x509 did, for the same reasons", async () => {
    const differences: string[] = [];
    for (const [name, pem] of corpus) {
      const ours = await outcome(() => readVerifiedCsr(pem));
      const theirs = await outcome(() => x509VerifyCsr(pem));
      if (ours !== theirs) differences.push(`${name}: ${ours} — was ${theirs}`);
    }
    expect(differences).toEqual([]);
  });

  it("covers acceptance and each reason a signature check can refuse", async () => {
    const outcomes = new Set<string>();
    for (const pem of corpus.values()) outcomes.add(await outcome(() => readVerifiedCsr(pem)));
    expect([...outcomes].sort()).toEqual([
      "CREMA_CA_INVALID_CSR: the CSR holds more than one 'CERTIFICATE REQUEST' block",
      "CREMA_CA_INVALID_CSR: the CSR is empty",
      "CREMA_CA_INVALID_CSR: the CSR is larger than 65536 bytes",
      "CREMA_CA_INVALID_CSR: the CSR is not a PEM 'CERTIFICATE REQUEST' block",
      "CREMA_CA_INVALID_CSR: the CSR is not a PKCS#10 request",
      "CREMA_CA_INVALID_CSR: the CSR's key or signature algorithm is not supported",
      "CREMA_CA_INVALID_CSR: the CSR's signature does not verify with the key it carries",
      "accepted",
    ]);
  });

  it("reads the same requested URIs", async () => {
    for (const [name, pem] of corpus) {
      if ((await outcome(() => x509VerifyCsr(pem))) !== "accepted") continue;
      const expected = x509RequestedUris(await x509VerifyCsr(pem));
      expect(requestedUris(await readVerifiedCsr(pem)), name).toEqual(expected);
    }
  });

  it("refuses a request whose subjectAltName does not decode, where it used to throw raw", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const garbage = new Extension({
      extnID: id_ce_subjectAltName,
      critical: true,
      extnValue: new OctetString(Uint8Array.from([0x04, 0x01, 0x00])),
    });
    const pem = craftCsr({
      publicKey,
      algorithm: ECDSA_SHA256,
      sign: (tbs) => sign("sha256", tbs, { key: privateKey, dsaEncoding: "der" }),
      attributes: [extensionRequest([garbage])],
    });
    const csr = await readVerifiedCsr(pem);
    expect(() => requestedUris(csr)).toThrow(
      expect.objectContaining({
        code: "CREMA_CA_INVALID_CSR",
        message: expect.stringMatching(/^the CSR is not a PKCS#10 request \(/),
      }),
    );
    expect(() => x509RequestedUris(new x509.Pkcs10CertificateRequest(pem))).toThrow();
    await expect(
      signCsr(await createSelfSignedCa(), {
        csrPem: pem,
        caller: { namespace: "coffee", serviceAccount: "barista" },
      }),
    ).rejects.toMatchObject({ code: "CREMA_CA_INVALID_CSR" });
  });
});
