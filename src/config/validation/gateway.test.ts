// Gateway semantic validation: a clean Gateway using every server kind, and a table of invalid cases.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** A Gateway whose `servers:` list starts on line 7. */
const gateway = (servers: string, name = "gw") => `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ${name}
spec:
  servers:
${servers}`;

const HTTP_SERVER = `  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "*"
`;

describe("Gateway semantics", () => {
  it("accepts HTTP, HTTPS, PASSTHROUGH, MUTUAL, ISTIO_MUTUAL and httpsRedirect servers", () => {
    expectClean(`apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: public-gw
  namespace: istio-system
spec:
  selector:
    istio: ingressgateway
  servers:
  - port: {number: 80, name: http, protocol: http}
    hosts: ["*"]
    tls:
      httpsRedirect: true
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["bookinfo/bookinfo.example.com", "./*.example.com", "*/api.example.com"]
    tls:
      mode: SIMPLE
      credentialName: bookinfo-cert
      minProtocolVersion: TLSV1_2
      maxProtocolVersion: TLSV1_3
      cipherSuites: [ECDHE-RSA-AES128-GCM-SHA256, "-AES128-SHA"]
  - port: {number: 8443, name: passthrough, protocol: TLS}
    hosts: ["db.example.com"]
    tls:
      mode: PASSTHROUGH
  - port: {number: 9443, name: mtls, protocol: HTTPS}
    hosts: ["mtls.example.com"]
    tls:
      mode: MUTUAL
      serverCertificate: /etc/certs/server.pem
      privateKey: /etc/certs/key.pem
      caCertificates: /etc/certs/ca.pem
      caCrl: /etc/certs/crl.pem
  - port: {number: 9444, name: mtls-secret, protocol: HTTPS}
    hosts: ["secret.example.com"]
    tls:
      mode: OPTIONAL_MUTUAL
      credentialName: mtls-cert
  - port: {number: 15443, name: tls-cross-network, protocol: TLS}
    hosts: ["*.local"]
    tls:
      mode: AUTO_PASSTHROUGH
  - port: {number: 15012, name: tls-istiod, protocol: TLS}
    hosts: ["*"]
    tls:
      mode: ISTIO_MUTUAL
  - port: {number: 31400, name: tcp, protocol: TCP}
    hosts: ["10.0.0.1", "tcp.example.com"]
    bind: 0.0.0.0
  - port: {number: 0, name: uds, protocol: HTTP}
    hosts: ["uds.example.com"]
    bind: unix:///var/run/gw.sock
`);
  });
});

