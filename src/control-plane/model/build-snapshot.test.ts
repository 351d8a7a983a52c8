import { describe, expect, it } from "vitest";
import { readSources } from "../../config/source-file.ts";
import { validateSources } from "../../config/validate.ts";
import { buildSnapshot } from "./build-snapshot.ts";
import { DEFAULT_MESH_CONFIG } from "./mesh-config.ts";
import { snapshotFromYaml } from "./testing.ts";

const SMALL = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
`;

describe("buildSnapshot", () => {
  it("versions by content: same input, same version; any change, a new one", () => {
    const a = snapshotFromYaml(SMALL);
    expect(a.version).toMatch(/^[0-9a-f]{12}$/);
    expect(snapshotFromYaml(SMALL).version).toBe(a.version);
    expect(snapshotFromYaml(SMALL.replace("port: 80", "port: 81")).version).not.toBe(a.version);
    expect(snapshotFromYaml(SMALL, { domainSuffix: "corp" }).version).not.toBe(a.version);
    // Key order inside a document does not matter.
    const reordered = SMALL.replace("{name: web, namespace: shop}", "{namespace: shop, name: web}");
    expect(snapshotFromYaml(reordered).version).toBe(a.version);
  });

  it("fills the mesh config from defaults", () => {
    const s = snapshotFromYaml("", { trustDomain: "example.org" });
    expect(s.meshConfig).toEqual({ ...DEFAULT_MESH_CONFIG, trustDomain: "example.org" });
  });

  it("lists Istio config per kind, every API version in one list, in input order", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b}
spec: {hosts: [b], http: [{route: [{destination: {host: b}}]}]}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: a}
spec: {hosts: [a], http: [{route: [{destination: {host: a}}]}]}
---
apiVersion: security.istio.io/v1beta1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec: {mtls: {mode: STRICT}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: t}
spec: {}
`);
    expect(s.config.virtualServices.map((r) => `${r.version}/${r.name}`)).toEqual([
      "v1/b",
      "v1alpha3/a",
    ]);
    expect(s.config.peerAuthentications.map((r) => r.name)).toEqual(["default"]);
    expect(s.config.telemetries).toHaveLength(1);
    expect(s.config.destinationRules).toEqual([]);
  });

  it("knows every namespace: labelled Namespace objects and those resources live in", () => {
    const s = snapshotFromYaml(`
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: billing}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
`);
    expect([...s.namespaces]).toEqual([
      ["billing", {}],
      ["default", {}],
      ["shop", { "istio-injection": "enabled" }],
    ]);
  });

  it("finds workloads by selector, in a namespace or anywhere", () => {
    const s = snapshotFromYaml(`
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: web, version: v1}}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: web, version: v2}}
spec: {containers: [{name: c}]}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: c, namespace: y}
spec: {address: 10.0.0.3, labels: {app: web, version: v1}}
`);
    const names = (list: readonly { name: string }[]) => list.map((w) => w.name);
    expect(names(s.workloadsMatching({ app: "web" }, "x"))).toEqual(["a", "b"]);
    expect(names(s.workloadsMatching({ app: "web", version: "v1" }))).toEqual(["a", "c"]);
    expect(names(s.workloadsMatching({ version: "v1" }, "y"))).toEqual(["c"]);
    expect(names(s.workloadsMatching({}, "x"))).toEqual(["a", "b"]);
    expect(names(s.workloadsMatching({}))).toEqual(["a", "b", "c"]);
    expect(s.workloadsMatching({ app: "nope" })).toEqual([]);
  });

  it("sorts services by hostname, then namespace", () => {
    const s = snapshotFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: b, namespace: z}
spec: {}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: z}
spec: {}
`);
    expect(s.services.map((x) => x.hostname)).toEqual([
      "a.z.svc.cluster.local",
      "b.z.svc.cluster.local",
    ]);
  });
});

describe("the coffee-shop example", async () => {
  const { files } = await readSources(
    [new URL("../../../examples/coffee-shop", import.meta.url).pathname],
    async () => "",
    { recursive: false },
  );
  const { resources } = validateSources(files);
  const snapshot = buildSnapshot(resources);
  const NS = "coffee-shop";
  const host = (name: string) => `${name}.${NS}.svc.cluster.local`;

  it("has the shop's services, the gateway's, and the ServiceEntry hosts", () => {
    expect(
      snapshot.services.map(
        (s) => `${s.kind} ${s.hostname} ${s.ports.map((p) => `${p.port}/${p.protocol}`).join(",")}`,
      ),
    ).toEqual([
      "ServiceEntry api.payments.example.com 443/TLS",
      "ServiceEntry barista-service.coffee-shop.svc.cluster.local 80/HTTP",
      "Service customer-service.coffee-shop.svc.cluster.local 80/HTTP",
      "Service inventory-service.coffee-shop.svc.cluster.local 80/HTTP",
      "Service istio-ingressgateway.istio-system.svc.cluster.local 15021/UNSUPPORTED,80/HTTP2,443/HTTPS",
      "ServiceEntry loyalty-db.coffee-shop.internal 27018/MONGO",
      "Service order-service.coffee-shop.svc.cluster.local 80/HTTP,9090/GRPC",
      "Service payment-service.coffee-shop.svc.cluster.local 80/HTTP",
      "Service web-frontend.coffee-shop.svc.cluster.local 80/HTTP",
    ]);
  });

  it("has no endpoints for Kubernetes Services (Deployments, no Pods) but has the VM's and the entries'", () => {
    expect(snapshot.endpointsOf(host("customer-service"), 80, NS)).toEqual([]);
    expect(snapshot.workloads.map((w) => `${w.kind}/${w.name}`)).toEqual([
      "WorkloadEntry/barista-vm-1",
    ]);
    expect(snapshot.endpointsOf(host("barista-service"), 80, NS)).toMatchObject([
      { address: "10.128.0.21", port: 8080, tlsMode: "istio", serviceAccount: "barista-service" },
    ]);
    expect(
      snapshot.endpointsOf("loyalty-db.coffee-shop.internal", 27018).map((e) => e.address),
    ).toEqual(["10.20.0.11", "10.20.0.12"]);
    expect(snapshot.endpointsOf("api.payments.example.com", 443, NS)).toMatchObject([
      { address: "api.payments.example.com", port: 443, tlsMode: "disabled" },
    ]);
  });

  it("keeps the payments API private to coffee-shop", () => {
    expect(snapshot.serviceFor("api.payments.example.com", NS)).toBeDefined();
    expect(snapshot.serviceFor("api.payments.example.com", "istio-system")).toBeUndefined();
  });

  it("gets endpoints once Pods exist, with sidecars from the namespace's injection label", () => {
    const pod = `
apiVersion: v1
kind: Pod
metadata:
  name: customer-service-v2-abc
  namespace: coffee-shop
  labels: {app: customer-service, version: v2}
spec:
  serviceAccountName: customer-service
  containers: [{name: customer-service, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 127.0.1.5}
`;
    const withPod = buildSnapshot([
      ...resources,
      ...validateSources([{ path: "pod.yaml", text: pod }]).resources,
    ]);
    expect(withPod.version).not.toBe(snapshot.version);
    expect(withPod.endpointsOf(host("customer-service"), 80, NS)).toMatchObject([
      {
        address: "127.0.1.5",
        port: 8080,
        labels: { app: "customer-service", version: "v2" },
        serviceAccount: "customer-service",
        tlsMode: "istio",
        healthy: true,
      },
    ]);
  });
});
