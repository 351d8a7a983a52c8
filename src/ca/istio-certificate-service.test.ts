import { describe, expect, it } from "vitest";
import descriptor from "./istio-ca.generated.json" with { type: "json" };
import {
  ISTIO_CERTIFICATE_SERVICE,
  istioCaDescriptor,
  loadIstioCertificateService,
} from "./istio-certificate-service.ts";

describe("Istio's CSR API", () => {
  it("loads from a descriptor equal to istio-ca.proto (node scripts/generate-envoy-descriptors.ts refreshes it)", () => {
    expect(istioCaDescriptor()).toEqual(descriptor);
  });

  it("round-trips a request and a response as proto-loader's objects", () => {
    const { CreateCertificate } = loadIstioCertificateService();
    expect(CreateCertificate!.path).toBe(`/${ISTIO_CERTIFICATE_SERVICE}/CreateCertificate`);
    const request = {
      csr: "-----BEGIN CERTIFICATE REQUEST-----",
      validity_duration: "86400",
      metadata: { fields: { ClusterID: { stringValue: "Kubernetes" } } },
    };
    const bytes = CreateCertificate!.requestSerialize(request);
    expect(CreateCertificate!.requestDeserialize(bytes)).toMatchObject(request);
    const response = { cert_chain: ["leaf", "root"] };
    expect(
      CreateCertificate!.responseDeserialize(CreateCertificate!.responseSerialize(response)),
    ).toEqual(response);
  });
});
