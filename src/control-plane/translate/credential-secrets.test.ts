import { describe, expect, it } from "vitest";
import { TYPE_URL } from "../../xds/type-urls.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { expectEncodable, proxyNode } from "./clusters-testing.ts";
import { credentialSecretsFor } from "./credential-secrets.ts";

const b64 = (text: string) => Buffer.from(text).toString("base64");

const snapshot = snapshotFromYaml(`apiVersion: v1
kind: Secret
metadata: {name: shop-cert, namespace: istio-system}
type: kubernetes.io/tls
data: {tls.crt: ${b64("CHAIN")}, tls.key: ${b64("KEY")}, ca.crt: ${b64("CA")}}
---
apiVersion: v1
kind: Secret
metadata: {name: plain-cert, namespace: istio-system}
stringData: {cert: PLAIN-CHAIN, key: PLAIN-KEY}
---
apiVersion: v1
kind: Secret
metadata: {name: plain-cert-cacert, namespace: istio-system}
stringData: {cacert: PLAIN-CA}
---
apiVersion: v1
kind: Secret
metadata: {name: other-cert, namespace: default}
data: {tls.crt: ${b64("X")}, tls.key: ${b64("Y")}}
`);
const gateway = proxyNode({ namespace: "istio-system", kind: "router" });

describe("credentialSecretsFor (istiod's SecretGen)", () => {
  it("serves a kubernetes.io/tls Secret's key pair and its ca.crt as <name>-cacert", () => {
    const secrets = credentialSecretsFor(snapshot, gateway, [
      "kubernetes://shop-cert",
      "kubernetes://shop-cert-cacert",
    ]);
    expect(secrets.get("kubernetes://shop-cert")).toEqual({
      name: "kubernetes://shop-cert",
      tls_certificate: {
        certificate_chain: { inline_bytes: b64("CHAIN") },
        private_key: { inline_bytes: b64("KEY") },
      },
    });
    expect(secrets.get("kubernetes://shop-cert-cacert")).toEqual({
      name: "kubernetes://shop-cert-cacert",
      validation_context: { trusted_ca: { inline_bytes: b64("CA") } },
    });
    expectEncodable(secrets.values(), TYPE_URL.secret);
  });

  it("reads generic Secrets (cert/key, and a separate <name>-cacert) and stringData", () => {
    const secrets = credentialSecretsFor(snapshot, gateway, [
      "kubernetes://istio-system/plain-cert",
      "kubernetes://plain-cert-cacert",
    ]);
    expect(secrets.get("kubernetes://istio-system/plain-cert")).toMatchObject({
      tls_certificate: { certificate_chain: { inline_bytes: b64("PLAIN-CHAIN") } },
    });
    expect(secrets.get("kubernetes://plain-cert-cacert")).toMatchObject({
      validation_context: { trusted_ca: { inline_bytes: b64("PLAIN-CA") } },
    });
  });

  it("serves nothing from another namespace, nothing missing, nothing of other types", () => {
    const secrets = credentialSecretsFor(snapshot, gateway, [
      "kubernetes://default/other-cert",
      "kubernetes://missing",
      "kubernetes://other-cert-cacert",
      "file-cert:/etc/a~/etc/b",
      "default",
    ]);
    expect([...secrets.keys()]).toEqual([]);
  });
});
