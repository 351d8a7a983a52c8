import { describe, expect, it } from "vitest";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";
import { virtualServiceMatches } from "./virtual-service-matches.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [virtualServiceMatches] });

describe("virtualservice.matches", () => {
  it("reports duplicate matches (info) as IST0131 and rules after a catch-all (warning) as IST0130", () => {
    const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: api
  namespace: shop
spec:
  hosts:
    - api
  http:
    - name: first
      match:
        - uri:
            prefix: /v1
      route:
        - destination:
            host: api
    - name: second
      match:
        - name: again
          uri:
            prefix: /v1
        - uri:
            prefix: /v2
      route:
        - destination:
            host: api
    - name: everything
      match:
        - uri:
            prefix: /
      route:
        - destination:
            host: api
    - name: unreachable
      match:
        - uri:
            prefix: /v3
      route:
        - destination:
            host: api
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0131",
        severity: "info",
        resource: "VirtualService shop/api",
        path: "spec.http[1].match[0]",
        line: lineOf(yaml, "- name: again"),
      },
      {
        code: "IST0130",
        severity: "warning",
        resource: "VirtualService shop/api",
        path: "spec.http[3]",
        line: lineOf(yaml, "- name: unreachable"),
      },
    ]);
  });

  it("treats a rule without match as a catch-all", () => {
    const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: default-first
  namespace: shop
spec:
  hosts:
    - api
  http:
    - route:
        - destination:
            host: api
    - match:
        - headers:
            x-canary:
              exact: "true"
      route:
        - destination:
            host: api
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0130",
        severity: "warning",
        resource: "VirtualService shop/default-first",
        path: "spec.http[1]",
        line: lineOf(yaml, "- match:"),
      },
    ]);
  });

  it("stays quiet when earlier matches are narrower", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: narrow
  namespace: shop
spec:
  hosts:
    - api
  http:
    - match:
        - uri:
            prefix: /
          headers:
            x-canary:
              exact: "true"
      route:
        - destination:
            host: api
    - match:
        - uri:
            prefix: /
          ignoreUriCase: false
        - uri:
            prefix: /v1
          port: 8080
      route:
        - destination:
            host: api
`;
    expect(run(yaml)).toEqual([]);
  });
});
