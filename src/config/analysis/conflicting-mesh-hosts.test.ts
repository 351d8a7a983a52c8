import { describe, expect, it } from "vitest";
import { conflictingMeshHosts } from "./conflicting-mesh-hosts.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [conflictingMeshHosts] });

describe("virtualservice.conflicting-mesh-hosts", () => {
  it("reports every mesh-bound VirtualService defining the same host (IST0109)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews-canary
  namespace: shop
spec:
  hosts:
    - reviews.shop.svc.cluster.local
  gateways:
    - mesh
  http:
    - route:
        - destination:
            host: reviews
            subset: v2
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0109",
        severity: "error",
        resource: "VirtualService shop/reviews",
        path: "spec.hosts[0]",
        line: lineOf(yaml, "- reviews"),
      },
      {
        code: "IST0109",
        severity: "error",
        resource: "VirtualService shop/reviews-canary",
        path: "spec.hosts[0]",
        line: lineOf(yaml, "- reviews.shop.svc.cluster.local"),
      },
    ]);
  });

  it("stays quiet on gateway-only bindings and disjoint exportTo scopes", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews-edge
  namespace: shop
spec:
  hosts:
    - reviews
  gateways:
    - shop-gateway
  http:
    - route:
        - destination:
            host: reviews
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: local-a
  namespace: team-a
spec:
  hosts:
    - ratings.shop.svc.cluster.local
  exportTo:
    - "."
  http:
    - route:
        - destination:
            host: ratings.shop.svc.cluster.local
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: local-b
  namespace: team-b
spec:
  hosts:
    - ratings.shop.svc.cluster.local
  exportTo:
    - "."
  http:
    - route:
        - destination:
            host: ratings.shop.svc.cluster.local
`;
    expect(run(yaml)).toEqual([]);
  });
});
