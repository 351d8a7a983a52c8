import { describe, expect, it } from "vitest";
import { gatewayWorkloads } from "./gateway-workloads.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [gatewayWorkloads] });

describe("gateway.workloads", () => {
  it("reports a selector matching no workload (IST0101) and ports no workload exposes (IST0104)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: typo
  namespace: shop
spec:
  selector:
    istio: ingresgateway
  servers:
    - port:
        number: 80
        name: http
        protocol: HTTP
      hosts:
        - typo.example.com
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: odd-port
  namespace: shop
spec:
  selector:
    istio: ingressgateway
  servers:
    - port:
        number: 8080
        name: http-target
        protocol: HTTP
      hosts:
        - target.example.com
    - port:
        number: 9999
        name: http-odd
        protocol: HTTP
      hosts:
        - odd.example.com
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0101",
        severity: "error",
        resource: "Gateway shop/typo",
        path: "spec.selector",
        line: lineOf(yaml, "istio: ingresgateway"),
      },
      {
        code: "IST0104",
        severity: "warning",
        resource: "Gateway shop/odd-port",
        path: "spec.servers[1].port.number",
        line: lineOf(yaml, "number: 9999"),
      },
    ]);
  });

  it("stays quiet on a coherent mesh and when the input has no workloads at all", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: alone
  namespace: shop
spec:
  selector:
    istio: ingressgateway
  servers:
    - port:
        number: 1234
        name: http
        protocol: HTTP
      hosts:
        - "*"
`;
    expect(run(yaml)).toEqual([]);
  });
});
