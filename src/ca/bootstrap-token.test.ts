import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import {
  BOOTSTRAP_TOKEN_KEY_FILE,
  type BootstrapTokenKey,
  generateBootstrapTokenKey,
  issueBootstrapToken,
  loadOrCreateBootstrapTokenKey,
  parseServiceAccountSubject,
  verifyBootstrapToken,
} from "./bootstrap-token.ts";
import { HOUR, removeTemporaryDirs, temporaryDir } from "./test-support.ts";

afterAll(removeTemporaryDirs);

const START = Date.UTC(2030, 0, 1);
const BARISTA = { namespace: "coffee", serviceAccount: "barista" };

let key: BootstrapTokenKey;
beforeAll(async () => {
  key = await generateBootstrapTokenKey();
});

describe("bootstrap tokens", () => {
  it("carry the service account as a Kubernetes token does, for audience istio-ca", async () => {
    const token = await issueBootstrapToken(key, BARISTA, { clock: manualClock(START) });
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "ES256", kid: key.keyId });
    expect(decodeJwt(token)).toMatchObject({
      iss: "crema",
      sub: "system:serviceaccount:coffee:barista",
      aud: "istio-ca",
      iat: START / 1000,
      exp: START / 1000 + 3600,
      "kubernetes.io": { namespace: "coffee", serviceaccount: { name: "barista" } },
    });
    expect(await verifyBootstrapToken(token, key, { clock: manualClock(START + 1000) })).toEqual({
      ok: true,
      identity: BARISTA,
      expiresAt: START + HOUR,
    });
  });

  it("expire", async () => {
    const clock = manualClock(START);
    const token = await issueBootstrapToken(key, BARISTA, { clock, ttlMs: 60_000 });
    clock.advance(59_000);
    expect((await verifyBootstrapToken(token, key, { clock })).ok).toBe(true);
    clock.advance(2000);
    expect(await verifyBootstrapToken(token, key, { clock })).toEqual({
      ok: false,
      reason: "the token has expired",
    });
  });

  it("are refused when signed by another key, tampered, or malformed", async () => {
    const clock = manualClock(START);
    const other = await generateBootstrapTokenKey();
    const foreign = await issueBootstrapToken(other, BARISTA, { clock });
    expect(await verifyBootstrapToken(foreign, key, { clock })).toEqual({
      ok: false,
      reason: "the token is not signed by this control plane",
    });
    const token = await issueBootstrapToken(key, BARISTA, { clock });
    const [header, , signature] = token.split(".");
    const forged = Buffer.from(
      JSON.stringify({ ...decodeJwt(token), sub: "system:serviceaccount:coffee:payment" }),
    ).toString("base64url");
    expect(
      (await verifyBootstrapToken(`${header}.${forged}.${signature}`, key, { clock })).ok,
    ).toBe(false);
    for (const garbage of ["", "abc", "a.b.c", "x".repeat(10_000)]) {
      const result = await verifyBootstrapToken(garbage, key, { clock });
      expect(result.ok).toBe(false);
    }
  });

  it("are refused for another audience or issuer, or a subject that is not a service account", async () => {
    const clock = manualClock(START);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256" })
        .setIssuedAt(START / 1000)
        .setExpirationTime(START / 1000 + 600)
        .sign(key.privateKey);
    const wrongAudience = await sign({
      iss: "crema",
      aud: "api",
      sub: "system:serviceaccount:coffee:barista",
    });
    expect(await verifyBootstrapToken(wrongAudience, key, { clock })).toMatchObject({
      ok: false,
      reason: expect.stringContaining("'aud' claim"),
    });
    const wrongIssuer = await sign({ iss: "x", aud: "istio-ca", sub: "system:serviceaccount:a:b" });
    expect((await verifyBootstrapToken(wrongIssuer, key, { clock })).ok).toBe(false);
    const user = await sign({ iss: "crema", aud: "istio-ca", sub: "alice" });
    expect(await verifyBootstrapToken(user, key, { clock })).toEqual({
      ok: false,
      reason: "the token's subject 'alice' is not a service account",
    });
    const inconsistent = await sign({
      iss: "crema",
      aud: "istio-ca",
      sub: "system:serviceaccount:coffee:barista",
      "kubernetes.io": { namespace: "tea", serviceaccount: { name: "barista" } },
    });
    expect((await verifyBootstrapToken(inconsistent, key, { clock })).ok).toBe(false);
  });

  it("keep their signing key beside the CA files across restarts", async () => {
    const dir = temporaryDir();
    const first = await loadOrCreateBootstrapTokenKey(dir);
    const file = join(dir, BOOTSTRAP_TOKEN_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toMatch(/BEGIN PRIVATE KEY/);
    const second = await loadOrCreateBootstrapTokenKey(dir);
    expect(second.keyId).toBe(first.keyId);
    const token = await issueBootstrapToken(first, BARISTA);
    expect((await verifyBootstrapToken(token, second)).ok).toBe(true);

    writeFileSync(file, "garbage");
    await expect(loadOrCreateBootstrapTokenKey(dir)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_FILE",
      message: expect.stringContaining(file),
    });
  });

  it("are issued only for valid names", async () => {
    await expect(
      issueBootstrapToken(key, { namespace: "a:b", serviceAccount: "c" }),
    ).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_IDENTITY",
    });
    expect(parseServiceAccountSubject("system:serviceaccount:coffee:barista")).toEqual(BARISTA);
    expect(parseServiceAccountSubject("system:serviceaccount:coffee")).toBeUndefined();
  });
});
