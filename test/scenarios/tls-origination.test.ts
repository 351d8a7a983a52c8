// TLS origination to an external HTTPS server, as Istio's egress TLS origination task does it:
// the app speaks plain HTTP to a ServiceEntry host, and its sidecar opens TLS to the server (a
// DestinationRule with tls SIMPLE: the CA from a file, the SNI, the server's name checked);
// MUTUAL adds the client certificate. Without an SNI in the DestinationRule, Istio asks Envoy for
// auto_sni and auto_san_validation: the request's host is the SNI, and the server's certificate
// must be for it. Certificates from openssl; pods in 127.66.x.y.
import { request } from "node:http";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INJECTED_NAMESPACE_YAML, type Mesh, podYaml, startMesh } from "./support/mesh.ts";
import { createTestPki, type TestPki } from "./support/test-pki.ts";

const SUBNET = 66;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const EXTERNAL = ip(100);
const SLEEP = ip(9);
let mesh: Mesh;
let pki: TestPki;
let server: Server;
const seen: { sni: string | undefined; client: string | undefined }[] = [];

function config(): string {
  const file = (name: string) => pki.path(name);
  return `${INJECTED_NAMESPACE_YAML}---
${podYaml({ name: "sleep", ip: SLEEP, labels: { app: "sleep" } })}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external-api, namespace: default}
spec:
  hosts: [api.external.test, mtls.external.test, auto.external.test, stranger.external.test]
  ports: [{number: 8443, name: http, protocol: HTTP}]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{address: ${EXTERNAL}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: external-api, namespace: default}
spec:
  host: api.external.test
  trafficPolicy:
    tls: {mode: SIMPLE, caCertificates: ${file("ca.crt")}, sni: api.external.test}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: external-mtls, namespace: default}
spec:
  host: mtls.external.test
  trafficPolicy:
    tls:
      mode: MUTUAL
      caCertificates: ${file("ca.crt")}
      clientCertificate: ${file("client.crt")}
      privateKey: ${file("client.key")}
      sni: mtls.external.test
---
# The other hosts: the exact-host rules above win over this one for theirs.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: external-any, namespace: default}
spec:
  host: "*.external.test"
  trafficPolicy:
    tls: {mode: SIMPLE, caCertificates: ${file("ca.crt")}}
`;
}

/** Plain HTTP from the sleep pod's app, through its sidecar. */
function call(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: SLEEP, port: 15001, path: url, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .once("error", reject)
      .end();
  });
}

beforeAll(async () => {
  pki = createTestPki("crema-tls-orig-");
  // Not for stranger.external.test, which the mesh also sends here.
  pki.issue("server", "DNS:api.external.test,DNS:mtls.external.test,DNS:auto.external.test");
  pki.issue("client", "URI:spiffe://cluster.local/ns/default/sa/sleep");
  const pem = (name: string) => pki.pem(name);
  server = createServer(
    {
      key: pem("server.key"),
      cert: pem("server.crt"),
      ca: pem("ca.crt"),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      seen.push({
        sni: (socket as TLSSocket & { servername?: string }).servername,
        client: peer?.subjectaltname,
      });
      res.end(`secure answer for ${req.headers.host}${req.url}`);
    },
  );
  await new Promise<void>((resolve) => server.listen(8443, EXTERNAL, resolve));
  mesh = await startMesh(SUBNET, config());
  await mesh.startProxy({ pod: "sleep", ip: SLEEP, labels: { app: "sleep" } });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  pki?.remove();
});

describe("TLS origination to an external HTTPS server", () => {
  it("SIMPLE: the sidecar opens TLS with the SNI and verifies the server", async () => {
    const reply = await call("http://api.external.test:8443/orders");
    expect(reply).toEqual({ status: 200, body: "secure answer for api.external.test:8443/orders" });
    expect(seen.at(-1)).toEqual({ sni: "api.external.test", client: undefined });
  });

  it("MUTUAL: the sidecar presents the client certificate from the DestinationRule's files", async () => {
    const reply = await call("http://mtls.external.test:8443/pay");
    expect(reply.status).toBe(200);
    expect(seen.at(-1)?.sni).toBe("mtls.external.test");
    expect(seen.at(-1)?.client).toContain("URI:spiffe://cluster.local/ns/default/sa/sleep");
  });

  it("SIMPLE without an SNI: the request's host is the SNI, and the certificate must be for it", async () => {
    const reply = await call("http://auto.external.test:8443/menu");
    expect(reply).toEqual({ status: 200, body: "secure answer for auto.external.test:8443/menu" });
    expect(seen.at(-1)).toEqual({ sni: "auto.external.test", client: undefined });
    // The same server and CA, but its certificate does not name this host: refused before any
    // byte of the request is sent.
    const answered = seen.length;
    const refused = await call("http://stranger.external.test:8443/menu");
    expect(refused.status).toBe(503);
    expect(refused.body).toContain("CERTIFICATE_VERIFY_FAILED");
    expect(seen).toHaveLength(answered);
  });
});
