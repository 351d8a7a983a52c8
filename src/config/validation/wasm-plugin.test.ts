// WasmPlugin semantics: module URLs, checksums, names, VM env, match ports and scope.
import { describe, expect, it } from "vitest";
import { expectClean, invalidCases, validateYaml } from "../testing.ts";
import { wasmUrlProblem } from "./wasm-plugin.ts";

/** A WasmPlugin whose spec body (indented two spaces) starts on line 6. */
const wasm = (body: string, name = "plugin") => `apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: ${name}
spec:
${body.replace(/^\n/, "")}`;

describe("WasmPlugin semantics", () => {
  it("accepts OCI, HTTP and file modules with config, env, match and scope", () => {
    expectClean(
      [
        wasm(
          `
  selector:
    matchLabels:
      istio: ingressgateway
  url: oci://ghcr.io/istio-ecosystem/wasm-extensions/basic_auth:1.12.0
  sha256: 2ab5a6d6c6cb36c0b6f0dc9e2e3b0f3d5a8f6a3b1c2d3e4f5a6b7c8d9e0f1a2b
  imagePullPolicy: IfNotPresent
  imagePullSecret: private-registry
  phase: AUTHN
  priority: 10
  failStrategy: FAIL_OPEN
  pluginName: basic-auth
  vmConfig:
    env:
    - name: POD_NAME
      valueFrom: HOST
    - name: TRUST_DOMAIN
      value: cluster.local
  match:
  - mode: SERVER
    ports:
    - number: 8080
    - number: 65535`,
        ),
        wasm(
          `
  url: https://storage.example.com/plugins/filter.wasm
  type: NETWORK
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: waypoint`,
          "http",
        ),
        wasm("  url: file:///opt/filters/stats.wasm\n  priority: -5", "file"),
        wasm("  url: ghcr.io/example/plugin:v1", "bare"),
        wasm("  url: /var/local/plugin.wasm", "path"),
      ].join("\n---\n"),
    );
  });

  it("leaves pluginConfig free-form", () => {
    // Only semantic findings count here: pluginConfig is opaque to Istio.
    const { diagnostics } = validateYaml(
      wasm(`
  url: oci://ghcr.io/a/b:1
  pluginConfig:
    basic_auth_rules:
    - prefix: /productpage
      request_methods: [GET, POST]
      credentials: ["ok:test"]`),
    );
    expect(diagnostics.filter((d) => !d.code.startsWith("CREMA_SCHEMA_"))).toEqual([]);
  });

  it("reads plugin URLs the way Istio does", () => {
    expect(wasmUrlProblem("oci://localhost:5000/plugin:v1")).toBeUndefined();
    expect(wasmUrlProblem("registry.example.com/plugin@sha256:abc")).toBeUndefined();
    expect(wasmUrlProblem("localhost:5000/plugin:v1")).toMatch(/scheme "localhost"/);
    expect(wasmUrlProblem("s3://bucket/plugin.wasm")).toMatch(/scheme "s3"/);
    expect(wasmUrlProblem("#%blah$#@")).toBeDefined();
    expect(wasmUrlProblem("http://example.com:abc/p.wasm")).toMatch(/port/);
  });

  invalidCases([
    {
      name: "empty url",
      yaml: wasm('  url: ""'),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.url",
      line: 6,
      column: 8,
    },
    {
      name: "unsupported url scheme",
      yaml: wasm("  url: fake://example.com/plugin.wasm"),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.url",
      line: 6,
      column: 8,
    },
    {
      name: "sha256 that is not 64 hex characters",
      yaml: wasm("  url: oci://ghcr.io/a/b:1\n  sha256: ABCDEF"),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.sha256",
      line: 7,
      column: 11,
    },
    {
      name: "empty imagePullSecret",
      yaml: wasm('  url: oci://ghcr.io/a/b:1\n  imagePullSecret: ""'),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.imagePullSecret",
      line: 7,
      column: 20,
    },
    {
      name: "HOST env var with a value",
      yaml: wasm(`
  url: oci://ghcr.io/a/b:1
  vmConfig:
    env:
    - name: POD_NAME
      valueFrom: HOST
      value: my-pod`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.vmConfig.env[0].value",
      line: 11,
      column: 14,
    },
    {
      name: "duplicate env var",
      yaml: wasm(`
  url: oci://ghcr.io/a/b:1
  vmConfig:
    env:
    - name: A
      value: "1"
    - name: A
      value: "2"`),
      code: "CREMA_VALIDATION_DUPLICATE",
      path: "spec.vmConfig.env[1].name",
      line: 11,
      column: 13,
    },
    {
      name: "empty env var name",
      yaml: wasm(`
  url: oci://ghcr.io/a/b:1
  vmConfig:
    env:
    - name: ""`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.vmConfig.env[0].name",
      line: 9,
      column: 13,
    },
    {
      name: "match port 0",
      yaml: wasm(`
  url: oci://ghcr.io/a/b:1
  match:
  - ports:
    - number: 0`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.match[0].ports[0].number",
      line: 9,
      column: 15,
    },
    {
      name: "fractional priority",
      yaml: wasm("  url: oci://ghcr.io/a/b:1\n  priority: 1.5"),
      code: "CREMA_VALIDATION_RANGE",
      path: "spec.priority",
      line: 7,
      column: 13,
    },
    {
      name: "selector together with targetRefs",
      yaml: wasm(`
  url: oci://ghcr.io/a/b:1
  selector:
    matchLabels: {app: a}
  targetRefs:
  - kind: Service
    name: a`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.targetRefs",
      line: 10,
      column: 3,
    },
  ]);
});
