import { createPrivateKey, createPublicKey } from "node:crypto";
import { describe, expect, it } from "vitest";
import { requestedUris, verifyCsr } from "../../ca/sign-csr.ts";
import { buildWorkloadCsr } from "./workload-csr.ts";

const ID = "spiffe://cluster.local/ns/coffee/sa/barista";

describe("buildWorkloadCsr", () => {
  it.each([
    ["ecdsa-p256", "ec"],
    ["rsa-2048", "rsa"],
  ] as const)(
    "makes a %s key and a CSR the CA accepts, asking for the SPIFFE ID only",
    async (algorithm, type) => {
      const { csrPem, privateKeyPem } = await buildWorkloadCsr(ID, algorithm);
      const csr = await verifyCsr(csrPem);
      expect(requestedUris(csr)).toEqual([ID]);
      expect(csr.subject).toBe("");
      const key = createPrivateKey(privateKeyPem);
      expect(key.asymmetricKeyType).toBe(type);
      if (type === "rsa") expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
      // The CSR carries the public half of the key that is kept.
      const fromCsr = Buffer.from(csr.publicKey.rawData);
      expect(fromCsr.equals(createPublicKey(key).export({ type: "spki", format: "der" }))).toBe(
        true,
      );
    },
  );

  it("uses a fresh key every time", async () => {
    const [a, b] = await Promise.all([
      buildWorkloadCsr(ID, "ecdsa-p256"),
      buildWorkloadCsr(ID, "ecdsa-p256"),
    ]);
    expect(a.privateKeyPem).not.toBe(b.privateKeyPem);
  });
});
