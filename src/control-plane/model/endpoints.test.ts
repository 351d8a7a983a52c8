import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "./testing.ts";

const HOST = "web.shop.svc.cluster.local";

function pod(
  name: string,
  ip: string,
  options: { ns?: string; labels?: string; ready?: boolean; extra?: string } = {},
): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${options.ns ?? "shop"}
  labels: {${options.labels ?? "app: web"}}
${options.extra ?? ""}
spec:
  containers:
  - name: app
    ports: [{name: http, containerPort: 8080}, {name: admin, containerPort: 9901}]
${ip ? `status:\n  podIP: ${ip}\n  conditions: [{type: Ready, status: "${options.ready === false ? "False" : "True"}"}]` : ""}
---
`;
}

const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: http-admin, port: 9000, targetPort: admin}
  - {name: tcp-raw, port: 7000}
  - {name: tcp-missing, port: 7001, targetPort: nope}
---
`;

const addrs = (list: readonly { address: string; port: number }[]) =>
  list.map((e) => `${e.address}:${e.port}`);

describe("endpoints of Kubernetes Services", () => {
  const snapshot = snapshotFromYaml(`
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
${SERVICE}${pod("web-1", "10.0.0.1", { extra: "  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u1, controller: true}]\n  annotations: {}" })}${pod("web-2", "10.0.0.2", { ready: false })}${pod("web-3", "")}${pod("other-ns", "10.0.1.1", { ns: "elsewhere" })}${pod("other-app", "10.0.0.9", { labels: "app: api" })}`);

  it("are the selected pods of the same namespace that have an IP", () => {
    expect(addrs(snapshot.endpointsOf(HOST, 80, "shop"))).toEqual([
      "10.0.0.1:8080",
      "10.0.0.2:8080",
    ]);
  });

  it("resolve target ports: number, container port name, default = service port; unknown name → none", () => {
    expect(addrs(snapshot.endpointsOf(HOST, 9000, "shop"))).toEqual([
      "10.0.0.1:9901",
      "10.0.0.2:9901",
    ]);
    expect(addrs(snapshot.endpointsOf(HOST, 7000, "shop"))).toEqual([
      "10.0.0.1:7000",
      "10.0.0.2:7000",
    ]);
    expect(snapshot.endpointsOf(HOST, 7001, "shop")).toEqual([]);
    expect(snapshot.endpointsOf(HOST, 1234, "shop")).toEqual([]);
  });

  it("carry the pod's identity, readiness and sidecar; workload name from the owner", () => {
    const [first, second] = snapshot.endpointsOf(HOST, 80, "shop");
    expect(first).toEqual({
      hostname: HOST,
      servicePort: 80,
      address: "10.0.0.1",
      port: 8080,
      labels: { app: "web" },
      locality: { region: "", zone: "", subzone: "" },
      weight: 1,
      healthy: true,
      serviceAccount: "default",
      namespace: "shop",
      workloadName: "web-5d8f",
      tlsMode: "istio",
      network: "",
    });
    expect(second).toMatchObject({ address: "10.0.0.2", healthy: false, workloadName: "web-2" });
  });

  it("strip the ReplicaSet hash to name the Deployment", () => {
    const s = snapshotFromYaml(
      SERVICE +
        pod("web-5d8f-x", "10.0.0.1", {
          labels: "app: web, pod-template-hash: 5d8f",
          extra:
            "  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u1, controller: true}]",
        }),
    );
    expect(s.endpointsOf(HOST, 80, "shop")[0]!.workloadName).toBe("web");
  });

  it("include WorkloadEntries the selector matches (ports by service port name or targetPort name)", () => {
    const s = snapshotFromYaml(`${SERVICE}
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm, namespace: shop}
spec: {address: 10.9.0.1, labels: {app: web}, serviceAccount: web, ports: {http: 18080, admin: 19901}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-dns, namespace: shop}
spec: {address: vm.example.com, labels: {app: web}}
`);
    expect(s.endpointsOf(HOST, 80, "shop")).toMatchObject([
      {
        address: "10.9.0.1",
        port: 18080,
        tlsMode: "istio",
        workloadName: "vm",
        serviceAccount: "web",
      },
    ]);
    expect(addrs(s.endpointsOf(HOST, 9000, "shop"))).toEqual(["10.9.0.1:19901"]);
    expect(addrs(s.endpointsOf(HOST, 7000, "shop"))).toEqual(["10.9.0.1:7000"]);
  });

  it("headless services take pods but not WorkloadEntries", () => {
    const s = snapshotFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: None, selector: {app: web}, ports: [{name: http, port: 80, targetPort: 8080}]}
---
${pod("web-1", "10.0.0.1")}
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm, namespace: shop}
spec: {address: 10.9.0.1, labels: {app: web}}
`);
    expect(addrs(s.endpointsOf(HOST, 80, "shop"))).toEqual(["10.0.0.1:8080"]);
  });

  it("come from Endpoints and EndpointSlice objects for a service without selector", () => {
    const s = snapshotFromYaml(`
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {ports: [{name: http, port: 80}, {name: grpc, port: 90}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets:
- addresses: [{ip: 10.0.0.1, targetRef: {kind: Pod, name: web-1}}]
  notReadyAddresses: [{ip: 10.0.0.2}]
  ports: [{name: http, port: 8080}, {name: grpc, port: 9090}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.0.0.3]
  zone: zone-a
- addresses: [10.0.0.4]
  conditions: {ready: false}
- addresses: [10.0.0.1]
ports: [{name: http, port: 8080}]
---
${pod("web-1", "10.0.0.1", { labels: "app: other", extra: "  annotations: {sidecar.istio.io/status: '{}'}" })}`);
    expect(
      s.endpointsOf(HOST, 80, "shop").map((e) => [e.address, e.port, e.healthy, e.tlsMode]),
    ).toEqual([
      ["10.0.0.1", 8080, true, "istio"],
      ["10.0.0.2", 8080, false, "disabled"],
      ["10.0.0.3", 8080, true, "disabled"],
      ["10.0.0.4", 8080, false, "disabled"],
    ]);
    expect(s.endpointsOf(HOST, 80, "shop")[2]!.locality).toEqual({
      region: "",
      zone: "zone-a",
      subzone: "",
    });
    expect(s.endpointsOf(HOST, 80, "shop")[0]).toMatchObject({
      workloadName: "web-1",
      labels: { app: "other" },
    });
    expect(addrs(s.endpointsOf(HOST, 90, "shop"))).toEqual(["10.0.0.1:9090", "10.0.0.2:9090"]);
  });

  it("ignore Endpoints objects of a service with a selector (Kubernetes manages those)", () => {
    const s = snapshotFromYaml(`${SERVICE}
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets: [{addresses: [{ip: 10.7.7.7}], ports: [{name: http, port: 8080}]}]
`);
    expect(s.endpointsOf(HOST, 80, "shop")).toEqual([]);
  });
});

describe("endpoints of ServiceEntries with a workloadSelector", () => {
  const snapshot = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: barista, namespace: shop}
spec:
  hosts: [barista.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 80, name: http, protocol: HTTP, targetPort: 8081}
  - {number: 90, name: grpc, protocol: GRPC}
  workloadSelector: {labels: {app: barista}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-1, namespace: shop}
spec: {address: 10.128.0.21, labels: {app: barista}, serviceAccount: barista, ports: {http: 8080}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-dns, namespace: shop}
spec: {address: vm.example.com, labels: {app: barista}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-other, namespace: elsewhere}
spec: {address: 10.128.0.99, labels: {app: barista}}
---
${pod("barista-pod", "10.0.0.5", { labels: "app: barista" })}`);
  const HOSTNAME = "barista.shop.svc.cluster.local";

  it("select WorkloadEntries and Pods in its namespace; port by name, else targetPort, else number", () => {
    expect(addrs(snapshot.endpointsOf(HOSTNAME, 80))).toEqual([
      "10.128.0.21:8080",
      "10.0.0.5:8080",
    ]);
    expect(addrs(snapshot.endpointsOf(HOSTNAME, 90))).toEqual(["10.128.0.21:90", "10.0.0.5:90"]);
    expect(snapshot.endpointsOf(HOSTNAME, 80)[0]).toMatchObject({
      tlsMode: "istio",
      workloadName: "vm-1",
    });
  });

  it("take hostname-addressed WorkloadEntries only with DNS resolution", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: barista, namespace: shop}
spec:
  hosts: [barista.example.com]
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
  workloadSelector: {labels: {app: barista}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: vm-dns, namespace: shop}
spec: {address: vm.example.com, labels: {app: barista}}
`);
    expect(addrs(s.endpointsOf("barista.example.com", 80))).toEqual(["vm.example.com:80"]);
  });
});

describe("a host defined by a Service and a ServiceEntry in one namespace", () => {
  it("is the Kubernetes Service, with the entry's endpoints merged by port name (creation order)", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: web-vms, namespace: shop}
spec:
  hosts: [web.shop.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 8000, name: http, protocol: HTTP}]
  endpoints: [{address: 10.9.9.9, ports: {http: 8080}}]
---
${SERVICE}${pod("web-1", "10.0.0.1")}`);
    expect(s.services).toHaveLength(1);
    expect(s.services[0]!.kind).toBe("Service");
    expect(s.endpointsOf(HOST, 80, "shop").map((e) => [e.address, e.port, e.servicePort])).toEqual([
      ["10.9.9.9", 8080, 80],
      ["10.0.0.1", 8080, 80],
    ]);
  });
});
