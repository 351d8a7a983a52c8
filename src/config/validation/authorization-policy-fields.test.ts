// AuthorizationPolicy rule fields: sources, operations, path templates and `when` conditions.
import { describe, expect, it } from "vitest";
import { invalidCases } from "../testing.ts";
import { pathTemplateProblem } from "./authorization-policy-fields.ts";

/** An AuthorizationPolicy whose spec body (indented two spaces) starts on line 6. */
const ap = (body: string, annotations = "", name = "p") => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}${annotations}
spec:
${body.replace(/^\n/, "")}`;

describe("AuthorizationPolicy rule fields", () => {
  it("checks Istio's path templates", () => {
    expect(pathTemplateProblem("/foo/{*}/bar/{**}")).toBeUndefined();
    expect(pathTemplateProblem("/foo/{**}/bar")).toBeUndefined();
    expect(pathTemplateProblem("/foo/{**}/{*}")).toMatch(/last/);
    expect(pathTemplateProblem("/foo/{id}")).toMatch(/not a whole/);
    expect(pathTemplateProblem("/foo/*/{*}")).toMatch(/literal/);
    expect(pathTemplateProblem("/foo//{*}")).toMatch(/literal/);
  });

  invalidCases([
    {
      name: "empty principal",
      yaml: ap(`
  rules:
  - from:
    - source:
        principals: ["a", ""]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.rules[0].from[0].source.principals[1]",
      line: 9,
      column: 27,
    },
    {
      name: "bad ipBlock",
      yaml: ap(`
  rules:
  - from:
    - source:
        ipBlocks:
        - 10.0.0.0/8
        - 10.0.0.0/33`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.rules[0].from[0].source.ipBlocks[1]",
      line: 11,
      column: 11,
    },
    {
      name: "bad remoteIpBlock",
      yaml: ap(`
  rules:
  - from:
    - source:
        remoteIpBlocks: ["300.1.1.1"]`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.rules[0].from[0].source.remoteIpBlocks[0]",
      line: 9,
      column: 26,
    },
    {
      name: "serviceAccounts with namespaces",
      yaml: ap(`
  rules:
  - from:
    - source:
        serviceAccounts: ["bar/sa"]
        namespaces: ["bar"]`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.rules[0].from[0].source.serviceAccounts",
      line: 9,
      column: 26,
    },
    {
      name: "service account with too many slashes",
      yaml: ap(`
  rules:
  - from:
    - source:
        serviceAccounts: ["a/b/c"]`),
      code: "CREMA_VALIDATION_NAME",
      path: "spec.rules[0].from[0].source.serviceAccounts[0]",
      line: 9,
      column: 27,
    },
    {
      name: "non-numeric port",
      yaml: ap(`
  rules:
  - to:
    - operation:
        ports: ["http"]`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.rules[0].to[0].operation.ports[0]",
      line: 9,
      column: 17,
    },
    {
      name: "port above 65535",
      yaml: ap(`
  rules:
  - to:
    - operation:
        notPorts: ["65536"]`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.rules[0].to[0].operation.notPorts[0]",
      line: 9,
      column: 20,
    },
    {
      name: "path with a non-template brace",
      yaml: ap(`
  rules:
  - to:
    - operation:
        paths: ["/books/{id}"]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.rules[0].to[0].operation.paths[0]",
      line: 9,
      column: 17,
    },
    {
      name: "{**} followed by another template",
      yaml: ap(`
  rules:
  - to:
    - operation:
        notPaths: ["/a/{**}/{*}"]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.rules[0].to[0].operation.notPaths[0]",
      line: 9,
      column: 20,
    },
    {
      name: "empty condition key",
      yaml: ap(`
  rules:
  - when:
    - key: ""
      values: ["x"]`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0].when[0].key",
      line: 8,
      column: 12,
    },
    {
      name: "condition without values",
      yaml: ap(`
  rules:
  - when:
    - key: source.ip`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0].when[0].values",
      line: 8,
      column: 7,
    },
    {
      name: "unknown condition key",
      yaml: ap(`
  rules:
  - when:
    - key: source.ips
      values: ["10.0.0.1"]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.rules[0].when[0].key",
      line: 8,
      column: 12,
    },
    {
      name: "condition key without a bracketed name",
      yaml: ap(`
  rules:
  - when:
    - key: request.headers
      values: ["x"]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.rules[0].when[0].key",
      line: 8,
      column: 12,
    },
    {
      name: "destination.labels condition",
      yaml: ap(`
  rules:
  - when:
    - key: destination.labels[app]
      values: ["x"]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.rules[0].when[0].key",
      line: 8,
      column: 12,
    },
    {
      name: "bad IP in a source.ip condition",
      yaml: ap(`
  rules:
  - when:
    - key: source.ip
      notValues: ["10.0.0.1", "not-an-ip"]`),
      code: "CREMA_VALIDATION_ADDRESS",
      path: "spec.rules[0].when[0].notValues[1]",
      line: 9,
      column: 31,
    },
    {
      name: "bad port in a destination.port condition",
      yaml: ap(`
  rules:
  - when:
    - key: destination.port
      values: ["-1"]`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.rules[0].when[0].values[0]",
      line: 9,
      column: 16,
    },
  ]);
});
