import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { buildSecretRows, NO_SECRETS, renderSecretsTable } from "./secrets-table.ts";

// Public certificates only (made with openssl for this test): a workload leaf with serial
// 0a1b2c3d4e5f valid one day, and the self-signed root that issued it, valid ten years.
const LEAF = `-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIGChssPU5fMAoGCCqGSM49BAMCMBgxFjAUBgNVBAoMDWNs
dXN0ZXIubG9jYWwwHhcNMjYxMjA3MDYyNjQwWhcNMjYxMjA4MDYyNjQwWjAAMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEXJVofhUaCGUUO4eyJhQvfwvq4nxCndW4
AsJWKjYS7rONJ64AUL9xgzE0bx3p6e2ohCrhvNA0jv9BN14vaMkKXqOBiDCBhTA1
BgNVHREELjAshipzcGlmZmU6Ly9jbHVzdGVyLmxvY2FsL25zL2RlZmF1bHQvc2Ev
c2xlZXAwDAYDVR0TAQH/BAIwADAdBgNVHQ4EFgQUZH4xIgFXEyqmFeVSGR6Hh6X3
678wHwYDVR0jBBgwFoAUIxyjhW4tykqa9uTl1tDN93nuShgwCgYIKoZIzj0EAwID
SAAwRQIhANTJKzXw1vz7tsJu/JIBjBEasXRxUiR0Y+tXa9txhKa2AiBnt4N5/Fvd
iFa2Cwov3vISpDtMMyDAM6Zx9J1W3bDj9Q==
-----END CERTIFICATE-----`;
const ROOT = `-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUImIM1k9RHMFbAmidwRD9EMgXwIcwCgYIKoZIzj0EAwIw
GDEWMBQGA1UECgwNY2x1c3Rlci5sb2NhbDAeFw0yNjEyMDcwNjI2NDBaFw0zNjEy
MDQwNjI2NDBaMBgxFjAUBgNVBAoMDWNsdXN0ZXIubG9jYWwwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAARSLL0UsXs1woSwGmZ1uMimojG69rIb8VUbSzpI3EiKrlxH
8voM7R6BPoKTR2tgzdqeyIYsef+J3hoszhD8xI9To2MwYTAdBgNVHQ4EFgQUIxyj
hW4tykqa9uTl1tDN93nuShgwHwYDVR0jBBgwFoAUIxyjhW4tykqa9uTl1tDN93nu
ShgwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAgQwCgYIKoZIzj0EAwID
SAAwRQIhAJKCFTNrn9oRwLQUx8mR+aDlGj1SNSRBjm8BA5V3Dg9zAiAtSpVsDZvs
fWj2XmXs6D4wY6uRw+/d5ZmQJqNSidnbNA==
-----END CERTIFICATE-----`;

const bytes = (pem: string) => ({ inline_bytes: Buffer.from(pem).toString("base64") });
const SECRETS: JsonObject = {
  "@type": "type.googleapis.com/envoy.admin.v3.SecretsConfigDump",
  dynamic_active_secrets: [
    {
      name: "default",
      version_info: "2026-12-07T06:26:40Z",
      secret: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
        name: "default",
        tls_certificate: {
          certificate_chain: bytes(`${LEAF}\n${ROOT}\n`),
          private_key: { inline_bytes: "W3JlZGFjdGVkXQ==" },
        },
      },
    },
    {
      name: "ROOTCA",
      version_info: "2026-12-07T06:26:40Z",
      secret: { name: "ROOTCA", validation_context: { trusted_ca: { inline_string: ROOT } } },
    },
  ],
  dynamic_warming_secrets: [{ name: "kubernetes://ingress-cert", version_info: "uninitialized" }],
};

describe("proxy-config secret", () => {
  it("says so when the proxy holds no secret, as istioctl does", () => {
    expect(renderSecretsTable(buildSecretRows({}))).toBe(NO_SECRETS);
  });

  it("shows each secret's first certificate: kind, validity, serial number and dates", () => {
    const now = new Date("2026-12-07T12:00:00Z");
    expect(renderSecretsTable(buildSecretRows(SECRETS, now))).toBe(
      [
        "RESOURCE NAME                 TYPE           STATUS      VALID CERT     SERIAL NUMBER                                NOT AFTER                NOT BEFORE",
        "kubernetes://ingress-cert                    WARMING     false",
        "default                       Cert Chain     ACTIVE      true           a1b2c3d4e5f                                  2026-12-08T06:26:40Z     2026-12-07T06:26:40Z",
        "ROOTCA                        CA             ACTIVE      true           22620cd64f511cc15b02689dc110fd10c817c087     2036-12-04T06:26:40Z     2026-12-07T06:26:40Z",
        "",
      ].join("\n"),
    );
  });

  it("marks an expired certificate not valid and an uninitialized active secret as such", () => {
    const later = new Date("2027-01-01T00:00:00Z");
    const [, leaf] = buildSecretRows(SECRETS, later);
    expect(leaf).toMatchObject({ name: "default", validCert: false, type: "Cert Chain" });
    const [row] = buildSecretRows({
      dynamic_active_secrets: [{ name: "x", version_info: "uninitialized", secret: { name: "x" } }],
    });
    expect(row).toMatchObject({ status: "UNINITIALIZED", validCert: false, type: "" });
  });
});
