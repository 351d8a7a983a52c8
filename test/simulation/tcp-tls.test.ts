// TCP and TLS from a sidecar: VIP listeners, VirtualService `tcp` weighted routes and `tls` SNI
// routes, and plaintext HTTP meeting a TCP port.
import { describe, expect, it } from "vitest";
import { expectCall, sweepClusters } from "../support/simulate.ts";
import { FQDN, istio, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const versions = (ips: string[]) => ips.map((ip, i) => ({ ip, labels: { version: `v${i + 1}` } }));
const subsets = (host: string) =>
  istio("DestinationRule", host, {
    host,
    subsets: [
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ],
  });

const MESH =
  workload("postgres", {
    vip: "10.96.0.13",
    ports: ["tcp-postgres:5432"],
    pods: versions(["10.0.0.31", "10.0.0.32"]),
  }) +
  workload("secure", {
    vip: "10.96.0.14",
    ports: ["tls:8443"],
    pods: versions(["10.0.0.41", "10.0.0.42"]),
  }) +
  subsets("postgres") +
  subsets("secure");
const app = sidecar("app-1", { ip: "10.0.0.1" });

describe("TCP", () => {
  it("a TCP service without a VirtualService: its VIP listener proxies to the service cluster", () => {
    expectCall(
      resourcesFor(MESH, app),
      { address: "10.96.0.13", port: 5432, host: "", protocol: "tcp" },
      {
        listener: "10.96.0.13_5432",
        cluster: outbound("postgres", 5432),
      },
    );
  });

  it("a tcp route with two weighted destinations splits 70/30", () => {
    const vs = istio("VirtualService", "postgres", {
      hosts: ["postgres"],
      tcp: [
        {
          route: [
            { destination: { host: "postgres", subset: "v1" }, weight: 70 },
            { destination: { host: "postgres", subset: "v2" }, weight: 30 },
          ],
        },
      ],
    });
    const mesh = resourcesFor(MESH + vs, app);
    const call = { address: "10.96.0.13", port: 5432, host: "", protocol: "tcp" as const };
    const v1 = outbound("postgres", 5432, "v1");
    const v2 = outbound("postgres", 5432, "v2");
    expectCall(mesh, call, {
      listener: "10.96.0.13_5432",
      weightedClusters: [
        { name: v1, weight: 70 },
        { name: v2, weight: 30 },
      ],
    });
    expect(sweepClusters(mesh, call, 100)).toEqual({ [v1]: 70, [v2]: 30 });
  });

  it("a call to another address on the same port is not taken by the VIP listener", () => {
    expectCall(
      resourcesFor(MESH, app),
      { address: "10.96.9.9", port: 5432, host: "", protocol: "tcp" },
      {
        listener: "virtualOutbound",
        cluster: "PassthroughCluster",
      },
    );
  });
});

describe("TLS", () => {
  const vs = istio("VirtualService", "secure", {
    hosts: ["secure"],
    tls: [
      {
        match: [{ port: 8443, sniHosts: ["secure.default.svc.cluster.local"] }],
        route: [{ destination: { host: "secure", subset: "v2" } }],
      },
    ],
  });

  it("a tls route picks the cluster by SNI", () => {
    const mesh = resourcesFor(MESH + vs, app);
    expectCall(
      mesh,
      { address: "10.96.0.14", port: 8443, host: "", sni: FQDN("secure"), protocol: "tls" },
      {
        listener: "10.96.0.14_8443",
        cluster: outbound("secure", 8443, "v2"),
      },
    );
  });

  it("without a VirtualService the VIP listener forwards TLS to the service", () => {
    expectCall(
      resourcesFor(MESH, app),
      { address: "10.96.0.14", port: 8443, host: "", sni: "anything", protocol: "tls" },
      {
        cluster: outbound("secure", 8443),
      },
    );
  });

  it("another SNI on the routed port falls to the listener's passthrough chain", () => {
    const mesh = resourcesFor(MESH + vs, app);
    expectCall(
      mesh,
      { address: "10.96.0.14", port: 8443, host: "", sni: "other.example.com", protocol: "tls" },
      {
        filterChain: "PassthroughFilterChain",
        cluster: "PassthroughCluster",
      },
    );
  });
});
