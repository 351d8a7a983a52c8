// ServiceEntry semantic validation: clean entries for each resolution mode, and a table of invalid cases.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** A ServiceEntry in namespace "default" whose spec body starts on line 6. */
const se = (body: string, labels = "") => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: se${labels}
spec:
${body}`;

const HTTPS_PORT = `  ports:
  - number: 443
    name: https
    protocol: HTTPS
`;

describe("ServiceEntry semantics", () => {
  it("accepts DNS, DNS_ROUND_ROBIN, STATIC and NONE entries with endpoints and selectors", () => {
    expectClean(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: external-api
spec:
  hosts: [api.example.com, www.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  exportTo: [".", istio-system]
  ports:
  - {number: 443, name: https, protocol: HTTPS}
  - {number: 8443, name: tls-alt, protocol: tls, targetPort: 9443}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: dns-endpoints
spec:
  hosts: ["*.internal.example.com"]
  resolution: DNS
  ports:
  - {number: 80, name: http, protocol: HTTP}
  endpoints:
  - address: us.internal.example.com
    ports: {http: 8080}
    labels: {region: us}
    weight: 3
  - address: 10.1.2.3
    locality: eu/west
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: round-robin
spec:
  hosts: [rr.example.com]
  resolution: DNS_ROUND_ROBIN
  ports:
  - {number: 80, name: http, protocol: HTTP}
  endpoints:
  - address: lb.example.com
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: static-vms
spec:
  hosts: [vm.mesh.internal]
  addresses: [192.168.10.0/24]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 5432, name: tcp-postgres, protocol: TCP}
  endpoints:
  - address: 192.168.10.5
    network: net-1
  - address: 2001:db8::5
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: uds
spec:
  hosts: [uds.local]
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP}
  endpoints:
  - address: unix:///var/run/app.sock
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: selected-workloads
spec:
  hosts: [reviews.vm.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  workloadSelector:
    labels: {app: reviews}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: passthrough
spec:
  hosts: ["*.wikipedia.org", "*.wikimedia.org"]
  addresses: [10.20.0.0/16]
  resolution: NONE
  exportTo: ["~"]
  ports:
  - {number: 443, name: tls, protocol: TLS}
`);
  });
});

