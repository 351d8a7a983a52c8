import { generateKeyPairSync, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  keyMatchesCertificate,
  signingAlgorithm,
} from "./crypto-keys.ts";
import { makeRoot } from "./test-support.ts";

describe("importPrivateKeyPem", () => {
  it("reads PKCS#8, SEC1 (EC PRIVATE KEY) and PKCS#1 (RSA PRIVATE KEY)", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
    const ec384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey;
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
    const pems = [
      ec.export({ type: "pkcs8", format: "pem" }),
      ec.export({ type: "sec1", format: "pem" }),
      rsa.export({ type: "pkcs1", format: "pem" }),
      ec384.export({ type: "pkcs8", format: "pem" }),
    ].map(String);
    const keys = pems.map((pem) => importPrivateKeyPem(pem));
    expect(keys.map((k) => k.ok && signingAlgorithm(k.key))).toEqual([
      { name: "ECDSA", hash: "SHA-256" },
      { name: "ECDSA", hash: "SHA-256" },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      { name: "ECDSA", hash: "SHA-384" },
    ]);
  });

  it("refuses what is not a key, weak RSA and unsupported kinds", () => {
    expect(importPrivateKeyPem("nope")).toMatchObject({
      ok: false,
      reason: /not a PEM private key/,
    });
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    expect(
      importPrivateKeyPem(String(weak.export({ type: "pkcs8", format: "pem" }))),
    ).toMatchObject({
      ok: false,
      reason: /at least 2048 bits/,
    });
    const ed = generateKeyPairSync("ed25519").privateKey;
    expect(importPrivateKeyPem(String(ed.export({ type: "pkcs8", format: "pem" })))).toMatchObject({
      ok: false,
      reason: /ed25519 keys are not supported/,
    });
  });

  it("exports what it imports", async () => {
    const keys = await generateKeyPair("ecdsa-p256");
    const pem = await exportPrivateKeyPem(keys.privateKey);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const again = importPrivateKeyPem(pem);
    expect(again.ok && (await exportPrivateKeyPem(again.key))).toBe(pem);
  });
});

describe("keyMatchesCertificate", () => {
  it("tells the certificate's key from another", async () => {
    const a = await makeRoot();
    const b = await makeRoot();
    const cert = new X509Certificate(a.certPem);
    expect(keyMatchesCertificate(a.keyPem, cert)).toBe(true);
    expect(keyMatchesCertificate(b.keyPem, cert)).toBe(false);
    expect(keyMatchesCertificate("garbage", cert)).toBe(false);
  });
});
