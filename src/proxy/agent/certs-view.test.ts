import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSelfSignedCa } from "../../ca/root-ca.ts";
import { issueServingCertificate } from "../../ca/serving-cert.ts";
import { NO_SECRETS, type SecretProvider } from "../tls/secret-provider.ts";
import { describeCertificates } from "./certs-view.ts";

describe("describeCertificates (/certs)", () => {
  it("lists the roots as ca_cert and the workload chain as cert_chain, as Envoy does", async () => {
    const bundle = await createSelfSignedCa();
    const serving = await issueServingCertificate(bundle, {
      ipAddresses: ["127.0.0.1"],
      ttlMs: 3 * 24 * 3600_000,
    });
    const secrets: SecretProvider = {
      certificate: (name) =>
        name === "default"
          ? { certificateChainPem: serving.certChainPem, privateKeyPem: serving.privateKeyPem }
          : undefined,
      trustedCa: (name) => (name === "ROOTCA" ? bundle.signingCertPem : undefined),
      onChange: () => () => {},
    };
    const leaf = new X509Certificate(serving.certChainPem);
    const view = describeCertificates(secrets, leaf.validFromDate.getTime());
    const [entry] = view.certificates as Array<{ ca_cert: unknown[]; cert_chain: unknown[] }>;
    expect(entry!.ca_cert).toEqual([
      expect.objectContaining({ path: "<inline>", subject_alt_names: [] }),
    ]);
    expect(entry!.cert_chain).toEqual([
      {
        path: "<inline>",
        serial_number: leaf.serialNumber.toLowerCase().replace(/^0+(?=.)/, ""),
        subject_alt_names: [{ dns: "istiod.istio-system.svc" }, { ip_address: "127.0.0.1" }],
        days_until_expiration: "3",
        valid_from: leaf.validFromDate.toISOString().replace(".000Z", "Z"),
        expiration_time: leaf.validToDate.toISOString().replace(".000Z", "Z"),
      },
    ]);
  });

  it("is empty without secrets", () => {
    expect(describeCertificates(NO_SECRETS, Date.now())).toEqual({ certificates: [] });
  });
});
