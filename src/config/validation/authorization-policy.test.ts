// AuthorizationPolicy semantics: action/provider combinations, rule shape, scope, clean policies.
import { describe, expect, it } from "vitest";
import { expectClean, invalidCases, validateYaml } from "../testing.ts";

/** An AuthorizationPolicy whose spec body (indented two spaces) starts on line 6. */
const ap = (body: string, annotations = "", name = "p") => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ${name}${annotations}
spec:
${body.replace(/^\n/, "")}`;

describe("AuthorizationPolicy semantics", () => {
  it("accepts an empty spec (allow nothing) and a rule that matches everything", () => {
    expectClean(ap("  {}").replace("spec:\n  {}", "spec: {}"));
    expectClean(ap("  rules: [{}]"));
  });

  it("accepts ALLOW, DENY, AUDIT and CUSTOM policies with from, to and when", () => {
    expectClean(
      ap(`
  selector:
    matchLabels: {app: httpbin, version: v1}
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/sleep", "*/sa/admin"]
        requestPrincipals: ["https://accounts.example.com/*"]
    - source:
        namespaces: ["prod-*", "*"]
        notNamespaces: [kube-system]
    - source:
        ipBlocks: ["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"]
        notRemoteIpBlocks: ["203.0.113.0/24"]
    - source:
        serviceAccounts: ["default/sleep", "bookinfo"]
    to:
    - operation:
        hosts: ["*.example.com", "api.example.com:8080"]
        notHosts: ["admin.example.com"]
        methods: ["GET", "POST"]
        paths: ["/api/*", "*/info", "/v1/{*}/books/{**}", "/exact"]
        notPaths: ["/admin/{**}"]
        ports: ["8080", "0"]
    when:
    - key: request.headers[x-user]
      values: ["alice"]
    - key: request.auth.claims[groups]
      notValues: ["guest"]
    - key: source.ip
      values: ["10.1.0.0/16"]
    - key: destination.port
      values: ["443", "80"]
    - key: source.serviceAccount
      values: ["ns/sa"]
    - key: connection.sni
      values: ["www.example.com"]
    - key: experimental.envoy.filters.network.mysql_proxy[db.table]
      values: ["[update]"]
`),
    );
    expectClean(`${ap(
      `
  action: DENY
  rules:
  - from:
    - source:
        notNamespaces: ["prod"]
  - to:
    - operation:
        methods: ["DELETE"]
        ports: ["8080"]`,
      '\n  annotations:\n    istio.io/dry-run: "true"',
    )}
