import { describe, expect, it } from "vitest";
import { parseProtocol } from "./service.ts";
import { snapshotFromYaml } from "./testing.ts";

describe("ServiceEntries", () => {
  const snapshot = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: external, namespace: shop, labels: {team: pay}}
spec:
  hosts: [api.example.com, Mirror.Example.com]
  addresses: [192.168.1.1/32, 10.1.0.0/16]
  ports:
  - {number: 443, name: tls, protocol: TLS}
  - {number: 80, name: http, protocol: http, targetPort: 8080}
  resolution: DNS
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: defaults, namespace: shop}
spec:
  hosts: ["*.wild.example.com"]
  ports: [{number: 9000, name: grpc-x, protocol: GRPC-Web}]
`);

  it("is one service per host, with the entry's ports, addresses, location and labels", () => {
    expect(snapshot.services.map((s) => s.hostname)).toEqual([
      "*.wild.example.com",
      "api.example.com",
      "mirror.example.com",
    ]);
    expect(snapshot.serviceFor("api.example.com", "shop")).toEqual({
      hostname: "api.example.com",
      namespace: "shop",
      name: "external",
      kind: "ServiceEntry",
      addresses: ["192.168.1.1", "10.1.0.0/16"],
      ports: [
        { name: "tls", port: 443, protocol: "TLS" },
        { name: "http", port: 80, targetPort: 8080, protocol: "HTTP" },
      ],
      resolution: "DNS",
      location: "MESH_EXTERNAL",
      exportTo: ["*"],
      labels: { team: "pay" },
    });
  });

  it("defaults: resolution NONE, location MESH_EXTERNAL, no endpoints", () => {
    const wild = snapshot.serviceFor("*.wild.example.com", "shop")!;
    expect(wild).toMatchObject({ resolution: "NONE", location: "MESH_EXTERNAL", addresses: [] });
    expect(wild.ports[0]!.protocol).toBe("GRPC-Web");
    expect(snapshot.endpointsOf("*.wild.example.com", 9000)).toEqual([]);
  });

  it("DNS without endpoints: each host is its own endpoint on the target port", () => {
    expect(snapshot.endpointsOf("mirror.example.com", 80)).toMatchObject([
      { address: "mirror.example.com", port: 8080, servicePort: 80, tlsMode: "disabled" },
    ]);
    expect(snapshot.endpointsOf("api.example.com", 443)).toMatchObject([
      { address: "api.example.com", port: 443 },
    ]);
  });

  it("parseProtocol is Istio's protocol.Parse (case-insensitive, no prefix split)", () => {
    expect(parseProtocol("http2")).toBe("HTTP2");
    expect(parseProtocol("Mongo")).toBe("MONGO");
    expect(parseProtocol("HTTP_PROXY")).toBe("HTTP_PROXY");
    expect(parseProtocol("http-web")).toBe("UNSUPPORTED");
    expect(parseProtocol(undefined)).toBe("UNSUPPORTED");
  });

  it("inline endpoints: ports by name, else targetPort, else number; identity and tlsMode", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: data}
spec:
  hosts: [db.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - {number: 5432, name: tcp-pg, protocol: TCP}
  - {number: 8080, name: http, protocol: HTTP, targetPort: 18080}
  endpoints:
  - address: 10.0.0.1
    ports: {tcp-pg: 15432}
    labels: {version: v1}
    serviceAccount: db
    locality: us-east/zone-a/rack-1
    weight: 3
    network: net-1
  - address: 10.0.0.2
    labels: {security.istio.io/tlsMode: disabled}
    serviceAccount: db
`);
    expect(s.endpointsOf("db.internal", 5432)).toEqual([
      {
        hostname: "db.internal",
        servicePort: 5432,
        address: "10.0.0.1",
        port: 15432,
        labels: { version: "v1" },
        locality: { region: "us-east", zone: "zone-a", subzone: "rack-1" },
        weight: 3,
        healthy: true,
        serviceAccount: "db",
        namespace: "data",
        workloadName: "",
        tlsMode: "istio",
        network: "net-1",
      },
      expect.objectContaining({ address: "10.0.0.2", port: 5432, weight: 1, tlsMode: "disabled" }),
    ]);
    expect(s.endpointsOf("db.internal", 8080).map((e) => `${e.address}:${e.port}`)).toEqual([
      "10.0.0.1:18080",
      "10.0.0.2:18080",
    ]);
  });

  it("exportTo from the spec, '.' meaning its own namespace", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: shop}
spec:
  hosts: [a.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  exportTo: [".", "ops"]
`);
    expect(s.services[0]!.exportTo).toEqual(["shop", "ops"]);
  });
});
