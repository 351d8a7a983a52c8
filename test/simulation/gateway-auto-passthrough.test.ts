// An east-west gateway's AUTO_PASSTHROUGH server: a TLS connection whose SNI names an Istio
// cluster (outbound_.<port>_.<subset>_.<host>) and offers Istio's mTLS ALPN is relayed, still
// encrypted, to the SNI-DNAT cluster of that name.
import { describe, expect, it } from "vitest";
import { expectCall } from "../support/simulate.ts";
import { FQDN, gateway, istio, resourcesFor, workload } from "./mesh.ts";

// Injected namespace: the pods run sidecars, so SNI-DNAT clusters keep them (mTLS endpoints only).
const INJECTED = `${JSON.stringify({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name: "default", labels: { "istio-injection": "enabled" } },
})}\n---\n`;
const MESH =
  INJECTED +
  workload("reviews", {
    vip: "10.96.0.11",
    ports: ["http:9080"],
    pods: [
      { ip: "10.0.0.2", labels: { version: "v1" } },
      { ip: "10.0.0.3", labels: { version: "v2" } },
    ],
  }) +
  istio("DestinationRule", "reviews", {
    host: "reviews",
    subsets: [
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ],
  }) +
  istio(
    "Gateway",
    "cross-network-gateway",
    {
      selector: { istio: "eastwestgateway" },
      servers: [
        {
          port: { number: 15443, name: "tls", protocol: "TLS" },
          tls: { mode: "AUTO_PASSTHROUGH" },
          hosts: ["*.local"],
        },
      ],
    },
    "istio-system",
  );
const eastWest = gateway("istio-eastwestgateway-1", {
  ip: "10.0.1.2",
  labels: { istio: "eastwestgateway" },
});
const mesh = resourcesFor(MESH, eastWest);
const sni = (subset: string) => `outbound_.9080_.${subset}_.${FQDN("reviews")}`;
const mtls = (name: string) => ({
  port: 15443,
  host: "",
  sni: name,
  alpn: ["istio-http/1.1", "istio"],
  protocol: "tls" as const,
});

describe("AUTO_PASSTHROUGH gateway", () => {
  it("relays an mTLS connection for the default subset to its SNI-DNAT cluster", () => {
    expectCall(mesh, mtls(sni("")), { listener: "0.0.0.0_15443", cluster: sni("") });
  });

  it("relays a subset's SNI to that subset's SNI-DNAT cluster", () => {
    expectCall(mesh, mtls(sni("v2")), { listener: "0.0.0.0_15443", cluster: sni("v2") });
    expect(mesh.clusters.get(sni("v2"))?.transport_socket).toBeUndefined();
    const v2 = JSON.stringify(mesh.endpoints.get(sni("v2")));
    expect(v2).toContain("10.0.0.3");
    expect(v2).not.toContain("10.0.0.2");
  });

  it("finds no filter chain for an unknown SNI or without Istio's ALPN", () => {
    expectCall(mesh, mtls(`outbound_.9080_._.${FQDN("ratings")}`), {
      listener: "0.0.0.0_15443",
      error: expect.any(String),
    });
    expectCall(
      mesh,
      { ...mtls(sni("")), alpn: ["h2"] },
      { listener: "0.0.0.0_15443", error: expect.any(String) },
    );
  });
});
