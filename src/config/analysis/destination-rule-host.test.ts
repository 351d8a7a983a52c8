import { describe, expect, it } from "vitest";
import { destinationRuleHost } from "./destination-rule-host.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [destinationRuleHost] });

const rule = (name: string, host: string) => `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${name}
  namespace: shop
spec:
  host: "${host}"
`;

describe("destinationrule.host", () => {
  it("warns about hosts that match no Service or ServiceEntry", () => {
    const yaml = HEALTHY_MESH + rule("ratings", "ratings") + rule("nowhere", "*.nowhere.example");
    expect(run(yaml)).toEqual([
      {
        code: "CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND",
        severity: "warning",
        resource: "DestinationRule shop/ratings",
        path: "spec.host",
        line: lineOf(yaml, 'host: "ratings"'),
      },
      {
        code: "CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND",
        severity: "warning",
        resource: "DestinationRule shop/nowhere",
        path: "spec.host",
        line: lineOf(yaml, 'host: "*.nowhere.example"'),
      },
    ]);
  });

  it("warns even when the input has no services at all", () => {
    expect(run(rule("alone", "reviews")).map((f) => f.code)).toEqual([
      "CREMA_ANALYSIS_DESTINATION_RULE_HOST_NOT_FOUND",
    ]);
  });

  it("stays quiet on Service, ServiceEntry and covering wildcard hosts", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml =
      HEALTHY_MESH +
      rule("all-shop", "*.shop.svc.cluster.local") +
      rule("payments", "api.payments.example") +
      rule("fqdn", "productpage.shop.svc.cluster.local");
    expect(run(yaml)).toEqual([]);
  });
});
