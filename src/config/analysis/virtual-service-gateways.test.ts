import { describe, expect, it } from "vitest";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";
import { virtualServiceGateways } from "./virtual-service-gateways.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [virtualServiceGateways] });

describe("virtualservice.gateways", () => {
  it("reports missing gateways (IST0101) and gateways accepting none of the hosts (IST0132)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: broken-gw
  namespace: shop
spec:
  hosts:
    - other.test
  gateways:
    - missing-gateway
    - istio-system/shop-gateway
    - shop-gateway
  http:
    - route:
        - destination:
            host: reviews
`;
    const vs = "VirtualService shop/broken-gw";
    expect(run(yaml)).toEqual([
      {
        code: "IST0101",
        severity: "error",
        resource: vs,
        path: "spec.gateways[0]",
        line: lineOf(yaml, "- missing-gateway"),
      },
      {
        code: "IST0101",
        severity: "error",
        resource: vs,
        path: "spec.gateways[1]",
        line: lineOf(yaml, "- istio-system/shop-gateway"),
      },
      {
        code: "IST0132",
        severity: "warning",
        resource: vs,
        path: "spec.gateways[2]",
        line: lineOf(yaml, "- shop-gateway", 2),
      },
    ]);
  });

  it("reports a host that none of the bound gateways accepts (IST0132 on the host)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: extra-host
  namespace: shop
spec:
  hosts:
    - shop.example.com
    - shop.example.org
  gateways:
    - shop/shop-gateway
  http:
    - route:
        - destination:
            host: productpage
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0132",
        severity: "warning",
        resource: "VirtualService shop/extra-host",
        path: "spec.hosts[1]",
        line: lineOf(yaml, "- shop.example.org"),
      },
    ]);
  });

  it("respects namespace-qualified server hosts", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: scoped
  namespace: shop
spec:
  selector:
    istio: ingressgateway
  servers:
    - port:
        number: 8080
        name: http-alt
        protocol: HTTP
      hosts:
        - prod/scoped.test
        - ./local.test
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: wrong-namespace
  namespace: shop
spec:
  hosts:
    - scoped.test
  gateways:
    - scoped
  http:
    - route:
        - destination:
            host: productpage
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: right-namespace
  namespace: prod
spec:
  hosts:
    - scoped.test
  gateways:
    - shop/scoped
  http:
    - route:
        - destination:
            host: productpage.shop.svc.cluster.local
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: local
  namespace: shop
spec:
  hosts:
    - local.test
  gateways:
    - scoped
  http:
    - route:
        - destination:
            host: productpage
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0132",
        severity: "warning",
        resource: "VirtualService shop/wrong-namespace",
        path: "spec.gateways[0]",
        line: lineOf(yaml, "- scoped"),
      },
    ]);
  });

  it("stays quiet on a coherent mesh, mesh-bound hosts and wildcard servers", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: both
  namespace: shop
spec:
  hosts:
    - reviews
    - api.example.com
  gateways:
    - mesh
    - shop-gateway
  http:
    - route:
        - destination:
            host: reviews
`;
    expect(run(yaml)).toEqual([]);
  });
});
