import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import { CertificateAuthority } from "./certificate-authority.ts";
import { splitCertificates } from "./pem.ts";
import { createSelfSignedCa, writeSelfSignedCa } from "./root-ca.ts";
import {
  DAY,
  makePluggedInHierarchy,
  removeTemporaryDirs,
  temporaryDir,
  writeCacerts,
  YEAR,
} from "./test-support.ts";

afterAll(removeTemporaryDirs);

const START = Date.UTC(2030, 0, 1);

describe("CertificateAuthority", () => {
  it("prefers a plugged-in CA when its directory has a key", async () => {
    const { root, files } = await makePluggedInHierarchy();
    const ca = await CertificateAuthority.load({
      pluggedInDir: writeCacerts(files),
      selfSignedDir: temporaryDir(),
    });
    expect(ca.mode).toBe("plugged-in");
    expect(ca.trustBundle()).toEqual([root.certPem]);
    expect(ca.rotationDue()).toBe(false);
  });

  it("falls back to a self-signed CA kept in its directory", async () => {
    const selfSignedDir = temporaryDir();
    const first = await CertificateAuthority.load({ pluggedInDir: temporaryDir(), selfSignedDir });
    const second = await CertificateAuthority.load({ selfSignedDir });
    expect(first.mode).toBe("self-signed");
    expect(second.trustBundle()).toEqual(first.trustBundle());
  });

  it("rotates a due root on start, persists it, and trusts both roots", async () => {
    const selfSignedDir = temporaryDir();
    const old = await createSelfSignedCa({ clock: manualClock(START) });
    await writeSelfSignedCa(selfSignedDir, old);
    const clock = manualClock(START + 8 * YEAR + 1);
    const ca = await CertificateAuthority.load({ selfSignedDir, clock });
    expect(ca.trustBundle()).toEqual([ca.bundle.signingCertPem, old.signingCertPem]);
    expect(readFileSync(join(selfSignedDir, "ca-cert.pem"), "utf8")).toBe(ca.bundle.signingCertPem);
    expect(splitCertificates(readFileSync(join(selfSignedDir, "root-cert.pem"), "utf8"))).toEqual(
      ca.trustBundle(),
    );
    expect(await ca.rotateRootIfDue()).toBe(false);
  });

  it("checks on a timer and tells listeners about a new root", async () => {
    const clock = manualClock(START);
    const ca = new CertificateAuthority(await createSelfSignedCa({ clock }), { clock });
    const seen: number[] = [];
    ca.onBundleChange((bundle) => seen.push(bundle.rootsPem.length));
    const stop = ca.startRootRotation(30 * DAY);
    clock.advance(30 * DAY);
    expect(await ca.rotateRootIfDue()).toBe(false);
    expect(seen).toEqual([]);
    expect(clock.pendingTimers()).toBe(1);

    clock.advance(8 * YEAR);
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual([2]);
    stop();
    expect(clock.pendingTimers()).toBe(0);
  });
});

/** Rotation generates a key and signs on the thread pool: bounded by time, not by turns of the
 * event loop, which a loaded machine runs through before the pool answers. */
async function waitFor(condition: () => boolean): Promise<void> {
  const giveUpAt = Date.now() + 10_000;
  while (!condition() && Date.now() < giveUpAt) await new Promise((r) => setTimeout(r, 1));
  expect(condition()).toBe(true);
}