describe("Gateway invalid cases", () => {
  invalidCases([
    {
      name: "no servers",
      yaml: gateway("", "gw").replace("  servers:\n", "  servers: []\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.servers",
      line: 6,
      column: 12,
    },
    {
      name: "name with dots",
      yaml: gateway(HTTP_SERVER, "my.gateway"),
      code: "CREMA_VALIDATION_NAME",
      path: "metadata.name",
      line: 4,
      column: 9,
    },
    {
      name: "server with an empty host list",
      yaml: gateway(`  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts: []
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.servers[0].hosts",
      line: 11,
      column: 12,
    },
    {
      name: "short host name",
      yaml: gateway(HTTP_SERVER.replace('"*"', "reviews")),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.servers[0].hosts[0]",
      line: 12,
      column: 7,
    },
    {
      name: "invalid namespace in namespace/host",
      yaml: gateway(HTTP_SERVER.replace('"*"', "team_a/example.com")),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.servers[0].hosts[0]",
      line: 12,
      column: 7,
    },
    {
      name: "partial wildcard host",
      yaml: gateway(HTTP_SERVER.replace('"*"', "./foo*.example.com")),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.servers[0].hosts[0]",
      line: 12,
      column: 7,
    },
    {
      name: "unknown protocol",
      yaml: gateway(HTTP_SERVER.replace("protocol: HTTP", "protocol: HTTPX")),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].port.protocol",
      line: 10,
      column: 17,
    },
    {
      name: "port number out of range",
      yaml: gateway(HTTP_SERVER.replace("number: 80", "number: 70000")),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.servers[0].port.number",
      line: 8,
      column: 15,
    },
    {
      name: "targetPort on a gateway",
      yaml: gateway(HTTP_SERVER.replace("name: http\n", "name: http\n      targetPort: 8080\n")),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].port.targetPort",
      line: 10,
      column: 19,
    },
    {
      name: "duplicate server port names",
      yaml: gateway(HTTP_SERVER + HTTP_SERVER.replace("number: 80", "number: 8080")),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.servers[1].port.name",
      line: 15,
      column: 13,
    },
    {
      name: "HTTPS server without tls",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.servers[0].tls",
      line: 7,
      column: 5,
    },
    {
      name: "SIMPLE without credentials",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: SIMPLE
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.servers[0].tls",
      line: 14,
      column: 7,
    },
    {
      name: "MUTUAL with files but no CA bundle",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: MUTUAL
      serverCertificate: /etc/certs/cert.pem
      privateKey: /etc/certs/key.pem
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.servers[0].tls",
      line: 14,
      column: 7,
    },
    {
      name: "ISTIO_MUTUAL with a credentialName",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: ISTIO_MUTUAL
      credentialName: my-cert
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.servers[0].tls.credentialName",
      line: 15,
      column: 23,
    },
    {
      name: "credentialName and certificate files together",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: SIMPLE
      credentialName: my-cert
      serverCertificate: /etc/certs/cert.pem
      privateKey: /etc/certs/key.pem
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.servers[0].tls",
      line: 14,
      column: 7,
    },
    {
      name: "AUTO_PASSTHROUGH on a TCP server",
      yaml: gateway(`  - port:
      number: 15443
      name: tcp
      protocol: TCP
    hosts:
    - "*.local"
    tls:
      mode: AUTO_PASSTHROUGH
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].tls",
      line: 14,
      column: 7,
    },
    {
      name: "HTTP server terminating TLS",
      yaml: gateway(`  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - example.com
    tls:
      mode: SIMPLE
      credentialName: my-cert
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].tls",
      line: 14,
      column: 7,
    },
    {
      name: "caCrl with SIMPLE TLS",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: SIMPLE
      serverCertificate: /etc/certs/cert.pem
      privateKey: /etc/certs/key.pem
      caCrl: /etc/certs/crl.pem
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].tls.caCrl",
      line: 17,
      column: 14,
    },
    {
      name: "bind is not an IP address",
      yaml: gateway(`${HTTP_SERVER}    bind: localhost
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.servers[0].bind",
      line: 13,
      column: 11,
    },
    {
      name: "httpsRedirect on an HTTPS server (warning)",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: SIMPLE
      credentialName: my-cert
      httpsRedirect: true
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].tls.httpsRedirect",
      line: 16,
      column: 22,
      severity: "warning",
    },
    {
      name: "certificates on a PASSTHROUGH server (warning)",
      yaml: gateway(`  - port:
      number: 443
      name: tls
      protocol: TLS
    hosts:
    - example.com
    tls:
      mode: PASSTHROUGH
      credentialName: my-cert
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].tls.credentialName",
      line: 15,
      column: 23,
      severity: "warning",
    },
    {
      name: "unknown cipher suite (warning)",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: SIMPLE
      credentialName: my-cert
      cipherSuites:
      - TLS_RSA_WITH_RC4
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.servers[0].tls.cipherSuites[0]",
      line: 17,
      column: 9,
      severity: "warning",
    },
    {
      name: "minProtocolVersion above maxProtocolVersion (warning)",
      yaml: gateway(`  - port:
      number: 443
      name: https
      protocol: HTTPS
    hosts:
    - example.com
    tls:
      mode: SIMPLE
      credentialName: my-cert
      minProtocolVersion: TLSV1_3
      maxProtocolVersion: TLSV1_2
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.servers[0].tls.maxProtocolVersion",
      line: 17,
      column: 27,
      severity: "warning",
    },
  ]);
});
