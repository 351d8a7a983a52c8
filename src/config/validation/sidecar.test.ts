// Sidecar semantic validation: a clean Sidecar with ingress, egress and pools, and a table of invalid cases.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** A Sidecar in namespace "default" whose spec body starts on line 6. */
const sidecar = (body: string) => `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: sc
spec:
${body}`;

/** One egress listener; its hosts list starts on line 8. */
const egress = (...hosts: string[]) =>
  sidecar(`  egress:
  - hosts:
${hosts.map((h) => `    - ${JSON.stringify(h)}\n`).join("")}`);

describe("Sidecar semantics", () => {
  it("accepts ingress and egress listeners, pools and an egress proxy", () => {
    expectClean(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: ratings
  namespace: bookinfo
spec:
  workloadSelector:
    labels:
      app: ratings
  ingress:
  - port: {number: 9080, protocol: HTTP, name: http}
    defaultEndpoint: 127.0.0.1:8080
    connectionPool:
      http: {http1MaxPendingRequests: 100, idleTimeout: 30s}
      tcp: {maxConnections: 10, connectTimeout: 250ms, idleTimeout: 0s}
  - port: {number: 9443, protocol: HTTPS, name: https}
    defaultEndpoint: unix:///var/run/ratings.sock
    tls:
      mode: SIMPLE
      serverCertificate: /etc/certs/cert.pem
      privateKey: /etc/certs/key.pem
  - port: {number: 9090, protocol: TCP}
    bind: 0.0.0.0
    defaultEndpoint: "[::1]:9090"
  inboundConnectionPool:
    tcp:
      tcpKeepalive: {time: 7200s, interval: 75s}
  egress:
  - port: {number: 3306, protocol: MySQL, name: mysql}
    bind: 127.0.0.1
    hosts: ["*/mysql.foo.com"]
  - port: {number: 0, protocol: HTTP, name: uds}
    bind: unix:///var/run/egress.sock
    captureMode: NONE
    hosts: ["~/*"]
  - hosts: ["./*", "istio-system/*", "*/*.example.com"]
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy:
      host: egress.istio-system.svc.cluster.local
      subset: v1
      port: {number: 443}
`);
  });
});

describe("Sidecar invalid cases", () => {
  invalidCases([
    {
      name: "nothing configured",
      yaml: sidecar("  workloadSelector:\n    labels:\n      app: a\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec",
      line: 6,
      column: 3,
    },
    {
      name: "egress host without a namespace",
      yaml: egress("example.com"),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.egress[0].hosts[0]",
      line: 8,
      column: 7,
    },
    {
      name: "egress host with an invalid namespace",
      yaml: egress("Bad_NS/*"),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.egress[0].hosts[0]",
      line: 8,
      column: 7,
    },
    {
      name: "egress host with a short name",
      yaml: egress("./reviews"),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.egress[0].hosts[0]",
      line: 8,
      column: 7,
    },
    {
      name: "egress listener without hosts",
      yaml: sidecar("  egress:\n  - hosts: []\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.egress[0].hosts",
      line: 7,
      column: 12,
    },
    {
      name: "catch-all egress listener that is not last",
      yaml: sidecar(`  egress:
  - hosts: ["./*"]
  - port:
      number: 8080
      protocol: HTTP
    hosts: ["./*"]
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.egress[0]",
      line: 7,
      column: 5,
    },
    {
      name: "egress port 0 without a Unix socket bind",
      yaml: sidecar(`  egress:
  - port:
      number: 0
      protocol: HTTP
    hosts: ["./*"]
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.egress[0].bind",
      line: 7,
      column: 5,
    },
    {
      name: "Unix socket egress listener with IPTABLES capture",
      yaml: sidecar(`  egress:
  - port:
      number: 0
      protocol: HTTP
    bind: unix:///var/run/out.sock
    captureMode: IPTABLES
    hosts: ["./*"]
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.egress[0].captureMode",
      line: 11,
      column: 18,
    },
    {
      name: "egress bind that is not an IP",
      yaml: sidecar(`  egress:
  - port:
      number: 8080
    bind: localhost
    hosts: ["./*"]
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.egress[0].bind",
      line: 9,
      column: 11,
    },
    {
      name: "two egress listeners on one port",
      yaml: sidecar(`  egress:
  - port:
      number: 8080
    hosts: ["./*"]
  - port:
      number: 8080
    hosts: ["istio-system/*"]
`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.egress[1].port.number",
      line: 11,
      column: 15,
    },
    {
      name: "duplicate egress host (warning)",
      yaml: egress("./*", "default/*"),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.egress[0].hosts[1]",
      line: 9,
      column: 7,
      severity: "warning",
    },
    {
      name: "ingress default endpoint on a non-loopback address",
      yaml: sidecar(`  ingress:
  - port:
      number: 9080
      protocol: HTTP
    defaultEndpoint: 10.0.0.1:8080
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.ingress[0].defaultEndpoint",
      line: 10,
      column: 22,
    },
    {
      name: "ingress default endpoint without a numeric port",
      yaml: sidecar(`  ingress:
  - port:
      number: 9080
      protocol: HTTP
    defaultEndpoint: 127.0.0.1:http
`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.ingress[0].defaultEndpoint",
      line: 10,
      column: 22,
    },
    {
      name: "two ingress listeners on one port",
      yaml: sidecar(`  ingress:
  - port:
      number: 9080
  - port:
      number: 9080
`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.ingress[1].port.number",
      line: 10,
      column: 15,
    },
    {
      name: "ingress targetPort",
      yaml: sidecar(`  ingress:
  - port:
      number: 9080
      targetPort: 8080
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.ingress[0].port.targetPort",
      line: 9,
      column: 19,
    },
    {
      name: "ingress TLS with a credentialName",
      yaml: sidecar(`  ingress:
  - port:
      number: 9443
      protocol: HTTPS
    tls:
      mode: SIMPLE
      credentialName: my-cert
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.ingress[0].tls.credentialName",
      line: 12,
      column: 23,
    },
    {
      name: "ingress TLS on an HTTP port",
      yaml: sidecar(`  ingress:
  - port:
      number: 9080
      protocol: HTTP
    tls:
      mode: SIMPLE
      serverCertificate: /etc/certs/cert.pem
      privateKey: /etc/certs/key.pem
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.ingress[0].tls",
      line: 11,
      column: 7,
    },
    {
      name: "empty inbound connection pool",
      yaml: sidecar("  inboundConnectionPool: {}\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.inboundConnectionPool",
      line: 6,
      column: 26,
    },
    {
      name: "UPGRADE together with useClientProtocol",
      yaml: sidecar(`  inboundConnectionPool:
    http:
      h2UpgradePolicy: UPGRADE
      useClientProtocol: true
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.inboundConnectionPool.http.useClientProtocol",
      line: 9,
      column: 26,
    },
    {
      name: "negative connection limit",
      yaml: sidecar(`  inboundConnectionPool:
    tcp:
      maxConnections: -1
`),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.inboundConnectionPool.tcp.maxConnections",
      line: 8,
      column: 23,
    },
    {
      name: "HTTP pool settings on a TCP port (warning)",
      yaml: sidecar(`  ingress:
  - port:
      number: 9000
      protocol: TCP
    connectionPool:
      http:
        maxRetries: 3
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.ingress[0].connectionPool.http",
      line: 12,
      column: 9,
      severity: "warning",
    },
    {
      name: "egressProxy with REGISTRY_ONLY",
      yaml: sidecar(`  outboundTrafficPolicy:
    mode: REGISTRY_ONLY
    egressProxy:
      host: egress.istio-system.svc.cluster.local
      port:
        number: 443
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.outboundTrafficPolicy.egressProxy",
      line: 9,
      column: 7,
    },
    {
      name: "egressProxy without a port",
      yaml: sidecar(`  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy:
      host: egress.istio-system.svc.cluster.local
`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.outboundTrafficPolicy.egressProxy.port",
      line: 9,
      column: 7,
    },
  ]);
});
