import { describe, expect, it } from "vitest";
import { mtlsConflict } from "./mtls-conflict.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string, rootNamespace?: string) =>
  findings(yaml, { analyzers: [mtlsConflict], ...(rootNamespace ? { rootNamespace } : {}) });

describe("destinationrule.mtls", () => {
  it("reports DISABLE towards STRICT and ISTIO_MUTUAL towards DISABLE (IST0113)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: productpage
  namespace: shop
spec:
  host: productpage
  trafficPolicy:
    tls:
      mode: DISABLE
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: reviews-plaintext
  namespace: shop
spec:
  selector:
    matchLabels:
      app: reviews
  mtls:
    mode: DISABLE
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0113",
        severity: "error",
        resource: "DestinationRule shop/reviews",
        path: "spec.trafficPolicy.tls.mode",
        line: lineOf(yaml, "mode: ISTIO_MUTUAL"),
      },
      {
        code: "IST0113",
        severity: "error",
        resource: "DestinationRule shop/productpage",
        path: "spec.trafficPolicy.tls.mode",
        line: lineOf(yaml, "mode: DISABLE"),
      },
    ]);
  });

  it("resolves port-level PeerAuthentication and DestinationRule settings by port", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: productpage
  namespace: shop
spec:
  selector:
    matchLabels:
      app: productpage
  mtls:
    mode: STRICT
  portLevelMtls:
    9080:
      mode: PERMISSIVE
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: productpage
  namespace: shop
spec:
  host: productpage
  trafficPolicy:
    portLevelSettings:
      - port:
          number: 9080
        tls:
          mode: DISABLE
      - port:
          number: 9443
        tls:
          mode: SIMPLE
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0113",
        severity: "error",
        resource: "DestinationRule shop/productpage",
        path: "spec.trafficPolicy.portLevelSettings[1].tls.mode",
        line: lineOf(yaml, "mode: SIMPLE", 2),
      },
    ]);
  });

  it("applies the root namespace's policy, and a subset's own tls", () => {
    const yaml = `${HEALTHY_MESH.replace("mode: STRICT", "mode: UNSET")}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: mesh-wide
  namespace: mesh-root
spec:
  mtls:
    mode: STRICT
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews-subsets
  namespace: shop
spec:
  host: reviews
  subsets:
    - name: v2
      labels:
        version: v2
      trafficPolicy:
        tls:
          mode: DISABLE
`;
    expect(run(yaml, "mesh-root")).toEqual([
      {
        code: "IST0113",
        severity: "error",
        resource: "DestinationRule shop/reviews-subsets",
        path: "spec.subsets[0].trafficPolicy.tls.mode",
        line: lineOf(yaml, "mode: DISABLE"),
      },
    ]);
    expect(run(yaml)).toEqual([]);
  });

  it("stays quiet when the modes agree", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
  });
});
