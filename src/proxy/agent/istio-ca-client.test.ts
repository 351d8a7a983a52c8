import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSelfSignedCa } from "../../ca/root-ca.ts";
import { caServerName, istioCaSigner } from "./istio-ca-client.ts";
import { startTestCa, type TestCa } from "./test-ca-server.ts";
import { buildWorkloadCsr } from "./workload-csr.ts";

const BARISTA = { namespace: "coffee", serviceAccount: "barista" };
const BARISTA_ID = "spiffe://cluster.local/ns/coffee/sa/barista";

let ca: TestCa;
let token: string;

beforeAll(async () => {
  ca = await startTestCa();
  token = await ca.token(BARISTA);
});

afterAll(() => ca.close());

describe("caServerName", () => {
  it("is ISTIOD_SAN, else a DNS host, else istiod's name", () => {
    expect(caServerName("10.0.0.1:15012", "istiod.example")).toBe("istiod.example");
    expect(caServerName("ca.example:15012")).toBe("ca.example");
    for (const address of ["localhost:15012", "127.0.0.1:15012", "[::1]:15012"]) {
      expect(caServerName(address)).toBe("istiod.istio-system.svc");
    }
  });
});

describe("istioCaSigner", () => {
  it("calls CreateCertificate over TLS with the bearer token and the requested lifetime", async () => {
    const address = await ca.serve();
    const sign = istioCaSigner({
      address,
      caRoots: async () => ca.rootPem,
      token: async () => `${token}\n`,
    });
    const csr = await buildWorkloadCsr(BARISTA_ID, "ecdsa-p256");
    const chain = await sign({ csrPem: csr.csrPem, ttlMs: 3600_000 });
    expect(chain).toHaveLength(2);
    const leaf = new X509Certificate(chain[0]!);
    expect(leaf.subjectAltName).toBe(`URI:${BARISTA_ID}`);
    const lifetime = leaf.validToDate.getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(3500_000);
    expect(lifetime).toBeLessThanOrEqual(3600_000);
  });

  it("verifies the CA's certificate for istiod's name, or ISTIOD_SAN", async () => {
    const address = await ca.serve({ dnsOnly: true });
    const csr = await buildWorkloadCsr(BARISTA_ID, "ecdsa-p256");
    const options = { address, caRoots: async () => ca.rootPem, token: async () => token };
    await expect(
      istioCaSigner(options)({ csrPem: csr.csrPem, ttlMs: 60_000 }),
    ).resolves.toHaveLength(2);
    const named = istioCaSigner({ ...options, serverName: "ca.example" });
    await expect(named({ csrPem: csr.csrPem, ttlMs: 60_000 })).rejects.toThrow(/^UNAVAILABLE: /);
  });

  it("rejects with the status and the CA's reason", async () => {
    const address = await ca.serve();
    const csr = await buildWorkloadCsr(BARISTA_ID, "ecdsa-p256");
    const refused = istioCaSigner({
      address,
      caRoots: async () => ca.rootPem,
      token: async () => "x",
    });
    await expect(refused({ csrPem: csr.csrPem, ttlMs: 60_000 })).rejects.toThrow(
      "UNAUTHENTICATED: request authenticate failure: the token is malformed",
    );
    const stranger = await createSelfSignedCa();
    const distrustful = istioCaSigner({
      address,
      caRoots: async () => stranger.signingCertPem,
      token: async () => token,
    });
    await expect(distrustful({ csrPem: csr.csrPem, ttlMs: 60_000 })).rejects.toThrow(
      /^UNAVAILABLE: /,
    );
  });
});
