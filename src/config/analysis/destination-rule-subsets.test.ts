import { describe, expect, it } from "vitest";
import { destinationRuleSubsets } from "./destination-rule-subsets.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [destinationRuleSubsets] });

describe("destinationrule.subsets", () => {
  it("reports subsets whose labels select no pod of the Service (IST0173)", () => {
    const yaml = `${HEALTHY_MESH}---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews-next
  namespace: istio-system
spec:
  host: reviews.shop.svc.cluster.local
  subsets:
    - name: v1
      labels:
        version: v1
    - name: v3
      labels:
        version: v3
`;
    expect(run(yaml)).toEqual([
      {
        code: "IST0173",
        severity: "error",
        resource: "DestinationRule istio-system/reviews-next",
        path: "spec.subsets[1].labels",
        line: lineOf(yaml, "version: v3"),
      },
    ]);
  });

  it("stays quiet where the endpoints are unknown", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml = `${HEALTHY_MESH}---
apiVersion: v1
kind: Service
metadata:
  name: ratings
  namespace: shop
spec:
  selector:
    app: ratings
  ports:
    - name: http
      port: 9080
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ratings
  namespace: shop
spec:
  host: ratings
  subsets:
    - name: v9
      labels:
        version: v9
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: payments
  namespace: shop
spec:
  host: api.payments.example
  subsets:
    - name: eu
      labels:
        region: eu
`;
    expect(run(yaml)).toEqual([]);
  });
});
