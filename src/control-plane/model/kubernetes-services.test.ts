import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "./testing.ts";

describe("Kubernetes Services", () => {
  const snapshot = snapshotFromYaml(`
apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: shop
  labels: {app: reviews}
spec:
  clusterIP: 10.96.0.10
  selector: {app: reviews}
  ports:
  - {name: http-web, port: 80, targetPort: 8080}
  - {name: api, appProtocol: grpc, port: 9090, targetPort: grpc}
  - {name: dns, port: 53, protocol: UDP}
  - {port: 5000}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: shop}
spec: {clusterIP: None, selector: {app: db}, ports: [{name: tcp, port: 5432}]}
---
apiVersion: v1
kind: Service
metadata: {name: empty, namespace: shop}
spec: {}
---
apiVersion: v1
kind: Service
metadata: {name: legacy, namespace: shop}
spec: {type: ExternalName, externalName: DB.Example.com, ports: [{name: tcp, port: 3306}]}
`);

  it("becomes a MESH_INTERNAL STATIC service named name.ns.svc.<suffix>, ClusterIP as address", () => {
    const reviews = snapshot.serviceFor("reviews.shop.svc.cluster.local", "shop");
    expect(reviews).toMatchObject({
      hostname: "reviews.shop.svc.cluster.local",
      namespace: "shop",
      name: "reviews",
      kind: "Service",
      addresses: ["10.96.0.10"],
      resolution: "STATIC",
      location: "MESH_INTERNAL",
      exportTo: ["*"],
      labels: { app: "reviews" },
      selector: { app: "reviews" },
    });
  });

  it("takes protocols from appProtocol, then the port name; targetPort defaults to the port", () => {
    const reviews = snapshot.serviceFor("reviews.shop.svc.cluster.local", "shop")!;
    expect(reviews.ports).toEqual([
      { name: "http-web", port: 80, targetPort: 8080, protocol: "HTTP" },
      { name: "api", port: 9090, targetPort: "grpc", protocol: "GRPC" },
      { name: "dns", port: 53, targetPort: 53, protocol: "UDP" },
      { name: "", port: 5000, targetPort: 5000, protocol: "UNSUPPORTED" },
    ]);
  });

  it("headless (clusterIP None): no address, resolution NONE (Istio's Passthrough)", () => {
    expect(snapshot.serviceFor("db.shop.svc.cluster.local", "shop")).toMatchObject({
      addresses: [],
      resolution: "NONE",
    });
  });

  it("a service with no ports and no selector is still a service", () => {
    const empty = snapshot.serviceFor("empty.shop.svc.cluster.local", "shop")!;
    expect(empty.ports).toEqual([]);
    expect(empty.selector).toBeUndefined();
    expect(empty.addresses).toEqual([]);
  });

  it("ExternalName: MESH_EXTERNAL, DNS, its target as the endpoint on the service port", () => {
    expect(snapshot.serviceFor("legacy.shop.svc.cluster.local", "shop")).toMatchObject({
      resolution: "DNS",
      location: "MESH_EXTERNAL",
    });
    expect(snapshot.endpointsOf("legacy.shop.svc.cluster.local", 3306, "shop")).toMatchObject([
      { address: "db.example.com", port: 3306, tlsMode: "disabled", healthy: true },
    ]);
  });

  it("reads exportTo from the networking.istio.io/exportTo annotation", () => {
    const s = snapshotFromYaml(`
apiVersion: v1
kind: Service
metadata:
  name: a
  namespace: shop
  annotations: {networking.istio.io/exportTo: ". , ops"}
spec: {ports: [{name: http, port: 80}]}
`);
    expect(s.services[0]!.exportTo).toEqual(["shop", "ops"]);
  });

  it("uses the configured domain suffix", () => {
    const s = snapshotFromYaml(
      "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: b}\nspec: {}\n",
      { domainSuffix: "corp.internal" },
    );
    expect(s.services.map((x) => x.hostname)).toEqual(["a.b.svc.corp.internal"]);
  });
});
