// Sidecar scoping: which Sidecar applies, egress host forms, port-specific listeners, and the
// outbound traffic policy override.
import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "../model/testing.ts";
import { proxyNode } from "./clusters-testing.ts";
import { parseEgressHost, scopeFor, sidecarFor } from "./sidecar-scope.ts";

const SERVICES = ["default", "other", "istio-system"]
  .flatMap((ns, i) => [
    `apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${ns}}
spec: {clusterIP: 10.96.${i}.1, ports: [{name: http, port: 80}, {name: tcp-admin, port: 9000}]}
`,
    `apiVersion: v1
kind: Service
metadata: {name: db, namespace: ${ns}}
spec: {clusterIP: 10.96.${i}.2, ports: [{name: tcp, port: 5432}]}
`,
  ])
  .join("---\n");

function sidecar(name: string, namespace: string, spec: string): string {
  return `---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ${name}, namespace: ${namespace}}
spec:
${spec}
`;
}

const hostsOf = (yaml: string, labels = { app: "client" }, namespace = "default") =>
  scopeFor(snapshotFromYaml(yaml), proxyNode({ namespace, labels })).services.map(
    (s) => `${s.hostname}:${s.ports.map((p) => p.port).join(",")}`,
  );

describe("sidecarFor", () => {
  const yaml =
    SERVICES +
    sidecar("ns-default", "default", "  egress: [{hosts: ['./*']}]") +
    sidecar(
      "selecting",
      "default",
      "  workloadSelector: {labels: {app: special}}\n  egress: [{hosts: ['*/*']}]",
    ) +
    sidecar("root", "istio-system", "  egress: [{hosts: ['istio-system/*']}]");
  const snapshot = snapshotFromYaml(yaml);
  it("prefers a selecting Sidecar, then the namespace default, then the root default", () => {
    expect(sidecarFor(snapshot, proxyNode({ labels: { app: "special" } }))?.name).toBe("selecting");
    expect(sidecarFor(snapshot, proxyNode({ labels: { app: "client" } }))?.name).toBe("ns-default");
    expect(sidecarFor(snapshot, proxyNode({ namespace: "other" }))?.name).toBe("root");
  });
  it("never applies to gateways", () => {
    expect(sidecarFor(snapshot, proxyNode({ kind: "router" }))).toBeUndefined();
  });
});

describe("scopeFor", () => {
  it("parses the namespace/host forms", () => {
    expect(parseEgressHost("./*", "default")).toEqual({ namespace: "default", host: "*" });
    expect(parseEgressHost("*/web.other.svc.cluster.local", "x")).toEqual({
      namespace: "*",
      host: "web.other.svc.cluster.local",
    });
    expect(parseEgressHost("~/*", "x")).toEqual({ namespace: "~", host: "*" });
  });

  it("sees every visible service without a Sidecar", () => {
    expect(hostsOf(SERVICES)).toHaveLength(6);
  });

  it("imports by namespace and by host, with wildcards", () => {
    const yaml =
      SERVICES +
      sidecar(
        "s",
        "default",
        "  egress: [{hosts: ['./*', 'other/db.other.svc.cluster.local', '*/*.istio-system.svc.cluster.local']}]",
      );
    expect(hostsOf(yaml)).toEqual([
      "db.default.svc.cluster.local:5432",
      "db.istio-system.svc.cluster.local:5432",
      "db.other.svc.cluster.local:5432",
      "web.default.svc.cluster.local:80,9000",
      "web.istio-system.svc.cluster.local:80,9000",
    ]);
  });

  it("imports nothing from ~", () => {
    expect(hostsOf(SERVICES + sidecar("s", "default", "  egress: [{hosts: ['~/*']}]"))).toEqual([]);
  });

  it("narrows services of a port-specific egress listener to that port", () => {
    const yaml =
      SERVICES +
      sidecar(
        "s",
        "default",
        "  egress:\n  - port: {number: 80, protocol: HTTP, name: http}\n    hosts: ['other/*']\n  - hosts: ['./db.default.svc.cluster.local']",
      );
    expect(hostsOf(yaml)).toEqual([
      "db.default.svc.cluster.local:5432",
      "web.other.svc.cluster.local:80",
    ]);
    const scope = scopeFor(snapshotFromYaml(yaml), proxyNode());
    expect(scope.egressListeners.map((l) => l.port?.number ?? "*")).toEqual([80, "*"]);
  });

  it("takes the Sidecar's outbound traffic policy over the mesh's", () => {
    const yaml =
      SERVICES + sidecar("s", "default", "  outboundTrafficPolicy: {mode: REGISTRY_ONLY}");
    expect(scopeFor(snapshotFromYaml(yaml), proxyNode()).outboundTrafficPolicy.mode).toBe(
      "REGISTRY_ONLY",
    );
    expect(scopeFor(snapshotFromYaml(SERVICES), proxyNode()).outboundTrafficPolicy.mode).toBe(
      "ALLOW_ANY",
    );
  });
});
