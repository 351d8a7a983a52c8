import { X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect, createServer, type TLSSocket } from "node:tls";
import { beforeAll, describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import type { CaBundle } from "./ca-bundle.ts";
import { exportPrivateKeyPem } from "./crypto-keys.ts";
import { createSelfSignedCa } from "./root-ca.ts";
import {
  CLOCK_SKEW_GRACE_MS,
  DEFAULT_WORKLOAD_CERT_TTL_MS,
  MAX_CSR_BYTES,
  MAX_WORKLOAD_CERT_TTL_MS,
  signCsr,
} from "./sign-csr.ts";
import {
  DAY,
  HOUR,
  makeCsr,
  makePluggedInHierarchy,
  pluggedInBundle,
  YEAR,
} from "./test-support.ts";
import { x509 } from "./x509.ts";

const START = Date.UTC(2030, 0, 1);
const BARISTA = { namespace: "coffee", serviceAccount: "barista" };
const BARISTA_ID = "spiffe://cluster.local/ns/coffee/sa/barista";

let ca: CaBundle;
beforeAll(async () => {
  ca = await createSelfSignedCa({ clock: manualClock(START) });
});

function verifiesUp(chain: string[]): boolean {
  const certs = chain.map((pem) => new X509Certificate(pem));
  return certs.every((cert, i) => {
    const issuer = certs[i + 1] ?? cert;
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  });
}

describe("signCsr", () => {
  it("issues a 24 h SPIFFE leaf that chains to the root", async () => {
    const now = START + HOUR;
    const { csrPem, keys } = await makeCsr({ uris: [BARISTA_ID] });
    const signed = await signCsr(ca, { csrPem, caller: BARISTA }, { clock: manualClock(now) });
    expect(signed.certChain).toHaveLength(2);
    expect(signed.certChain[1]).toBe(ca.signingCertPem);
    expect(signed.trustBundle).toEqual([ca.signingCertPem]);
    expect(verifiesUp(signed.certChain)).toBe(true);

    const leaf = new X509Certificate(signed.certChain[0]!);
    expect(leaf.subjectAltName).toBe(`URI:${BARISTA_ID}`);
    expect(signed.identity).toBe(BARISTA_ID);
    expect(leaf.subject).toBeUndefined();
    expect(leaf.ca).toBe(false);
    expect(leaf.validFromDate.getTime()).toBe(now - CLOCK_SKEW_GRACE_MS);
    expect(leaf.validToDate.getTime()).toBe(now + DEFAULT_WORKLOAD_CERT_TTL_MS);
    expect(leaf.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    const spki = Buffer.from(await crypto.subtle.exportKey("spki", keys.publicKey));
    expect(leaf.publicKey.export({ type: "spki", format: "der" }).equals(spki)).toBe(true);

    const parsed = new x509.X509Certificate(signed.certChain[0]!);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    expect(usage?.usages).toBe(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
    );
    expect(usage?.critical).toBe(true);
    expect(parsed.getExtension(x509.SubjectAlternativeNameExtension)?.critical).toBe(true);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect(constraints?.ca).toBe(false);
  });

  it("issues for the requested TTL and refuses one beyond the maximum, as Istio does", async () => {
    const clock = manualClock(START + HOUR);
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const short = await signCsr(ca, { csrPem, caller: BARISTA, ttlMs: 60_000 }, { clock });
    expect(short.notAfter).toBe(clock.now() + 60_000);
    const zero = await signCsr(ca, { csrPem, caller: BARISTA, ttlMs: 0 }, { clock });
    expect(zero.notAfter).toBe(clock.now() + DEFAULT_WORKLOAD_CERT_TTL_MS);
    await expect(
      signCsr(ca, { csrPem, caller: BARISTA, ttlMs: MAX_WORKLOAD_CERT_TTL_MS + 1000 }, { clock }),
    ).rejects.toMatchObject({ code: "CREMA_CA_TTL_TOO_LONG" });
    await expect(
      signCsr(ca, { csrPem, caller: BARISTA, ttlMs: 2 * HOUR }, { clock, maxTtlMs: HOUR }),
    ).rejects.toMatchObject({
      message: "requested TTL 7200s is greater than the max allowed TTL 3600s",
    });
  });

  it("gives a short-lived certificate that a verifier sees expire", async () => {
    const clock = manualClock(START + HOUR);
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const signed = await signCsr(ca, { csrPem, caller: BARISTA, ttlMs: 60_000 }, { clock });
    const leaf = new X509Certificate(signed.certChain[0]!);
    clock.advance(59_000);
    expect(clock.now()).toBeLessThan(leaf.validToDate.getTime());
    clock.advance(2000);
    expect(clock.now()).toBeGreaterThan(leaf.validToDate.getTime());
  });

  it("refuses a CSR for another identity, or for none, with the reason", async () => {
    const clock = manualClock(START + HOUR);
    const other = await makeCsr({ uris: ["spiffe://cluster.local/ns/coffee/sa/payment"] });
    await expect(
      signCsr(ca, { csrPem: other.csrPem, caller: BARISTA }, { clock }),
    ).rejects.toMatchObject({
      code: "CREMA_CA_IDENTITY_MISMATCH",
      message: `the CSR asks for spiffe://cluster.local/ns/coffee/sa/payment but the caller is ${BARISTA_ID}`,
    });
    const both = await makeCsr({ uris: [BARISTA_ID, "spiffe://cluster.local/ns/tea/sa/barista"] });
    await expect(
      signCsr(ca, { csrPem: both.csrPem, caller: BARISTA }, { clock }),
    ).rejects.toMatchObject({
      code: "CREMA_CA_IDENTITY_MISMATCH",
    });
    const none = await makeCsr({ dnsNames: ["barista.coffee.svc"] });
    await expect(
      signCsr(ca, { csrPem: none.csrPem, caller: BARISTA }, { clock }),
    ).rejects.toMatchObject({
      code: "CREMA_CA_IDENTITY_MISMATCH",
      message: `the CSR asks for no SPIFFE identity; the caller may request ${BARISTA_ID}`,
    });
  });

  it("accepts an identity in a trust domain alias, and issues it in the mesh's trust domain", async () => {
    const { csrPem } = await makeCsr({ uris: ["spiffe://old.example/ns/coffee/sa/barista"] });
    const options = { clock: manualClock(START + HOUR), trustDomainAliases: ["old.example"] };
    const signed = await signCsr(ca, { csrPem, caller: BARISTA }, options);
    expect(new X509Certificate(signed.certChain[0]!).subjectAltName).toBe(`URI:${BARISTA_ID}`);
    await expect(
      signCsr(ca, { csrPem, caller: BARISTA }, { clock: manualClock(START + HOUR) }),
    ).rejects.toMatchObject({ code: "CREMA_CA_IDENTITY_MISMATCH" });
  });

  it("copies only the SPIFFE identity from the CSR, not its DNS names", async () => {
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID], dnsNames: ["www.bank.example"] });
    const signed = await signCsr(
      ca,
      { csrPem, caller: BARISTA },
      { clock: manualClock(START + HOUR) },
    );
    expect(new X509Certificate(signed.certChain[0]!).subjectAltName).toBe(`URI:${BARISTA_ID}`);
  });

  it("refuses garbage, tampered and oversized CSRs", async () => {
    const clock = manualClock(START + HOUR);
    const sign = (csrPem: string) => signCsr(ca, { csrPem, caller: BARISTA }, { clock });
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    for (const garbage of [
      "",
      "hello",
      ca.signingCertPem,
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
      csrPem + csrPem,
      `-----BEGIN CERTIFICATE REQUEST-----\n${"A".repeat(MAX_CSR_BYTES)}\n-----END CERTIFICATE REQUEST-----\n`,
    ]) {
      await expect(sign(garbage)).rejects.toMatchObject({ code: "CREMA_CA_INVALID_CSR" });
    }
    const body = csrPem.split("\n").slice(1, -2).join("");
    const der = Buffer.from(body, "base64");
    der[der.length - 5]! ^= 0xff;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(sign(tampered)).rejects.toMatchObject({
      code: "CREMA_CA_INVALID_CSR",
      message: expect.stringMatching(/signature|PKCS#10|supported/),
    });
  });

  it("refuses to sign with an expired CA, and never outlives the CA", async () => {
    const shortCa = await createSelfSignedCa({ clock: manualClock(START), ttlMs: DAY });
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const late = await signCsr(
      shortCa,
      { csrPem, caller: BARISTA },
      { clock: manualClock(START + 12 * HOUR + 1) },
    );
    expect(late.notAfter).toBe(START + DAY);
    await expect(
      signCsr(shortCa, { csrPem, caller: BARISTA }, { clock: manualClock(START + DAY + 1000) }),
    ).rejects.toMatchObject({
      code: "CREMA_CA_NOT_READY",
      message: expect.stringContaining("has expired"),
    });
  });

  it("returns [leaf, intermediate, root] from a plugged-in CA", async () => {
    const { root, intermediate, files } = await makePluggedInHierarchy();
    const plugged = pluggedInBundle(files);
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID] });
    const signed = await signCsr(plugged, { csrPem, caller: BARISTA });
    expect(signed.certChain.slice(1)).toEqual([intermediate.certPem, root.certPem]);
    expect(verifiesUp(signed.certChain)).toBe(true);
    const leaf = new X509Certificate(signed.certChain[0]!);
    expect(leaf.issuer).toBe("CN=Intermediate CA\nO=cluster1");
  });

  it("signs with an RSA 2048 CA and an RSA workload key", async () => {
    const rsaCa = await createSelfSignedCa({ keyAlgorithm: "rsa-2048", clock: manualClock(START) });
    const { csrPem } = await makeCsr({ uris: [BARISTA_ID], algorithm: "rsa-2048" });
    const signed = await signCsr(
      rsaCa,
      { csrPem, caller: BARISTA },
      { clock: manualClock(START + YEAR) },
    );
    expect(verifiesUp(signed.certChain)).toBe(true);
    expect(new X509Certificate(signed.certChain[0]!).publicKey.asymmetricKeyType).toBe("rsa");
  });

  it("gives two workloads certificates they can use for mutual TLS", async () => {
    const PAYMENT = { namespace: "coffee", serviceAccount: "payment" };
    const meshCa = await createSelfSignedCa();
    const issue = async (caller: typeof BARISTA) => {
      const id = `spiffe://cluster.local/ns/${caller.namespace}/sa/${caller.serviceAccount}`;
      const { csrPem, keys } = await makeCsr({ uris: [id] });
      const signed = await signCsr(meshCa, { csrPem, caller });
      return { cert: signed.certChain[0]!, key: await exportPrivateKeyPem(keys.privateKey) };
    };
    const server = await issue(PAYMENT);
    const client = await issue(BARISTA);
    const tlsServer = createServer({
      ...server,
      ca: meshCa.rootsPem.join(""),
      requestCert: true,
      rejectUnauthorized: true,
    });
    const peers = new Promise<string | undefined>((resolve) =>
      tlsServer.once("secureConnection", (socket: TLSSocket) => {
        resolve(socket.getPeerX509Certificate()?.subjectAltName);
        socket.end();
      }),
    );
    await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
    const { port } = tlsServer.address() as AddressInfo;
    const socket = connect({
      host: "127.0.0.1",
      port,
      ...client,
      ca: meshCa.rootsPem.join(""),
      checkServerIdentity: () => undefined,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerX509Certificate()?.subjectAltName).toBe(
      "URI:spiffe://cluster.local/ns/coffee/sa/payment",
    );
    expect(await peers).toBe(`URI:${BARISTA_ID}`);
    socket.destroy();
    tlsServer.close();
  });
});