---
${ap(
  `
  action: AUDIT
  rules:
  - to:
    - operation:
        paths: ["/data/*"]`,
  "",
  "audit",
)}
---
${ap(
  `
  action: CUSTOM
  provider:
    name: ext-authz
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: waypoint
  rules:
  - to:
    - operation:
        paths: ["/admin/*"]
    from:
    - source:
        ipBlocks: ["1.2.3.4"]
    when:
    - key: request.headers[x-ext]
      values: ["yes"]`,
  "",
  "custom",
)}`);
  });

  it("warns when a DENY rule uses only HTTP attributes", () => {
    const { diagnostics } = validateYaml(
      ap(`
  action: DENY
  rules:
  - to:
    - operation:
        methods: ["DELETE"]`),
    );
    expect(diagnostics.map((d) => [d.severity, d.code, d.path])).toEqual([
      ["warning", "CREMA_VALIDATION_POLICY", "spec.rules[0]"],
    ]);
  });

  invalidCases([
    {
      name: "CUSTOM without provider",
      yaml: ap(`
  action: CUSTOM
  rules: [{}]`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.provider.name",
      line: 6,
      column: 3,
    },
    {
      name: "CUSTOM with empty provider name",
      yaml: ap(`
  action: CUSTOM
  provider:
    name: ""
  rules: [{}]`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.provider.name",
      line: 8,
      column: 11,
    },
    {
      name: "CUSTOM without rules",
      yaml: ap(`
  action: CUSTOM
  provider: {name: ext-authz}`),
      code: "CREMA_VALIDATION_POLICY",
      path: "spec.action",
      line: 6,
      column: 11,
    },
    {
      name: "DENY with an empty rules list",
      yaml: ap(`
  action: DENY
  rules: []`),
      code: "CREMA_VALIDATION_POLICY",
      path: "spec.action",
      line: 6,
      column: 11,
    },
    {
      name: "provider with an ALLOW action",
      yaml: ap(`
  provider:
    name: ext-authz
  rules: [{}]`),
      code: "CREMA_VALIDATION_POLICY",
      path: "spec.provider",
      line: 7,
      column: 5,
    },
    {
      name: "CUSTOM rule matching principals",
      yaml: ap(`
  action: CUSTOM
  provider: {name: ext-authz}
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/a/sa/b"]`),
      code: "CREMA_VALIDATION_POLICY",
      path: "spec.rules[0].from[0].source.principals",
      line: 11,
      column: 21,
    },
    {
      name: "CUSTOM condition on request.auth",
      yaml: ap(`
  action: CUSTOM
  provider: {name: ext-authz}
  rules:
  - when:
    - key: request.auth.principal
      values: ["x"]`),
      code: "CREMA_VALIDATION_POLICY",
      path: "spec.rules[0].when[0].key",
      line: 10,
      column: 12,
    },
    {
      name: "null rule",
      yaml: ap(`
  rules:
  - ~`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0]",
      line: 7,
      column: 5,
    },
    {
      name: "empty from list",
      yaml: ap(`
  rules:
  - from: []`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0].from",
      line: 7,
      column: 11,
    },
    {
      name: "empty to list",
      yaml: ap(`
  rules:
  - to: []`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0].to",
      line: 7,
      column: 9,
    },
    {
      name: "from entry without source",
      yaml: ap(`
  rules:
  - from:
    - {}`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0].from[0].source",
      line: 8,
      column: 7,
    },
    {
      name: "empty source",
      yaml: ap(`
  rules:
  - from:
    - source: {}`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0].from[0].source",
      line: 8,
      column: 15,
    },
    {
      name: "empty operation",
      yaml: ap(`
  rules:
  - to:
    - operation:
        methods: []`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.rules[0].to[0].operation",
      line: 9,
      column: 9,
    },
    {
      name: "selector together with targetRefs",
      yaml: ap(`
  selector:
    matchLabels: {app: a}
  targetRefs:
  - kind: Gateway
    group: gateway.networking.k8s.io
    name: gw
  rules: [{}]`),
      code: "CREMA_VALIDATION_EXCLUSIVE",
      path: "spec.targetRefs",
      line: 9,
      column: 3,
    },
    {
      name: "targetRef to an unsupported kind",
      yaml: ap(`
  targetRefs:
  - kind: Deployment
    group: apps
    name: web
  rules: [{}]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.targetRefs[0].kind",
      line: 7,
      column: 11,
    },
    {
      name: "targetRef in another namespace",
      yaml: ap(`
  targetRef:
    kind: Service
    name: web
    namespace: other
  rules: [{}]`),
      code: "CREMA_VALIDATION_INVALID",
      path: "spec.targetRef.namespace",
      line: 9,
      column: 16,
    },
    {
      name: "wildcard in selector label value",
      yaml: ap(`
  selector:
    matchLabels:
      app: "web-*"`),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.selector.matchLabels.app",
      line: 8,
      column: 12,
    },
    {
      name: "selector without labels",
      yaml: ap(`
  selector: {}
  rules: [{}]`),
      code: "CREMA_VALIDATION_LABELS",
      path: "spec.selector.matchLabels",
      line: 6,
      column: 13,
      severity: "warning",
    },
    {
      name: "dry-run on a CUSTOM policy",
      yaml: ap(
        `
  action: CUSTOM
  provider: {name: ext-authz}
  rules: [{}]`,
        '\n  annotations:\n    istio.io/dry-run: "true"',
      ),
      code: "CREMA_VALIDATION_POLICY",
      path: 'metadata.annotations["istio.io/dry-run"]',
      line: 6,
      column: 23,
    },
    {
      name: "DENY rule with only HTTP attributes",
      yaml: ap(`
  action: DENY
  rules:
  - from:
    - source:
        requestPrincipals: ["*"]`),
      code: "CREMA_VALIDATION_POLICY",
      path: "spec.rules[0]",
      line: 8,
      column: 5,
      severity: "warning",
    },
  ]);
});