describe("ServiceEntry invalid cases", () => {
  invalidCases([
    {
      name: "no hosts",
      yaml: se("  hosts: []\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.hosts",
      line: 6,
      column: 10,
    },
    {
      name: "bare wildcard host",
      yaml: se('  hosts: ["*"]\n'),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[0]",
      line: 6,
      column: 11,
    },
    {
      name: "host with an invalid label",
      yaml: se("  hosts:\n  - bad_host.example.com\n"),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[0]",
      line: 7,
      column: 5,
    },
    {
      name: "partial wildcard host (warning)",
      yaml: se(`  hosts:\n  - "*x.example.com"\n${HTTPS_PORT}`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[0]",
      line: 7,
      column: 5,
      severity: "warning",
    },
    {
      name: "invalid address",
      yaml: se("  hosts: [a.example.com]\n  addresses:\n  - 300.1.1.1\n"),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.addresses[0]",
      line: 8,
      column: 5,
    },
    {
      name: "CIDR address with DNS resolution",
      yaml: se(
        `  hosts: [a.example.com]\n  resolution: DNS\n  addresses:\n  - 10.0.0.0/8\n${HTTPS_PORT}`,
      ),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.addresses[0]",
      line: 9,
      column: 5,
    },
    {
      name: "duplicate port names",
      yaml: se(`  hosts: [a.example.com]
  ports:
  - number: 80
    name: http
    protocol: HTTP
  - number: 8080
    name: http
    protocol: HTTP
`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.ports[1].name",
      line: 12,
      column: 11,
    },
    {
      name: "duplicate port numbers",
      yaml: se(`  hosts: [a.example.com]
  ports:
  - number: 80
    name: http
    protocol: HTTP
  - number: 80
    name: http-alt
    protocol: HTTP
`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.ports[1].number",
      line: 11,
      column: 13,
    },
    {
      name: "port number out of range",
      yaml: se(
        HTTPS_PORT.replace("443", "99999").replace("  ports", "  hosts: [a.example.com]\n  ports"),
      ),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.ports[0].number",
      line: 8,
      column: 13,
    },
    {
      name: "targetPort out of range",
      yaml: se(`  hosts: [a.example.com]
${HTTPS_PORT}    targetPort: 70000
`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.ports[0].targetPort",
      line: 11,
      column: 17,
    },
    {
      name: "invalid port name",
      yaml: se(`  hosts: [a.example.com]\n${HTTPS_PORT.replace("name: https", "name: https_web")}`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.ports[0].name",
      line: 9,
      column: 11,
    },
    {
      name: "unknown protocol",
      yaml: se(
        `  hosts: [a.example.com]\n${HTTPS_PORT.replace("protocol: HTTPS", "protocol: QUIC")}`,
      ),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.ports[0].protocol",
      line: 10,
      column: 15,
    },
    {
      name: "endpoints with resolution NONE",
      yaml: se(`  hosts: [a.example.com]
  resolution: NONE
${HTTPS_PORT}  endpoints:
  - address: 10.0.0.1
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.endpoints",
      line: 13,
      column: 3,
    },
    {
      name: "DNS_ROUND_ROBIN with two endpoints",
      yaml: se(`  hosts: [a.example.com]
  resolution: DNS_ROUND_ROBIN
${HTTPS_PORT}  endpoints:
  - address: a1.example.com
  - address: a2.example.com
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.endpoints[1]",
      line: 14,
      column: 5,
    },
    {
      name: "wildcard host with DNS resolution and no endpoints",
      yaml: se(`  hosts: ["*.example.com"]\n  resolution: DNS\n${HTTPS_PORT}`),
      code: "CREMA_VALIDATION_HOST",
      path: "spec.hosts[0]",
      line: 6,
      column: 11,
    },
    {
      name: "STATIC endpoint with a host name",
      yaml: se(`  hosts: [a.example.com]
  resolution: STATIC
${HTTPS_PORT}  endpoints:
  - address: backend.example.com
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.endpoints[0].address",
      line: 13,
      column: 14,
    },
    {
      name: "endpoint port that the ServiceEntry does not declare",
      yaml: se(`  hosts: [a.example.com]
  resolution: STATIC
${HTTPS_PORT}  endpoints:
  - address: 10.0.0.1
    ports:
      grpc: 9090
`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.endpoints[0].ports.grpc",
      line: 15,
      column: 13,
    },
    {
      name: "Unix socket endpoint with ports",
      yaml: se(`  hosts: [a.example.com]
  resolution: STATIC
${HTTPS_PORT}  endpoints:
  - address: unix:///var/run/a.sock
    ports:
      https: 8443
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.endpoints[0].ports",
      line: 15,
      column: 7,
    },
    {
      name: "Unix socket endpoint with DNS resolution",
      yaml: se(`  hosts: [a.example.com]
  resolution: DNS
${HTTPS_PORT}  endpoints:
  - address: unix:///var/run/a.sock
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.endpoints[0].address",
      line: 13,
      column: 14,
    },
    {
      name: "endpoints and workloadSelector together",
      yaml: se(`  hosts: [a.example.com]
  resolution: STATIC
${HTTPS_PORT}  workloadSelector:
    labels:
      app: a
  endpoints:
  - address: 10.0.0.1
`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.endpoints",
      line: 16,
      column: 3,
    },
    {
      name: "wildcard in the workload selector",
      yaml: se(`  hosts: [a.example.com]
  resolution: STATIC
${HTTPS_PORT}  workloadSelector:
    labels:
      app: "*"
`),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.workloadSelector.labels.app",
      line: 14,
      column: 12,
    },
    {
      name: "several hosts with a TCP port",
      yaml: se(`  hosts: [a.example.com, b.example.com]
  resolution: DNS
  ports:
  - number: 5432
    name: tcp-db
    protocol: TCP
`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.ports[0].protocol",
      line: 11,
      column: 15,
    },
    {
      name: "exportTo lists '.' and the own namespace",
      yaml: se(`  hosts: [a.example.com]\n${HTTPS_PORT}  exportTo: [".", default]\n`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.exportTo[1]",
      line: 11,
      column: 19,
    },
    {
      name: "TCP port without addresses under resolution NONE (warning)",
      yaml: se(`  hosts: [db.example.com]
  resolution: NONE
  ports:
  - number: 5432
    name: tcp-db
`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.ports[0]",
      line: 9,
      column: 5,
      severity: "warning",
    },
  ]);
});
