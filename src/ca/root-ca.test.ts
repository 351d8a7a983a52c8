import { X509Certificate } from "node:crypto";
import { readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import { trustBundle } from "./ca-bundle.ts";
import {
  createSelfSignedCa,
  loadOrCreateSelfSignedCa,
  loadSelfSignedCa,
  SELF_SIGNED_ROOT_TTL_MS,
} from "./root-ca.ts";
import { makePluggedInHierarchy, removeTemporaryDirs, temporaryDir } from "./test-support.ts";

afterAll(removeTemporaryDirs);

const START = Date.UTC(2030, 0, 1);

describe("createSelfSignedCa", () => {
  it("generates a 10-year ECDSA P-256 root named after the trust domain", async () => {
    const bundle = await createSelfSignedCa({
      trustDomain: "coffee.example",
      clock: manualClock(START),
    });
    const root = new X509Certificate(bundle.signingCertPem);
    expect(bundle.mode).toBe("self-signed");
    expect(root.ca).toBe(true);
    expect(root.subject).toBe("O=coffee.example");
    expect(root.checkIssued(root)).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(root.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(root.validFromDate.getTime()).toBe(START);
    expect(root.validToDate.getTime()).toBe(START + SELF_SIGNED_ROOT_TTL_MS);
    expect(trustBundle(bundle)).toEqual([bundle.signingCertPem]);
    expect(bundle.intermediatesPem).toEqual([]);
  });

  it("generates an RSA 2048 root when asked (Istio's default)", async () => {
    const bundle = await createSelfSignedCa({ keyAlgorithm: "rsa-2048" });
    const root = new X509Certificate(bundle.signingCertPem);
    expect(root.publicKey.asymmetricKeyType).toBe("rsa");
    expect(root.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(root.verify(root.publicKey)).toBe(true);
  });
});

describe("loadOrCreateSelfSignedCa", () => {
  it("writes istio-ca-secret's files and loads the same CA on the next start", async () => {
    const dir = temporaryDir();
    const first = await loadOrCreateSelfSignedCa(dir);
    expect(first.created).toBe(true);
    expect(readFileSync(join(dir, "ca-cert.pem"), "utf8")).toBe(first.bundle.signingCertPem);
    expect(readFileSync(join(dir, "root-cert.pem"), "utf8")).toBe(first.bundle.signingCertPem);
    expect(readFileSync(join(dir, "ca-key.pem"), "utf8")).toMatch(/BEGIN PRIVATE KEY/);
    expect(statSync(join(dir, "ca-key.pem")).mode & 0o777).toBe(0o600);

    const second = await loadOrCreateSelfSignedCa(dir);
    expect(second.created).toBe(false);
    expect(second.bundle.signingCertPem).toBe(first.bundle.signingCertPem);
    expect(second.bundle.signingKeyPem).toBe(first.bundle.signingKeyPem);
  });

  it("refuses to replace a root whose key or certificate went missing", async () => {
    const dir = temporaryDir();
    await loadOrCreateSelfSignedCa(dir);
    unlinkSync(join(dir, "ca-key.pem"));
    await expect(loadOrCreateSelfSignedCa(dir)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_FILE",
      message: expect.stringMatching(/ca-key\.pem is missing but .*ca-cert\.pem exists/),
    });
  });

  it("names the file that does not parse", async () => {
    const dir = temporaryDir();
    await loadOrCreateSelfSignedCa(dir);
    writeFileSync(
      join(dir, "ca-key.pem"),
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    await expect(loadSelfSignedCa(dir)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_FILE",
      message: expect.stringContaining(join(dir, "ca-key.pem")),
    });
    writeFileSync(join(dir, "ca-cert.pem"), "not a certificate");
    await expect(loadSelfSignedCa(dir)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_FILE",
      message: `${join(dir, "ca-cert.pem")} contains no PEM CERTIFICATE block`,
    });
  });

  it("refuses a key that belongs to another certificate", async () => {
    const a = temporaryDir();
    const b = temporaryDir();
    await loadOrCreateSelfSignedCa(a);
    await loadOrCreateSelfSignedCa(b);
    writeFileSync(join(a, "ca-key.pem"), readFileSync(join(b, "ca-key.pem")));
    await expect(loadSelfSignedCa(a)).rejects.toMatchObject({ code: "CREMA_CA_KEY_MISMATCH" });
  });

  it("refuses a signing certificate that is not self-signed: a plugged-in CA goes in cacerts/", async () => {
    const { intermediate, root } = await makePluggedInHierarchy();
    const dir = temporaryDir();
    writeFileSync(join(dir, "ca-cert.pem"), intermediate.certPem);
    writeFileSync(join(dir, "ca-key.pem"), intermediate.keyPem);
    writeFileSync(join(dir, "root-cert.pem"), root.certPem);
    const refused = loadSelfSignedCa(dir);
    await expect(refused).rejects.toMatchObject({ code: "CREMA_CA_INVALID_FILE" });
    await expect(refused).rejects.toThrow(/is not self-signed.*cacerts/);
  });
});
