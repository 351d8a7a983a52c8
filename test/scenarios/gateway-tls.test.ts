// An ingress gateway (`crema proxy --type router`) terminating TLS as Istio's Gateway servers
// ask: SIMPLE and MUTUAL with a credentialName Secret (key pair, CA to verify clients,
// subjectAltNames), served to the gateway over SDS by the real control plane, and an HTTP server
// with httpsRedirect. Certificates come from openssl. Pods in 127.64.x.y; the gateway pod's
// listeners bind its own address.
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { createTestPki, type TestPki } from "./support/test-pki.ts";

const SUBNET = 64;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const HTTPS_PORT = 19443;
const HTTP_PORT = 19080;
const SIMPLE_PORT = 19444;
const HOST = "secure.gw.test";
const GATEWAY = ip(9);
const PARTNER = "spiffe://partner.example.com/client";
let mesh: Mesh;
let pki: TestPki;
const pem = (name: string) => pki.pem(name);

const b64 = (name: string) => Buffer.from(pem(name)).toString("base64");

function config(): string {
  return `${INJECTED_NAMESPACE_YAML}---
apiVersion: v1
kind: Namespace
metadata: {name: istio-system}
---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: ip(1), labels: { app: "echo" }, ports: [8080] })}---
${podYaml({ name: "istio-ingressgateway-1", ip: GATEWAY, namespace: "istio-system", labels: { istio: "ingressgateway" } })}---
apiVersion: v1
kind: Secret
metadata: {name: gw-cert, namespace: istio-system}
type: kubernetes.io/tls
data: {tls.crt: ${b64("server.crt")}, tls.key: ${b64("server.key")}, ca.crt: ${b64("ca.crt")}}
---
apiVersion: v1
kind: Secret
metadata: {name: gw-simple, namespace: istio-system}
type: kubernetes.io/tls
stringData:
  tls.crt: |
${pem("server.crt").replace(/^/gm, "    ").trimEnd()}
  tls.key: |
${pem("server.key").replace(/^/gm, "    ").trimEnd()}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: secure, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${HTTPS_PORT}, name: https, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: MUTUAL, credentialName: gw-cert, subjectAltNames: ["${PARTNER}"]}
  - port: {number: ${SIMPLE_PORT}, name: https-simple, protocol: HTTPS}
    hosts: [${HOST}]
    tls: {mode: SIMPLE, credentialName: gw-simple}
  - port: {number: ${HTTP_PORT}, name: http, protocol: HTTP}
    hosts: [${HOST}]
    tls: {httpsRedirect: true}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure, namespace: istio-system}
spec:
  hosts: [${HOST}]
  gateways: [secure]
  http:
  - route: [{destination: {host: echo.default.svc.cluster.local}}]
`;
}

function https(client?: string, port = HTTPS_PORT): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsRequest(
      {
        host: GATEWAY,
        port,
        path: "/hello",
        servername: HOST,
        headers: { host: HOST },
        ca: pem("ca.crt"),
        agent: false,
        ...(client ? { cert: pem(`${client}.crt`), key: pem(`${client}.key`) } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.once("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    )
      .once("error", reject)
      .end();
  });
}

beforeAll(async () => {
  pki = createTestPki("crema-gw-tls-");
  pki.issue("server", `DNS:${HOST}`);
  pki.issue("partner", `URI:${PARTNER}`);
  pki.issue("stranger", "URI:spiffe://elsewhere.example.com/client");
  mesh = await startMesh(SUBNET, config());
  await mesh.startEcho({ pod: "echo-1", ip: ip(1) });
  // Ready once its listeners are warm, which waits for the credential over SDS.
  await mesh.startProxy({
    pod: "istio-ingressgateway-1",
    ip: GATEWAY,
    namespace: "istio-system",
    labels: { istio: "ingressgateway" },
    type: "router",
  });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
  pki?.remove();
});

describe("a MUTUAL gateway server with a credentialName", () => {
  it("serves a client whose certificate the Secret's CA signed, with an allowed SAN", async () => {
    const reply = await https("partner");
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ path: "/hello" });
  });

  it("refuses a client without a certificate, and one whose SAN is not allowed", async () => {
    await expect(https()).rejects.toThrow();
    await expect(https("stranger")).rejects.toThrow();
    // The gateway is unharmed.
    expect((await https("partner")).status).toBe(200);
  });
});

describe("a SIMPLE gateway server with a credentialName (stringData Secret)", () => {
  it("serves any client over TLS with the Secret's certificate", async () => {
    const reply = await https(undefined, SIMPLE_PORT);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ path: "/hello" });
  });
});

describe("an HTTP gateway server with httpsRedirect", () => {
  it("answers 301 to the https URL", async () => {
    const reply = await new Promise<{ status: number; location: string | undefined }>(
      (resolve, reject) => {
        request(
          { host: GATEWAY, port: HTTP_PORT, path: "/menu?size=large", headers: { host: HOST } },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, location: res.headers.location });
          },
        )
          .once("error", reject)
          .end();
      },
    );
    expect(reply.status).toBe(301);
    expect(reply.location).toBe(`https://${HOST}/menu?size=large`);
  });
});
