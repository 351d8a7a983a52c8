// WorkloadEntry semantic validation: clean IP, DNS, socket and network entries, and a table of invalid cases.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** A WorkloadEntry whose spec body starts on line 6. */
const we = (body: string) => `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-1
spec:
${body}`;

describe("WorkloadEntry semantics", () => {
  it("accepts IP, host name, Unix socket and network-only entries", () => {
    expectClean(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-ip
spec:
  address: 10.0.0.7
  ports: {http: 8080, grpc-api: 9090}
  labels: {app: reviews, version: v1, app.kubernetes.io/part-of: bookinfo}
  serviceAccount: reviews
  network: vm-net
  locality: us-east1/us-east1-b
  weight: 10
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-dns
spec:
  address: vm-7.example.com
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-uds
spec:
  address: unix://@abstract-socket
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-v6
spec:
  address: "2001:db8::7"
`);
  });
});

describe("WorkloadEntry invalid cases", () => {
  invalidCases([
    {
      name: "neither address nor network",
      yaml: we("  labels:\n    app: a\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.address",
      line: 6,
      column: 3,
    },
    {
      name: "address that is neither IP nor host name",
      yaml: we("  address: bad_host\n"),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.address",
      line: 6,
      column: 12,
    },
    {
      name: "relative Unix socket path",
      yaml: we("  address: unix://relative.sock\n"),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.address",
      line: 6,
      column: 12,
    },
    {
      name: "Unix socket path that is a directory",
      yaml: we("  address: unix:///var/run/\n"),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.address",
      line: 6,
      column: 12,
    },
    {
      name: "Unix socket with ports",
      yaml: we("  address: unix://@foo\n  ports:\n    http: 80\n"),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.ports",
      line: 8,
      column: 5,
    },
    {
      name: "port number out of range",
      yaml: we("  address: 1.1.1.1\n  ports:\n    http: 99999\n"),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.ports.http",
      line: 8,
      column: 11,
    },
    {
      name: "invalid port name",
      yaml: we('  address: 1.1.1.1\n  ports:\n    "@": 80\n'),
      code: "CREMA_VALIDATION_NAME",
      path: 'spec.ports["@"]',
      line: 8,
      column: 10,
    },
    {
      name: "invalid label key",
      yaml: we('  address: 1.1.1.1\n  labels:\n    "-bad": x\n'),
      code: "CREMA_VALIDATION_LABELS",
      path: 'spec.labels["-bad"]',
      line: 8,
      column: 13,
    },
    {
      name: "negative weight",
      yaml: we("  address: 1.1.1.1\n  weight: -1\n"),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.weight",
      line: 7,
      column: 11,
    },
    {
      name: "network without an address (warning)",
      yaml: we("  network: remote-net\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.address",
      line: 6,
      column: 3,
      severity: "warning",
    },
  ]);
});
