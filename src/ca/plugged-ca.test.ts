import { X509Certificate } from "node:crypto";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import { issuerChain, trustBundle } from "./ca-bundle.ts";
import { hasPluggedInCa, loadPluggedInCa } from "./plugged-ca.ts";
import {
  makePluggedInHierarchy,
  makeRoot,
  makeSigned,
  removeTemporaryDirs,
  temporaryDir,
  writeCacerts,
  YEAR,
} from "./test-support.ts";

afterAll(removeTemporaryDirs);

describe("loadPluggedInCa", () => {
  it("loads Istio's cacerts layout: intermediate signs, cert-chain.pem up to the root", async () => {
    const { root, intermediate, files } = await makePluggedInHierarchy();
    const dir = writeCacerts(files);
    expect(await hasPluggedInCa(dir)).toBe(true);
    const bundle = await loadPluggedInCa(dir);
    expect(bundle.mode).toBe("plugged-in");
    expect(bundle.signingCertPem).toBe(intermediate.certPem);
    expect(bundle.intermediatesPem).toEqual([]);
    expect(trustBundle(bundle)).toEqual([root.certPem]);
    expect(issuerChain(bundle)).toEqual([intermediate.certPem, root.certPem]);
  });

  it("works without cert-chain.pem, and through two intermediates", async () => {
    const root = await makeRoot();
    const middle = await makeSigned(root, { subject: "CN=Regional CA" });
    const signer = await makeSigned(middle, { subject: "CN=Cluster CA" });
    const dir = writeCacerts({
      "ca-cert.pem": signer.certPem,
      "ca-key.pem": signer.keyPem,
      "root-cert.pem": root.certPem,
      "cert-chain.pem": signer.certPem + middle.certPem + root.certPem,
    });
    const bundle = await loadPluggedInCa(dir);
    expect(bundle.intermediatesPem).toEqual([middle.certPem]);
    expect(issuerChain(bundle)).toEqual([signer.certPem, middle.certPem, root.certPem]);

    const direct = await makeSigned(root, { subject: "CN=Direct CA" });
    const noChain = writeCacerts({
      "ca-cert.pem": direct.certPem,
      "ca-key.pem": direct.keyPem,
      "root-cert.pem": root.certPem,
    });
    expect((await loadPluggedInCa(noChain)).signingCertPem).toBe(direct.certPem);
  });

  it("refuses a key that is not the certificate's, naming both files", async () => {
    const { files } = await makePluggedInHierarchy();
    const other = await makeRoot();
    const dir = writeCacerts({ ...files, "ca-key.pem": other.keyPem });
    await expect(loadPluggedInCa(dir)).rejects.toMatchObject({
      code: "CREMA_CA_KEY_MISMATCH",
      message: expect.stringContaining(
        `${join(dir, "ca-key.pem")} is not the private key of the certificate in ${join(dir, "ca-cert.pem")}`,
      ),
    });
  });

  it("refuses a signing certificate that does not chain to root-cert.pem", async () => {
    const { files } = await makePluggedInHierarchy();
    const stranger = await makeRoot({ subject: "CN=Someone Else" });
    const dir = writeCacerts({ ...files, "root-cert.pem": stranger.certPem });
    await expect(loadPluggedInCa(dir)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_CHAIN",
      message: expect.stringMatching(
        /ca-cert\.pem does not chain to any certificate in .*root-cert\.pem/,
      ),
    });
  });

  it("refuses a missing intermediate", async () => {
    const root = await makeRoot();
    const middle = await makeSigned(root, { subject: "CN=Regional CA" });
    const signer = await makeSigned(middle, { subject: "CN=Cluster CA" });
    const dir = writeCacerts({
      "ca-cert.pem": signer.certPem,
      "ca-key.pem": signer.keyPem,
      "root-cert.pem": root.certPem,
    });
    await expect(loadPluggedInCa(dir)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_CHAIN",
      message: expect.stringContaining(
        "nothing there issued 'CN=Cluster CA' (issuer 'CN=Regional CA')",
      ),
    });
  });

  it("refuses a signing certificate that is not a CA", async () => {
    const root = await makeRoot();
    const leaf = await makeSigned(root, { subject: "CN=not a ca", ca: false });
    const dir = writeCacerts({
      "ca-cert.pem": leaf.certPem,
      "ca-key.pem": leaf.keyPem,
      "root-cert.pem": root.certPem,
    });
    await expect(loadPluggedInCa(dir)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_CHAIN",
      message: expect.stringContaining("is not a CA certificate"),
    });
  });

  it("refuses an expired signing certificate", async () => {
    const { files, intermediate } = await makePluggedInHierarchy();
    const dir = writeCacerts(files);
    const expiry = new X509Certificate(intermediate.certPem).validToDate.getTime();
    await expect(loadPluggedInCa(dir, { clock: manualClock(expiry + 1000) })).rejects.toMatchObject(
      {
        code: "CREMA_CA_INVALID_CHAIN",
        message: expect.stringMatching(
          /'CN=Intermediate CA, O=cluster1' in .*ca-cert\.pem expired on/,
        ),
      },
    );
    await expect(
      loadPluggedInCa(dir, { clock: manualClock(expiry - YEAR) }),
    ).resolves.toBeDefined();
  });

  it("names the missing or broken file", async () => {
    const { files } = await makePluggedInHierarchy();
    const noRoot = writeCacerts({ ...files, "root-cert.pem": undefined });
    await expect(loadPluggedInCa(noRoot)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_FILE",
      message: expect.stringContaining(`${join(noRoot, "root-cert.pem")} is missing`),
    });
    const badChain = writeCacerts({ ...files, "cert-chain.pem": "garbage" });
    await expect(loadPluggedInCa(badChain)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_FILE",
      message: `${join(badChain, "cert-chain.pem")} contains no PEM CERTIFICATE block`,
    });
  });

  it("is not chosen for a directory without ca-key.pem", async () => {
    expect(await hasPluggedInCa(temporaryDir())).toBe(false);
  });
});
