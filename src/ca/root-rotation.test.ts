import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import { splitCertificates } from "./pem.ts";
import { createSelfSignedCa, loadSelfSignedCa, writeSelfSignedCa } from "./root-ca.ts";
import { rootRotationDue, rotateSelfSignedRoot } from "./root-rotation.ts";
import { signCsr } from "./sign-csr.ts";
import { DAY, makeCsr, removeTemporaryDirs, temporaryDir, YEAR } from "./test-support.ts";

afterAll(removeTemporaryDirs);

const START = Date.UTC(2030, 0, 1);
const BARISTA = { namespace: "coffee", serviceAccount: "barista" };
const BARISTA_ID = "spiffe://cluster.local/ns/coffee/sa/barista";

function issuedBy(leafPem: string, rootPem: string): boolean {
  const leaf = new X509Certificate(leafPem);
  const root = new X509Certificate(rootPem);
  return leaf.checkIssued(root) && leaf.verify(root.publicKey);
}

describe("rootRotationDue", () => {
  const root = { notBefore: 0, notAfter: 10 * YEAR };

  it("is due once 20 % of the lifetime remains", () => {
    expect(rootRotationDue(root, 0)).toBe(false);
    expect(rootRotationDue(root, 8 * YEAR - 1)).toBe(false);
    expect(rootRotationDue(root, 8 * YEAR)).toBe(true);
    expect(rootRotationDue(root, 11 * YEAR)).toBe(true);
  });

  it("takes another grace percentage", () => {
    expect(rootRotationDue(root, 5 * YEAR, 50)).toBe(true);
    expect(rootRotationDue(root, 5 * YEAR - 1, 50)).toBe(false);
  });
});

describe("rotateSelfSignedRoot", () => {
  it("mints a new root from the same key and keeps trusting the old one", async () => {
    const old = await createSelfSignedCa({ clock: manualClock(START) });
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const before = await signCsr(
      old,
      { csrPem, caller: BARISTA },
      { clock: manualClock(START + DAY) },
    );

    const rotatedAt = START + 8 * YEAR + DAY;
    const rotated = await rotateSelfSignedRoot(old, { clock: manualClock(rotatedAt) });
    expect(rotated.signingCertPem).not.toBe(old.signingCertPem);
    expect(rotated.signingKeyPem).toBe(old.signingKeyPem);
    expect(rotated.rootsPem).toEqual([rotated.signingCertPem, old.signingCertPem]);
    const newRoot = new X509Certificate(rotated.signingCertPem);
    expect(newRoot.subject).toBe(new X509Certificate(old.signingCertPem).subject);
    expect(newRoot.validFromDate.getTime()).toBe(rotatedAt);

    const after = await signCsr(
      rotated,
      { csrPem, caller: BARISTA },
      { clock: manualClock(rotatedAt) },
    );
    expect(after.certChain[1]).toBe(rotated.signingCertPem);
    expect(after.trustBundle).toEqual(rotated.rootsPem);
    // Same key and subject: both generations of leaf verify under both roots.
    for (const root of rotated.rootsPem) {
      expect(issuedBy(before.certChain[0]!, root)).toBe(true);
      expect(issuedBy(after.certChain[0]!, root)).toBe(true);
    }
  });

  it("with a new key, leaves verify only under their own root, so both stay in the bundle", async () => {
    const old = await createSelfSignedCa({ clock: manualClock(START) });
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const before = await signCsr(old, { csrPem, caller: BARISTA }, { clock: manualClock(START) });
    const rotated = await rotateSelfSignedRoot(old, {
      clock: manualClock(START + DAY),
      newKey: true,
    });
    expect(rotated.signingKeyPem).not.toBe(old.signingKeyPem);
    expect(rotated.rootsPem).toHaveLength(2);
    const after = await signCsr(
      rotated,
      { csrPem, caller: BARISTA },
      { clock: manualClock(START + DAY) },
    );
    expect(issuedBy(after.certChain[0]!, rotated.rootsPem[0]!)).toBe(true);
    expect(issuedBy(after.certChain[0]!, rotated.rootsPem[1]!)).toBe(false);
    expect(issuedBy(before.certChain[0]!, rotated.rootsPem[1]!)).toBe(true);
  });

  it("persists the overlap in root-cert.pem and drops the old root once it has expired", async () => {
    const dir = temporaryDir();
    const old = await createSelfSignedCa({ clock: manualClock(START) });
    const rotatedAt = START + 9 * YEAR;
    const rotated = await rotateSelfSignedRoot(old, { clock: manualClock(rotatedAt) });
    await writeSelfSignedCa(dir, rotated);
    expect(splitCertificates(readFileSync(join(dir, "root-cert.pem"), "utf8"))).toEqual([
      rotated.signingCertPem,
      old.signingCertPem,
    ]);
    const during = await loadSelfSignedCa(dir, { clock: manualClock(rotatedAt + DAY) });
    expect(during?.rootsPem).toEqual([rotated.signingCertPem, old.signingCertPem]);
    const afterOldExpired = await loadSelfSignedCa(dir, { clock: manualClock(START + 11 * YEAR) });
    expect(afterOldExpired?.rootsPem).toEqual([rotated.signingCertPem]);
  });

  it("refuses to rotate a plugged-in CA", async () => {
    const old = await createSelfSignedCa();
    await expect(rotateSelfSignedRoot({ ...old, mode: "plugged-in" })).rejects.toThrow(
      /self-signed/,
    );
  });
});
