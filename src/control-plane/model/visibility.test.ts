import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "./testing.ts";

function entry(name: string, namespace: string, host: string, exportTo?: string[]): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  hosts: [${host}]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: DNS
${exportTo ? `  exportTo: ${JSON.stringify(exportTo)}` : ""}
---
`;
}

function service(name: string, namespace: string, exportTo?: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
${exportTo ? `  annotations: {networking.istio.io/exportTo: "${exportTo}"}` : ""}
spec: {ports: [{name: http, port: 80}]}
---
`;
}

const hostsFrom = (s: ReturnType<typeof snapshotFromYaml>, ns: string) =>
  s.servicesVisibleFrom(ns).map((x) => `${x.hostname}@${x.namespace}`);

describe("exportTo", () => {
  const snapshot = snapshotFromYaml(
    entry("public", "a", "public.example.com") +
      entry("private", "a", "private.example.com", ["."]) +
      entry("listed", "a", "listed.example.com", ["b"]) +
      entry("hidden", "a", "hidden.example.com", ["~"]) +
      entry("star-wins", "a", "star.example.com", ["~", "*"]) +
      entry("tilde-wins", "a", "tilde.example.com", ["~", "b", "."]) +
      service("svc", "a", "c"),
  );

  it("'*' (default) is everywhere, '.' its namespace, names exactly those, '~' nowhere", () => {
    expect(hostsFrom(snapshot, "a")).toEqual([
      "private.example.com@a",
      "public.example.com@a",
      "star.example.com@a",
    ]);
    expect(hostsFrom(snapshot, "b")).toEqual([
      "listed.example.com@a",
      "public.example.com@a",
      "star.example.com@a",
    ]);
    expect(hostsFrom(snapshot, "c")).toEqual([
      "public.example.com@a",
      "star.example.com@a",
      "svc.a.svc.cluster.local@a",
    ]);
  });

  it("serviceFor honours visibility", () => {
    expect(snapshot.serviceFor("private.example.com", "a")?.name).toBe("private");
    expect(snapshot.serviceFor("private.example.com", "b")).toBeUndefined();
    expect(snapshot.serviceFor("hidden.example.com", "a")).toBeUndefined();
    expect(snapshot.serviceFor("nope.example.com", "a")).toBeUndefined();
  });
});

describe("a hostname defined in several namespaces", () => {
  const yaml =
    entry("first", "ns1", "api.example.com") +
    entry("second", "ns2", "api.example.com") +
    entry("third", "ns3", "api.example.com");

  it("lists one service per namespace", () => {
    const s = snapshotFromYaml(yaml);
    expect(s.services.map((x) => `${x.hostname}@${x.namespace}`)).toEqual([
      "api.example.com@ns1",
      "api.example.com@ns2",
      "api.example.com@ns3",
    ]);
    expect(hostsFrom(s, "ns9")).toHaveLength(3);
  });

  it("resolves to the client's namespace first, else the first created", () => {
    const s = snapshotFromYaml(yaml);
    expect(s.serviceFor("api.example.com", "ns2")?.name).toBe("second");
    expect(s.serviceFor("api.example.com", "ns3")?.name).toBe("third");
    expect(s.serviceFor("api.example.com", "other")?.name).toBe("first");
  });

  it("prefers a Kubernetes Service to ServiceEntries, and explicit exports to public ones", () => {
    const s = snapshotFromYaml(
      entry("squatter", "ns1", "web.ns2.svc.cluster.local") +
        service("web", "ns2") +
        entry("public", "p", "x.example.com") +
        entry("for-client", "q", "x.example.com", ["client"]),
    );
    expect(s.serviceFor("web.ns2.svc.cluster.local", "client")?.kind).toBe("Service");
    expect(s.serviceFor("web.ns2.svc.cluster.local", "ns1")?.name).toBe("squatter");
    expect(s.serviceFor("x.example.com", "client")?.name).toBe("for-client");
    expect(s.serviceFor("x.example.com", "other")?.name).toBe("public");
  });

  it("endpointsOf picks the service the same way when given a client namespace", () => {
    const s = snapshotFromYaml(
      entry("first", "ns1", "api.example.com") +
        `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: second, namespace: ns2}
spec:
  hosts: [api.example.com]
  ports: [{number: 80, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: 10.0.0.2}]
`,
    );
    expect(s.endpointsOf("api.example.com", 80, "ns2").map((e) => e.address)).toEqual(["10.0.0.2"]);
    expect(s.endpointsOf("api.example.com", 80, "ns1").map((e) => e.address)).toEqual([
      "api.example.com",
    ]);
    expect(s.endpointsOf("api.example.com", 80, "client").map((e) => e.address)).toEqual([
      "api.example.com",
    ]);
    expect(s.endpointsOf("api.example.com", 80).map((e) => e.address)).toEqual(["api.example.com"]);
  });

  it("merges the ports of compatible ServiceEntries for one host in one namespace", () => {
    const s = snapshotFromYaml(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: a, namespace: ns}
spec: {hosts: [db.example.com], resolution: DNS, ports: [{number: 80, name: http, protocol: HTTP}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: b, namespace: ns}
spec: {hosts: [db.example.com], resolution: DNS, ports: [{number: 443, name: tls, protocol: TLS}, {number: 80, name: http2, protocol: HTTP2}]}
`);
    expect(s.services).toHaveLength(1);
    expect(s.services[0]!.ports.map((p) => `${p.name}:${p.port}`)).toEqual(["http:80", "tls:443"]);
    expect(s.endpointsOf("db.example.com", 443).map((e) => `${e.address}:${e.port}`)).toEqual([
      "db.example.com:443",
    ]);
  });
});
