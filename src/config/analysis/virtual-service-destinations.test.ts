import { describe, expect, it } from "vitest";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";
import { virtualServiceDestinations } from "./virtual-service-destinations.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [virtualServiceDestinations] });

describe("virtualservice.destinations", () => {
  it("reports unknown hosts and undefined subsets (IST0101)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: broken-routes
  namespace: shop
spec:
  hosts:
    - ratings
  http:
    - route:
        - destination:
            host: ratings
        - destination:
            host: reviews
            subset: v3
      mirror:
        host: shadow
  tcp:
    - route:
        - destination:
            host: db.data.svc.cluster.local
`;
    const vs = "VirtualService shop/broken-routes";
    expect(run(yaml)).toEqual([
      {
        code: "IST0101",
        severity: "error",
        resource: vs,
        path: "spec.http[0].route[0].destination.host",
        line: lineOf(yaml, "host: ratings"),
      },
      {
        code: "IST0101",
        severity: "error",
        resource: vs,
        path: "spec.http[0].route[1].destination.subset",
        line: lineOf(yaml, "subset: v3"),
      },
      {
        code: "IST0101",
        severity: "error",
        resource: vs,
        path: "spec.http[0].mirror.host",
        line: lineOf(yaml, "host: shadow"),
      },
      {
        code: "IST0101",
        severity: "error",
        resource: vs,
        path: "spec.tcp[0].route[0].destination.host",
        line: lineOf(yaml, "host: db.data.svc.cluster.local"),
      },
    ]);
  });

  it("reports unknown ports (IST0101) and missing ports on multi-port services (IST0112)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ports
  namespace: shop
spec:
  hosts:
    - productpage
  http:
    - route:
        - destination:
            host: productpage
          weight: 50
        - destination:
            host: productpage
            port:
              number: 9999
          weight: 50
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0112",
        severity: "error",
        resource: "VirtualService shop/ports",
        path: "spec.http[0].route[0].destination.host",
        line: lineOf(yaml, "host: productpage"),
      },
      {
        code: "IST0101",
        severity: "error",
        resource: "VirtualService shop/ports",
        path: "spec.http[0].route[1].destination.port.number",
        line: lineOf(yaml, "number: 9999"),
      },
    ]);
  });

  it("does not see Services hidden by exportTo", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: v1
kind: Service
metadata:
  name: private
  namespace: vault
  annotations:
    networking.istio.io/exportTo: "."
spec:
  selector:
    app: private
  ports:
    - name: http
      port: 80
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: to-private
  namespace: shop
spec:
  hosts:
    - private.vault.svc.cluster.local
  http:
    - route:
        - destination:
            host: private.vault.svc.cluster.local
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0101",
        severity: "error",
        resource: "VirtualService shop/to-private",
        path: "spec.http[0].route[0].destination.host",
        line: lineOf(yaml, "host: private.vault.svc.cluster.local"),
      },
    ]);
  });

  it("stays quiet on short, namespace-qualified, FQDN, external and wildcard hosts", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: wiki
  namespace: shop
spec:
  hosts:
    - "*.wiki.example"
  location: MESH_EXTERNAL
  resolution: NONE
  ports:
    - number: 443
      name: tls
      protocol: TLS
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: wiki
  namespace: shop
spec:
  host: "*.wiki.example"
  subsets:
    - name: eu
      labels:
        region: eu
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: wiki
  namespace: shop
spec:
  hosts:
    - en.wiki.example
  tls:
    - match:
        - sniHosts:
            - en.wiki.example
      route:
        - destination:
            host: en.wiki.example
            subset: eu
`;
    expect(run(yaml)).toEqual([]);
  });
});
