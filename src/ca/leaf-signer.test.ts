import { describe, expect, it } from "vitest";
import { leafSigner } from "./leaf-signer.ts";
import { createSelfSignedCa } from "./root-ca.ts";

describe("leafSigner", () => {
  it("works a bundle's signer out once, and a new bundle's afresh", async () => {
    const [ca, rotated] = await Promise.all([createSelfSignedCa(), createSelfSignedCa()]);
    const signer = leafSigner(ca);
    expect(leafSigner(ca)).toBe(signer);
    expect(leafSigner(rotated)).not.toBe(signer);
    expect(Buffer.from(leafSigner(rotated).authorityKeyIdentifier)).not.toEqual(
      Buffer.from(signer.authorityKeyIdentifier),
    );
  });

  it("signs with the algorithm of the CA's key", async () => {
    const rsa = leafSigner(await createSelfSignedCa({ keyAlgorithm: "rsa-2048" }));
    expect(rsa.key.asymmetricKeyType).toBe("rsa");
    expect(rsa.digest).toBe("sha256");
    const ec = leafSigner(await createSelfSignedCa());
    expect(ec.key.asymmetricKeyType).toBe("ec");
    expect(ec.digest).toBe("sha256");
  });
});
