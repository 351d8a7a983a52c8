// PeerAuthentication semantics: port-level mTLS scope, port keys, selectors, and clean policies.
import { describe, it } from "vitest";
import { expectClean, invalidCases } from "../testing.ts";

/** A PeerAuthentication whose spec body (indented two spaces) starts on line 7. */
const pa = (body: string, name = "pa", namespace = "default") => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${body.replace(/^\n/, "")}`;

describe("PeerAuthentication semantics", () => {
  it("accepts mesh-wide, namespace-wide and workload policies with port-level modes", () => {
    expectClean(
      [
        pa("  mtls:\n    mode: STRICT", "default", "istio-system"),
        pa("  mtls: {mode: PERMISSIVE}", "ns-wide", "prod"),
        pa(
          `
  selector:
    matchLabels:
      app: reviews
  mtls:
    mode: STRICT
  portLevelMtls:
    8080:
      mode: DISABLE
    "9000":
      mode: PERMISSIVE
    65535:
      mode: UNSET`,
          "reviews",
        ),
        pa(
          "  selector:\n    matchLabels: {app: legacy}\n  mtls: {mode: DISABLE}",
          "root-sel",
          "istio-system",
        ),
        pa("  {}", "empty").replace("spec:\n  {}", "spec: {}"),
      ].join("\n---\n"),
    );
  });

  invalidCases([
    {
      name: "mesh-wide policy with portLevelMtls",
      yaml: pa(
        `
  mtls: {mode: STRICT}
  portLevelMtls:
    "80":
      mode: DISABLE`,
        "default",
        "istio-system",
      ),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.portLevelMtls",
      line: 9,
      column: 5,
    },
    {
      name: "namespace policy with an empty selector and portLevelMtls",
      yaml: pa(`
  selector:
    matchLabels: {}
  portLevelMtls:
    "80": {mode: DISABLE}`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.portLevelMtls",
      line: 10,
      column: 5,
    },
    {
      name: "empty portLevelMtls",
      yaml: pa(`
  selector:
    matchLabels: {app: a}
  portLevelMtls: {}`),
      code: "CREMA_VALIDATION_REQUIRED",
      path: "spec.portLevelMtls",
      line: 9,
      column: 18,
    },
    {
      name: "port 0",
      yaml: pa(`
  selector:
    matchLabels: {app: a}
  portLevelMtls:
    0:
      mode: STRICT`),
      code: "CREMA_VALIDATION_PORT",
      path: 'spec.portLevelMtls["0"]',
      line: 11,
      column: 7,
    },
    {
      name: "port above 65535",
      yaml: pa(`
  selector:
    matchLabels: {app: a}
  portLevelMtls:
    "70000": {mode: STRICT}`),
      code: "CREMA_VALIDATION_PORT",
      path: 'spec.portLevelMtls["70000"]',
      line: 10,
      column: 14,
    },
    {
      name: "non-numeric port key",
      yaml: pa(`
  selector:
    matchLabels: {app: a}
  portLevelMtls:
    http: {mode: STRICT}`),
      code: "CREMA_VALIDATION_PORT",
      path: "spec.portLevelMtls.http",
      line: 10,
      column: 11,
    },
    {
      name: "wildcard selector key",
      yaml: pa(`
  selector:
    matchLabels:
      "app*": reviews`),
      code: "CREMA_VALIDATION_LABELS",
      path: 'spec.selector.matchLabels["app*"]',
      line: 9,
      column: 15,
    },
    {
      name: "empty selector key",
      yaml: pa(`
  selector:
    matchLabels:
      "": reviews`),
      code: "CREMA_VALIDATION_LABELS",
      path: 'spec.selector.matchLabels[""]',
      line: 9,
      column: 11,
    },
    {
      name: "dry-run annotation outside AuthorizationPolicy",
      yaml: `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: pa
  annotations:
    istio.io/dry-run: "true"
spec:
  mtls: {mode: STRICT}`,
      code: "CREMA_VALIDATION_INVALID",
      path: 'metadata.annotations["istio.io/dry-run"]',
      line: 6,
      column: 23,
    },
  ]);
});
