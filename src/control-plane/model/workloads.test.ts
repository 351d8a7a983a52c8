import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "./testing.ts";

function pod(name: string, extra = "", namespace = "shop"): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
${extra}
---
`;
}

describe("Pods as workloads", () => {
  it("reads IP, readiness, service account, named container ports, labels and locality", () => {
    const s = snapshotFromYaml(
      pod(
        "web-1",
        `  labels: {app: web, topology.kubernetes.io/region: eu, topology.kubernetes.io/zone: eu-1a}
spec:
  serviceAccountName: web
  containers:
  - name: app
    ports: [{name: http, containerPort: 8080}, {containerPort: 9999}]
  - name: metrics
    ports: [{name: metrics, containerPort: 9090}]
status:
  podIP: 10.1.0.5
  conditions: [{type: Ready, status: "True"}]`,
      ),
    );
    expect(s.workloads).toEqual([
      {
        kind: "Pod",
        name: "web-1",
        namespace: "shop",
        address: "10.1.0.5",
        labels: {
          app: "web",
          "topology.kubernetes.io/region": "eu",
          "topology.kubernetes.io/zone": "eu-1a",
        },
        serviceAccount: "web",
        locality: { region: "eu", zone: "eu-1a", subzone: "" },
        network: "",
        weight: 1,
        healthy: true,
        hasSidecar: false,
        ports: { http: 8080, metrics: 9090 },
      },
    ]);
  });

  it("defaults: service account 'default', ready without status, no IP → empty address", () => {
    const s = snapshotFromYaml(pod("bare", "spec: {containers: [{name: app}]}"));
    expect(s.workloads[0]).toMatchObject({
      serviceAccount: "default",
      healthy: true,
      address: "",
      locality: { region: "", zone: "", subzone: "" },
    });
  });

  it("Ready False or a deletion timestamp is unhealthy; finished pods are not workloads", () => {
    const s = snapshotFromYaml(
      pod(
        "starting",
        `spec: {containers: [{name: app}]}
status: {podIP: 10.0.0.1, conditions: [{type: Ready, status: "False"}]}`,
      ) +
        pod(
          "leaving",
          `  deletionTimestamp: "2025-01-01T00:00:00Z"
spec: {containers: [{name: app}]}
status: {podIP: 10.0.0.3}`,
        ) +
        pod(
          "done",
          `spec: {containers: [{name: app}]}
status: {phase: Succeeded, podIP: 10.0.0.2}`,
        ),
    );
    expect(s.workloads.map((w) => [w.name, w.healthy])).toEqual([
      ["starting", false],
      ["leaving", false],
    ]);
  });

  it("locality from the istio-locality label", () => {
    const s = snapshotFromYaml(
      pod("a", "  labels: {istio-locality: r1.z1.s1}\nspec: {containers: [{name: app}]}"),
    );
    expect(s.workloads[0]!.locality).toEqual({ region: "r1", zone: "z1", subzone: "s1" });
  });

  it("network from the pod's topology.istio.io/network label, else its namespace's", () => {
    const s = snapshotFromYaml(`
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {topology.istio.io/network: net-ns}}
---
${pod("a", "spec: {containers: [{name: app}]}")}${pod("b", "  labels: {topology.istio.io/network: net-pod}\nspec: {containers: [{name: app}]}")}`);
    expect(s.workloads.map((w) => w.network)).toEqual(["net-ns", "net-pod"]);
  });

  describe("hasSidecar", () => {
    const namespaces = `apiVersion: v1
