import { X509Certificate } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { splitCertificates } from "../../ca/pem.ts";
import { loadPluggedInCa } from "../../ca/plugged-ca.ts";
import { createSelfSignedCa } from "../../ca/root-ca.ts";
import { rotateSelfSignedRoot } from "../../ca/root-rotation.ts";
import { signCsr } from "../../ca/sign-csr.ts";
import {
  makePluggedInHierarchy,
  removeTemporaryDirs,
  writeCacerts,
} from "../../ca/test-support.ts";
import { decodeIssuedCertificate } from "./issued-certificate.ts";
import { buildWorkloadCsr } from "./workload-csr.ts";

const ID = "spiffe://cluster.local/ns/coffee/sa/barista";
const CALLER = { namespace: "coffee", serviceAccount: "barista" };

afterAll(() => removeTemporaryDirs());

/** What the CSR API answers: crema's csr-service puts other trusted roots before the last one. */
async function issue(bundle: Awaited<ReturnType<typeof createSelfSignedCa>>) {
  const csr = await buildWorkloadCsr(ID, "ecdsa-p256");
  const signed = await signCsr(bundle, { csrPem: csr.csrPem, caller: CALLER, ttlMs: 3600_000 });
  const chain = signed.certChain;
  const answer = [...chain.slice(0, -1), ...signed.trustBundle.slice(1), chain.at(-1)!];
  return { answer, csr };
}

describe("decodeIssuedCertificate", () => {
  it("splits [leaf, root] into the chain to present and the root to trust", async () => {
    const bundle = await createSelfSignedCa();
    const { answer, csr } = await issue(bundle);
    const decoded = decodeIssuedCertificate(answer, csr.privateKeyPem);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const { certificate } = decoded;
    expect(splitCertificates(certificate.certificateChainPem)).toEqual([answer[0]]);
    expect(certificate.rootsPem).toBe(bundle.signingCertPem);
    expect(certificate.privateKeyPem).toBe(csr.privateKeyPem);
    expect(certificate.uris).toEqual([ID]);
    const leaf = new X509Certificate(answer[0]!);
    expect(certificate.notAfter).toBe(leaf.validToDate.getTime());
    expect(certificate.serialNumber).toBe(leaf.serialNumber.toLowerCase());
  });

  it("keeps intermediates in the chain and every root of a rotation in the trust", async () => {
    const hierarchy = await makePluggedInHierarchy();
    const plugged = await loadPluggedInCa(writeCacerts(hierarchy.files));
    const fromPlugged = await issue(plugged);
    const decoded = decodeIssuedCertificate(fromPlugged.answer, fromPlugged.csr.privateKeyPem);
    expect(decoded.ok && splitCertificates(decoded.certificate.certificateChainPem)).toEqual([
      fromPlugged.answer[0],
      hierarchy.intermediate.certPem,
    ]);
    expect(decoded.ok && decoded.certificate.rootsPem).toBe(hierarchy.root.certPem);

    const old = await createSelfSignedCa();
    const rotated = await rotateSelfSignedRoot(old, { newKey: true });
    const fromRotated = await issue(rotated);
    expect(fromRotated.answer).toHaveLength(3);
    const both = decodeIssuedCertificate(fromRotated.answer, fromRotated.csr.privateKeyPem);
    expect(both.ok && splitCertificates(both.certificate.certificateChainPem)).toHaveLength(1);
    expect(both.ok && splitCertificates(both.certificate.rootsPem)).toEqual([
      old.signingCertPem,
      rotated.signingCertPem,
    ]);
  });

  it("refuses an answer without a root, for another key, or that does not parse", async () => {
    const bundle = await createSelfSignedCa();
    const { answer, csr } = await issue(bundle);
    expect(decodeIssuedCertificate(answer.slice(0, 1), csr.privateKeyPem)).toEqual({
      ok: false,
      reason: "the CA answered 1 certificate(s); a leaf and its root are needed",
    });
    const other = await buildWorkloadCsr(ID, "ecdsa-p256");
    expect(decodeIssuedCertificate(answer, other.privateKeyPem)).toEqual({
      ok: false,
      reason: "the CA answered a certificate for another key",
    });
    const garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    const broken = decodeIssuedCertificate([garbage, answer[1]!], csr.privateKeyPem);
    expect(broken.ok === false && broken.reason).toMatch(/does not parse/);
  });
});
