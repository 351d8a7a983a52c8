import { describe, expect, it } from "vitest";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";
import { workloadSelectors } from "./workload-selectors.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [workloadSelectors] });

const BROKEN = `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: ratings-viewer
  namespace: shop
spec:
  selector:
    matchLabels:
      app: ratings
  rules:
    - {}
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ratings
  namespace: shop
spec:
  selector:
    matchLabels:
      app: ratngs
  mtls:
    mode: STRICT
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: jwt
  namespace: shop
spec:
  selector:
    matchLabels:
      app: frontend
  jwtRules:
    - issuer: https://issuer.example
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: tracing
  namespace: shop
spec:
  selector:
    matchLabels:
      version: v9
  tracing:
    - randomSamplingPercentage: 10
---
apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata:
  name: plugin
  namespace: shop
spec:
  selector:
    matchLabels:
      app: edge
  url: oci://example/plugin:1
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata:
  name: filter
  namespace: istio-system
spec:
  workloadSelector:
    labels:
      app: nowhere
  configPatches: []
`;

describe("policy.workload-selectors", () => {
  it("warns about policy selectors matching no workload (IST0127)", () => {
    const yaml = HEALTHY_MESH + BROKEN;
    const at = (resource: string, path: string, line: number) => ({
      code: "IST0127",
      severity: "warning",
      resource,
      path,
      line,
    });
    expect(run(yaml)).toEqual([
      at(
        "AuthorizationPolicy shop/ratings-viewer",
        "spec.selector.matchLabels",
        lineOf(yaml, "app: ratings"),
      ),
      at(
        "PeerAuthentication shop/ratings",
        "spec.selector.matchLabels",
        lineOf(yaml, "app: ratngs"),
      ),
      at(
        "RequestAuthentication shop/jwt",
        "spec.selector.matchLabels",
        lineOf(yaml, "app: frontend"),
      ),
      at("Telemetry shop/tracing", "spec.selector.matchLabels", lineOf(yaml, "version: v9")),
      at("WasmPlugin shop/plugin", "spec.selector.matchLabels", lineOf(yaml, "app: edge")),
      at(
        "EnvoyFilter istio-system/filter",
        "spec.workloadSelector.labels",
        lineOf(yaml, "app: nowhere"),
      ),
    ]);
  });

  it("lets root-namespace policies select workloads anywhere, and skips namespaces without workloads", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `${HEALTHY_MESH}---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: reviews-everywhere
  namespace: istio-system
spec:
  selector:
    matchLabels:
      app: reviews
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: not-in-input
  namespace: billing
spec:
  selector:
    matchLabels:
      app: billing
`;
    expect(run(yaml)).toEqual([]);
  });
});
