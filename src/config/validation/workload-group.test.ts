// WorkloadGroup semantic validation: clean groups with each probe kind, and a table of invalid cases.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** A WorkloadGroup whose spec body starts on line 6. */
const wg = (body: string) => `apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: reviews
spec:
${body}`;

/** A WorkloadGroup with a template; the probe block starts on line 9. */
const probe = (body: string) =>
  wg(`  template:
    serviceAccount: reviews
  probe:
${body}`);

describe("WorkloadGroup semantics", () => {
  it("accepts metadata, a template and each kind of probe", () => {
    expectClean(`apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: reviews
spec:
  metadata:
    labels:
      app.kubernetes.io/name: reviews
      app.kubernetes.io/version: "1.3.4"
    annotations:
      owner: team-a
  template:
    ports: {grpc: 3550, http: 8080}
    serviceAccount: default
    network: vm-net
  probe:
    initialDelaySeconds: 5
    timeoutSeconds: 3
    periodSeconds: 4
    successThreshold: 3
    failureThreshold: 3
    httpGet:
      path: /foo/bar
      host: 127.0.0.1
      port: 3100
      scheme: HTTPS
      httpHeaders:
      - name: Lit-Header
        value: Im-The-Best
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: tcp-probe
spec:
  template: {}
  probe:
    tcpSocket: {port: 5432}
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: exec-probe
spec:
  template: {}
  probe:
    exec:
      command: [/bin/check, --ready]
---
apiVersion: networking.istio.io/v1
kind: WorkloadGroup
metadata:
  name: grpc-probe
spec:
  template: {}
  probe:
    grpc: {port: 9090, service: health}
`);
  });
});

describe("WorkloadGroup invalid cases", () => {
  invalidCases([
    {
      name: "probe without a check",
      yaml: probe("    periodSeconds: 5\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.probe",
      line: 9,
      column: 5,
    },
    {
      name: "probe with two checks",
      yaml: probe("    httpGet:\n      port: 80\n    tcpSocket:\n      port: 80\n"),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.probe.tcpSocket",
      line: 12,
      column: 7,
    },
    {
      name: "tcpSocket port out of range",
      yaml: probe("    tcpSocket:\n      port: 65536\n"),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.probe.tcpSocket.port",
      line: 10,
      column: 13,
    },
    {
      name: "httpGet port zero",
      yaml: probe("    httpGet:\n      port: 0\n"),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.probe.httpGet.port",
      line: 10,
      column: 13,
    },
    {
      name: "unsupported httpGet scheme",
      yaml: probe("    httpGet:\n      port: 80\n      scheme: https\n"),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.probe.httpGet.scheme",
      line: 11,
      column: 15,
    },
    {
      name: "invalid probe header name",
      yaml: probe('    httpGet:\n      port: 80\n      httpHeaders:\n      - name: "**"\n'),
      code: "CREMA_VALIDATION_HEADER",
      path: "spec.probe.httpGet.httpHeaders[0].name",
      line: 12,
      column: 15,
    },
    {
      name: "negative periodSeconds",
      yaml: probe("    periodSeconds: -4\n    tcpSocket:\n      port: 80\n"),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.probe.periodSeconds",
      line: 9,
      column: 20,
    },
    {
      name: "empty exec command",
      yaml: probe("    exec:\n      command: []\n"),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.probe.exec.command",
      line: 10,
      column: 16,
    },
    {
      name: "invalid metadata label",
      yaml: wg('  metadata:\n    labels:\n      app: "bad value"\n  template: {}\n'),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.metadata.labels.app",
      line: 8,
      column: 12,
    },
    {
      name: "relative Unix socket in the template",
      yaml: wg("  template:\n    address: unix://relative\n"),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.template.address",
      line: 7,
      column: 14,
    },
    {
      name: "template address (warning)",
      yaml: wg("  template:\n    address: 10.0.0.1\n"),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.template.address",
      line: 7,
      column: 14,
      severity: "warning",
    },
  ]);
});
