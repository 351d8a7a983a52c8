// x-forwarded-client-cert as Envoy's HCM writes it for each forward_client_cert_details mode, from
// certificates minted by crema's CA.
import { createHash, X509Certificate } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { DownstreamTlsInfo, HcmConfig } from "../listener/types.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { createTestCa } from "../tls/testing.ts";
import { mutateForwardedClientCert, XFCC } from "./forward-client-cert.ts";

const LOCAL = "spiffe://cluster.local/ns/shop/sa/payments";
const PEER = "spiffe://cluster.local/ns/shop/sa/orders";

function config(
  mode: HcmConfig["forwardClientCertDetails"],
  details: Partial<HcmConfig["setCurrentClientCertDetails"]> = {},
): HcmConfig {
  return {
    forwardClientCertDetails: mode,
    setCurrentClientCertDetails: {
      subject: false,
      cert: false,
      chain: false,
      dns: false,
      uri: false,
      ...details,
    },
  } as HcmConfig;
}

describe("mutateForwardedClientCert", () => {
  let mtls: DownstreamTlsInfo;
  let hash: string;
  beforeAll(async () => {
    const ca = await createTestCa();
    const local = new X509Certificate((await ca.issue({ uris: [LOCAL] })).certificateChainPem);
    const peer = new X509Certificate(
      (await ca.issue({ uris: [PEER], dnsNames: ["orders.shop"] })).certificateChainPem,
    );
    hash = createHash("sha256").update(peer.raw).digest("hex");
    mtls = {
      uriSans: [PEER],
      dnsSans: ["orders.shop"],
      subject: "",
      peerCertificatePresented: true,
      peerCertificateValidated: true,
      alpn: "",
      localCertificate: local,
      peerCertificate: peer,
    };
  });

  const apply = (c: HcmConfig, headers: MutableHeaders, tls?: DownstreamTlsInfo) => {
    mutateForwardedClientCert(c, headers, tls);
    return headers[XFCC];
  };

  it("SANITIZE_SET replaces the header with this connection's By, Hash, Subject and URI", () => {
    const value = apply(
      config("SANITIZE_SET", { subject: true, uri: true }),
      { [XFCC]: "forged" },
      mtls,
    );
    expect(value).toBe(`By=${LOCAL};Hash=${hash};Subject="";URI=${PEER}`);
  });

  it("APPEND_FORWARD appends to what the client sent, with Envoy's order of details", () => {
    const value = apply(
      config("APPEND_FORWARD", { subject: true, uri: true, dns: true }),
      { [XFCC]: "By=spiffe://a;Hash=00" },
      mtls,
    );
    expect(value).toBe(
      `By=spiffe://a;Hash=00,By=${LOCAL};Hash=${hash};Subject="";URI=${PEER};DNS=orders.shop`,
    );
  });

  it("Cert carries the url-encoded PEM", () => {
    const value = String(apply(config("SANITIZE_SET", { cert: true }), {}, mtls));
    expect(value).toMatch(/;Cert="-----BEGIN%20CERTIFICATE-----%0A[^"]+%0A"$/);
    expect(decodeURIComponent(value.split('Cert="')[1]!.slice(0, -1))).toBe(
      mtls.peerCertificate!.toString(),
    );
  });

  it("drops the header without a client certificate, unless ALWAYS_FORWARD_ONLY", () => {
    const noCert = { ...mtls, peerCertificatePresented: false };
    for (const mode of ["SANITIZE_SET", "APPEND_FORWARD", "FORWARD_ONLY", "SANITIZE"] as const) {
      expect(apply(config(mode), { [XFCC]: "forged" }, noCert)).toBeUndefined();
      expect(apply(config(mode), { [XFCC]: "forged" })).toBeUndefined();
    }
    expect(apply(config("ALWAYS_FORWARD_ONLY"), { [XFCC]: "kept" })).toBe("kept");
    expect(apply(config("FORWARD_ONLY"), { [XFCC]: "kept" }, mtls)).toBe("kept");
    expect(apply(config("SANITIZE"), { [XFCC]: "x" }, mtls)).toBeUndefined();
  });
});
