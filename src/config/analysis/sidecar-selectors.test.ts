import { describe, expect, it } from "vitest";
import { sidecarSelectors } from "./sidecar-selectors.ts";
import { findings, HEALTHY_MESH, lineAfter, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [sidecarSelectors] });

const sidecar = (name: string, labels?: string) => `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: ${name}
  namespace: shop
spec:
${labels ? `  workloadSelector:\n    labels:\n      ${labels}\n` : ""}  egress:
    - hosts:
        - ./*
`;

describe("sidecar.selectors", () => {
  it("reports several selector-less Sidecars in one namespace (IST0111)", () => {
    const yaml = HEALTHY_MESH + sidecar("second-default");
    expect(run(yaml)).toEqual([
      {
        code: "IST0111",
        severity: "error",
        resource: "Sidecar shop/default",
        path: "metadata.name",
        line: lineOf(yaml, "name: default", 2),
      },
      {
        code: "IST0111",
        severity: "error",
        resource: "Sidecar shop/second-default",
        path: "metadata.name",
        line: lineOf(yaml, "name: second-default"),
      },
    ]);
  });

  it("reports Sidecars selecting the same workload (IST0110) and selectors matching none (IST0101)", () => {
    const yaml =
      HEALTHY_MESH +
      sidecar("all-reviews", "app: reviews") +
      sidecar("v1-only", "version: v1") +
      sidecar("ratings", "app: ratings");
    expect(run(yaml)).toEqual([
      {
        code: "IST0110",
        severity: "error",
        resource: "Sidecar shop/all-reviews",
        path: "spec.workloadSelector.labels",
        line: lineAfter(yaml, "name: all-reviews", "app: reviews"),
      },
      {
        code: "IST0110",
        severity: "error",
        resource: "Sidecar shop/v1-only",
        path: "spec.workloadSelector.labels",
        line: lineAfter(yaml, "name: v1-only", "version: v1"),
      },
      {
        code: "IST0101",
        severity: "error",
        resource: "Sidecar shop/ratings",
        path: "spec.workloadSelector.labels",
        line: lineOf(yaml, "app: ratings"),
      },
    ]);
  });

  it("stays quiet on disjoint selectors and namespaces without workloads in the input", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml =
      HEALTHY_MESH +
      sidecar("reviews", "app: reviews") +
      sidecar("productpage", "app: productpage") +
      sidecar("elsewhere", "app: ratings").replace("namespace: shop", "namespace: ratings");
    expect(run(yaml)).toEqual([]);
  });
});
