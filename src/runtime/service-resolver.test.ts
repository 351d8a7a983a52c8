import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "../control-plane/model/testing.ts";
import { dnsCandidates, resolveServiceEndpoints } from "./service-resolver.ts";

function pod(name: string, ip: string, options: { ns?: string; ready?: boolean } = {}): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${options.ns ?? "shop"}
  labels: {app: web}
spec:
  containers:
  - name: app
    ports: [{name: http, containerPort: 8080}]
status:
  podIP: ${ip}
  conditions: [{type: Ready, status: "${options.ready === false ? "False" : "True"}"}]
---
`;
}

const YAML = `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations: {networking.istio.io/exportTo: "."}
spec:
  clusterIP: 10.96.0.10
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: tcp-raw, port: 7000}
  - {name: dns, port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: idle, namespace: shop}
spec:
  selector: {app: nothing-runs-this}
  ports: [{name: http, port: 80}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: payments, namespace: shop}
spec:
  hosts: [api.payments.example]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
---
${pod("web-1", "127.46.9.1")}${pod("web-2", "127.46.9.2", { ready: false })}${pod("web-3", "127.46.9.3")}`;

const snapshot = snapshotFromYaml(YAML);
const WEB = "web.shop.svc.cluster.local";
const READY = [
  { address: "127.46.9.1", port: 8080 },
  { address: "127.46.9.3", port: 8080 },
];

describe("resolveServiceEndpoints", () => {
  it.each([
    ["web", "shop"],
    ["web.shop", "shop"],
    ["web.shop", "default"],
    ["web.shop.svc", "default"],
    ["web.shop.svc.cluster.local", "default"],
    ["web.shop.svc.cluster.local.", "default"],
    ["WEB.Shop.SVC.cluster.local", "default"],
  ])("resolves %s from namespace %s to the ready endpoints' target ports", (host, namespace) => {
    expect(resolveServiceEndpoints(snapshot, namespace, host, 80)).toEqual({
      kind: "endpoints",
      hostname: WEB,
      port: 80,
      endpoints: READY,
    });
  });

  it("resolves a short name only in the client's namespace", () => {
    expect(resolveServiceEndpoints(snapshot, "default", "web", 80)).toEqual({
      kind: "unknown-host",
      host: "web",
    });
  });

  it("ignores exportTo, which scopes sidecars and not cluster DNS", () => {
    expect(resolveServiceEndpoints(snapshot, "other", "web.shop", 80).kind).toBe("endpoints");
  });

  it("uses the numeric target port when the port has no name to look up", () => {
    expect(resolveServiceEndpoints(snapshot, "shop", "web", 7000)).toMatchObject({
      kind: "endpoints",
      endpoints: [
        { address: "127.46.9.1", port: 7000 },
        { address: "127.46.9.3", port: 7000 },
      ],
    });
  });

  it("resolves a ClusterIP to its Service", () => {
    expect(resolveServiceEndpoints(snapshot, "default", "10.96.0.10", 80)).toMatchObject({
      kind: "endpoints",
      hostname: WEB,
    });
  });

  it("knows only Kubernetes Services, not ServiceEntry hosts or other IPs", () => {
    for (const host of ["api.payments.example", "127.46.9.1", "nope", "web.elsewhere"])
      expect(resolveServiceEndpoints(snapshot, "shop", host, 80)).toEqual({
        kind: "unknown-host",
        host,
      });
  });

  it("reports a port the Service does not expose over TCP", () => {
    for (const port of [8080, 53])
      expect(resolveServiceEndpoints(snapshot, "shop", "web", port)).toEqual({
        kind: "unknown-port",
        hostname: WEB,
        port,
      });
  });

  it("reports a Service without ready endpoints", () => {
    expect(resolveServiceEndpoints(snapshot, "shop", "idle", 80)).toEqual({
      kind: "no-ready-endpoints",
      hostname: "idle.shop.svc.cluster.local",
      port: 80,
    });
    const allUnready = snapshotFromYaml(YAML.replace(/status: "True"/g, 'status: "False"'));
    expect(resolveServiceEndpoints(allUnready, "shop", "web", 80).kind).toBe("no-ready-endpoints");
  });

  it("follows the mesh's domain suffix", () => {
    const corp = snapshotFromYaml(YAML, { domainSuffix: "corp.internal" });
    expect(resolveServiceEndpoints(corp, "x", "web.shop.svc.corp.internal", 80)).toMatchObject({
      kind: "endpoints",
      hostname: "web.shop.svc.corp.internal",
    });
    expect(resolveServiceEndpoints(corp, "x", "web.shop.svc", 80).kind).toBe("endpoints");
    expect(resolveServiceEndpoints(corp, "x", "web.shop.svc.cluster.local", 80).kind).toBe(
      "unknown-host",
    );
  });
});

describe("dnsCandidates", () => {
  it("tries the search path first for names with fewer than five dots", () => {
    expect(dnsCandidates("web.shop", "default", "cluster.local")).toEqual([
      "web.shop.default.svc.cluster.local",
      "web.shop.svc.cluster.local",
      "web.shop.cluster.local",
      "web.shop",
    ]);
  });

  it("tries the name as written first when it has five dots, and only it when absolute", () => {
    expect(dnsCandidates("a.b.c.d.e.f", "ns", "cluster.local")[0]).toBe("a.b.c.d.e.f");
    expect(dnsCandidates("Web.Shop.", "ns", "cluster.local")).toEqual(["web.shop"]);
  });
});