kind: Namespace
metadata: {name: injected, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: disabled, labels: {istio-injection: disabled}}
---
apiVersion: v1
kind: Namespace
metadata: {name: revision, labels: {istio.io/rev: canary}}
---
`;
    const spec = "spec: {containers: [{name: app}]}";
    it.each([
      ["namespace istio-injection=enabled", pod("p", spec, "injected"), true],
      [
        "…but the pod opts out by annotation",
        pod("p", `  annotations: {sidecar.istio.io/inject: "false"}\n${spec}`, "injected"),
        false,
      ],
      [
        "…or by label",
        pod("p", `  labels: {sidecar.istio.io/inject: "false"}\n${spec}`, "injected"),
        false,
      ],
      ["namespace with istio.io/rev", pod("p", spec, "revision"), true],
      ["unlabelled namespace", pod("p", spec, "plain"), false],
      [
        "unlabelled namespace, pod label inject=true (the ingress gateway)",
        pod("p", `  labels: {sidecar.istio.io/inject: "true"}\n${spec}`, "plain"),
        true,
      ],
      [
        "istio-injection=disabled beats the pod label",
        pod("p", `  labels: {sidecar.istio.io/inject: "true"}\n${spec}`, "disabled"),
        false,
      ],
      [
        "already injected (sidecar.istio.io/status)",
        pod("p", `  annotations: {sidecar.istio.io/status: "{}"}\n${spec}`, "plain"),
        true,
      ],
      [
        "tlsMode label istio",
        pod("p", `  labels: {security.istio.io/tlsMode: istio}\n${spec}`, "plain"),
        true,
      ],
      [
        "an explicit tlsMode disabled wins over injection",
        pod("p", `  labels: {security.istio.io/tlsMode: disabled}\n${spec}`, "injected"),
        false,
      ],
      [
        "hostNetwork pods are never injected",
        pod("p", "spec: {hostNetwork: true, containers: [{name: app}]}", "injected"),
        false,
      ],
    ])("%s → %s", (_name, yaml, expected) => {
      const s = snapshotFromYaml(namespaces + yaml);
      expect(s.workloads[0]!.hasSidecar).toBe(expected);
    });
  });

  it("Deployments are not workloads", () => {
    const s = snapshotFromYaml(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app}]}
`);
    expect(s.workloads).toEqual([]);
  });
});

describe("WorkloadEntries as workloads", () => {
  it("reads address, labels, service account, ports, weight, locality and network", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: shop, labels: {version: v2}}
spec:
  address: 10.128.0.21
  labels: {app: barista, version: v1}
  serviceAccount: barista
  ports: {http: 8080, grpc: 9090}
  weight: 5
  locality: us-west/zone-b/rack-9
  network: vm-net
`);
    expect(s.workloads).toEqual([
      {
        kind: "WorkloadEntry",
        name: "vm-1",
        namespace: "shop",
        address: "10.128.0.21",
        // metadata labels win over spec.labels (Istio's ConvertWorkloadEntry)
        labels: { app: "barista", version: "v2" },
        serviceAccount: "barista",
        locality: { region: "us-west", zone: "zone-b", subzone: "rack-9" },
        network: "vm-net",
        weight: 5,
        healthy: true,
        hasSidecar: true,
        ports: { http: 8080, grpc: 9090 },
      },
    ]);
  });

  it.each([
    ["a service account", "serviceAccount: sa", true],
    ["no service account", "", false],
    ["no service account but tlsMode istio", "labels: {security.istio.io/tlsMode: istio}", true],
    [
      "a service account but tlsMode disabled",
      "serviceAccount: sa\n  labels: {security.istio.io/tlsMode: disabled}",
      false,
    ],
  ])("with %s → hasSidecar %s (Istio's getTLSModeFromWorkloadEntry)", (_n, extra, expected) => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm, namespace: shop}
spec:
  address: vm.example.com
  ${extra}
`);
    expect(s.workloads[0]).toMatchObject({
      address: "vm.example.com",
      hasSidecar: expected,
      weight: 1,
    });
  });

  it("with health checks enabled, healthy only while its Healthy condition is True", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm
  namespace: shop
  annotations: {proxy.istio.io/health-checks-enabled: "true"}
spec: {address: 10.0.0.9}
`);
    expect(s.workloads[0]!.healthy).toBe(false);
  });
});
