import { describe, expect, it } from "vitest";
import { namespaceInjection } from "./namespace-injection.ts";
import { findings, HEALTHY_MESH, lineOf } from "./testing.ts";

const run = (yaml: string) => findings(yaml, { analyzers: [namespaceInjection] });

const namespace = (name: string, labels = "") => `---
apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
${labels ? `  labels:\n    ${labels}\n` : ""}`;

const pod = (ns: string) => `---
apiVersion: v1
kind: Pod
metadata:
  name: app
  namespace: ${ns}
  labels:
    app: app
spec:
  containers:
    - name: app
      image: example/app:1
`;

describe("namespace.injection", () => {
  it("reports namespaces with workloads but no injection label (IST0102, info)", () => {
    const yaml = HEALTHY_MESH + namespace("legacy") + pod("legacy");
    expect(run(yaml)).toEqual([
      {
        code: "IST0102",
        severity: "info",
        resource: "Namespace legacy",
        path: "metadata.name",
        line: lineOf(yaml, "name: legacy"),
      },
    ]);
  });

  it("stays quiet on labelled, empty, system and implicit namespaces", () => {
    expect(run(HEALTHY_MESH)).toEqual([]);
    const yaml =
      HEALTHY_MESH +
      namespace("opted-out", "istio-injection: disabled") +
      pod("opted-out") +
      namespace("revisioned", "istio.io/rev: canary") +
      pod("revisioned") +
      namespace("ambient", "istio.io/dataplane-mode: ambient") +
      pod("ambient") +
      namespace("empty") +
      namespace("kube-system") +
      pod("kube-system") +
      pod("no-namespace-object");
    expect(run(yaml)).toEqual([]);
  });
});
