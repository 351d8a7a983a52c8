import { describe, expect, it } from "vitest";
import { conflictingGateways } from "./conflicting-gateways.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [conflictingGateways] });

const gateway = (name: string, selector: string, port: number, host: string) => `---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: shop
spec:
  selector:
    ${selector}
  servers:
    - port:
        number: ${port}
        name: http-${name}
        protocol: HTTP
      hosts:
        - "${host}"
`;

describe("gateway.conflicts", () => {
  it("reports gateways on the same workloads and port with overlapping hosts (IST0145)", () => {
    const yaml = HEALTHY_MESH + gateway("catch-all", "istio: ingressgateway", 80, "*");
    expect(run(yaml)).toEqual([
      {
        code: "IST0145",
        severity: "error",
        resource: "Gateway shop/shop-gateway",
        path: "spec.servers[0].port.number",
        line: lineOf(yaml, "number: 80"),
      },
      {
        code: "IST0145",
        severity: "error",
        resource: "Gateway shop/catch-all",
        path: "spec.servers[0].port.number",
        line: lineOf(yaml, "number: 80", 2),
      },
    ]);
  });

  it("compares equal selectors when the input has none of the workloads", () => {
    const yaml =
      gateway("one", "app: edge", 8080, "*.example.com") +
      gateway("two", "app: edge", 8080, "www.example.com");
    expect(run(yaml).map((f) => [f.resource, f.line])).toEqual([
      ["Gateway shop/one", lineOf(yaml, "number: 8080")],
      ["Gateway shop/two", lineOf(yaml, "number: 8080", 2)],
    ]);
  });

  it("stays quiet on other ports, disjoint hosts and other workloads", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml =
      HEALTHY_MESH +
      gateway("other-port", "istio: ingressgateway", 8080, "*") +
      gateway("other-host", "istio: ingressgateway", 80, "shop.example.org") +
      gateway("other-workload", "app: edge", 80, "shop.example.com");
    expect(run(yaml)).toEqual([]);
  });
});
