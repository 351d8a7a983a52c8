import { createPrivateKey, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { manualClock } from "../base/clock.ts";
import { buildCaBundle } from "./ca-bundle.ts";
import { ISTIOD_SERVICE_HOST } from "./istiod-service-host.ts";
import { splitCertificates } from "./pem.ts";
import { createSelfSignedCa } from "./root-ca.ts";
import { issueServingCertificate } from "./serving-cert.ts";
import { DAY, makePluggedInHierarchy } from "./test-support.ts";

const START = Date.UTC(2030, 0, 1);

describe("issueServingCertificate", () => {
  it("names istiod.istio-system.svc and the given names, and chains to the mesh root", async () => {
    const ca = await createSelfSignedCa({ clock: manualClock(START) });
    const serving = await issueServingCertificate(ca, {
      dnsNames: ["crema.local", ISTIOD_SERVICE_HOST],
      ipAddresses: ["127.0.0.1"],
      clock: manualClock(START + DAY),
    });
    const [leafPem, ...rest] = splitCertificates(serving.certChainPem);
    expect(rest).toEqual([]);
    const leaf = new X509Certificate(leafPem!);
    const root = new X509Certificate(serving.rootCertsPem);
    expect(leaf.subjectAltName).toBe(
      "DNS:istiod.istio-system.svc, DNS:crema.local, IP Address:127.0.0.1",
    );
    expect(leaf.checkHost("istiod.istio-system.svc")).toBe("istiod.istio-system.svc");
    expect(leaf.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(leaf.checkIssued(root) && leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkPrivateKey(createPrivateKey(serving.privateKeyPem))).toBe(true);
    expect(leaf.keyUsage).toContain("1.3.6.1.5.5.7.3.1");
    expect(serving.notAfter).toBe(START + 2 * DAY);
    expect(leaf.publicKey.asymmetricKeyType).toBe("ec");
  });

  it("presents the intermediate when the CA is plugged in", async () => {
    const { root, intermediate, files } = await makePluggedInHierarchy();
    const plugged = buildCaBundle({
      mode: "plugged-in",
      certPem: files["ca-cert.pem"]!,
      keyPem: files["ca-key.pem"]!,
      rootsPem: files["root-cert.pem"]!,
      files: {
        cert: "ca-cert.pem",
        key: "ca-key.pem",
        chain: "cert-chain.pem",
        roots: "root-cert.pem",
      },
    });
    const serving = await issueServingCertificate(plugged);
    expect(splitCertificates(serving.certChainPem).slice(1)).toEqual([intermediate.certPem]);
    expect(serving.rootCertsPem).toBe(root.certPem);
  });
});
