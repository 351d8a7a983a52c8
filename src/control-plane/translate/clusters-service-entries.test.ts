import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { buildOutboundClusters } from "./clusters.ts";
import { at, destinationRuleYaml, expectEncodable, proxyNode } from "./clusters-testing.ts";

function clusters(yaml: string, proxy = proxyNode()): Map<string, JsonObject> {
  const out = buildOutboundClusters(snapshotFromYaml(yaml), proxy);
  expectEncodable(out.values());
  return out;
}

function serviceEntry(name: string, body: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: default}
spec:
${body
  .trim()
  .split("\n")
  .map((l) => `  ${l}`)
  .join("\n")}
---
`;
}

describe("ServiceEntry resolutions", () => {
  it("DNS → STRICT_DNS with the host as inline endpoint; MESH_EXTERNAL is marked external", () => {
    const out = clusters(
      serviceEntry(
        "httpbin",
        `hosts: [httpbin.org]
location: MESH_EXTERNAL
ports: [{number: 80, name: http, protocol: HTTP}]
resolution: DNS`,
      ),
    );
    const cluster = out.get("outbound|80||httpbin.org");
    expect(cluster).toMatchObject({
      type: "STRICT_DNS",
      dns_lookup_family: "V4_ONLY",
      dns_refresh_rate: "60s",
      respect_dns_ttl: true,
      lb_policy: "LEAST_REQUEST",
    });
    expect(cluster?.eds_cluster_config).toBeUndefined();
    expect(at(cluster, "load_assignment")).toEqual({
      cluster_name: "outbound|80||httpbin.org",
      endpoints: [
        {
          locality: {},
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: "httpbin.org", port_value: 80 } } },
              health_status: "HEALTHY",
              metadata: { filter_metadata: { istio: { workload: ";default;;;Kubernetes" } } },
              load_balancing_weight: 1,
            },
          ],
          load_balancing_weight: 1,
        },
      ],
    });
    expect(at(cluster, "metadata.filter_metadata.istio")).toEqual({
      services: [{ host: "httpbin.org", name: "httpbin.org", namespace: "default" }],
      external: true,
    });
  });

  it("DNS clusters follow IPv6-only proxies and apply locality priorities inline", () => {
    const yaml =
      serviceEntry(
        "db",
        `hosts: [db.example.com]
ports: [{number: 5432, name: tcp, protocol: TCP}]
resolution: DNS
endpoints:
- {address: db-a.example.com, locality: us/a}
- {address: db-b.example.com, locality: us/b}`,
      ) + destinationRuleYaml("host: db.example.com\ntrafficPolicy: {outlierDetection: {}}", "db");
    const proxy = proxyNode({ ip: "fd00::1", locality: { region: "us", zone: "b", subzone: "" } });
    const cluster = clusters(yaml, proxy).get("outbound|5432||db.example.com");
    expect(cluster?.dns_lookup_family).toBe("V6_ONLY");
    const groups = at(cluster, "load_assignment.endpoints") as JsonObject[];
    expect(groups.map((g) => [at(g, "locality.zone"), g.priority ?? 0])).toEqual([
      ["a", 1],
      ["b", 0],
    ]);
  });

  it("DNS_ROUND_ROBIN → LOGICAL_DNS with a single endpoint", () => {
    const out = clusters(
      serviceEntry(
        "api",
        `hosts: [api.example.com]
ports: [{number: 443, name: tls, protocol: TLS}]
resolution: DNS_ROUND_ROBIN`,
      ),
    );
    const cluster = out.get("outbound|443||api.example.com");
    expect(cluster?.type).toBe("LOGICAL_DNS");
    expect(at(cluster, "load_assignment.endpoints[0].lb_endpoints")).toHaveLength(1);
  });

  it("NONE → ORIGINAL_DST on sidecars, EDS on gateways", () => {
    const yaml = serviceEntry(
      "legacy",
      `hosts: [legacy.internal]
addresses: [10.20.0.0/16]
ports: [{number: 8080, name: http, protocol: HTTP}]
resolution: NONE`,
    );
    expect(clusters(yaml).get("outbound|8080||legacy.internal")).toMatchObject({
      type: "ORIGINAL_DST",
      lb_policy: "CLUSTER_PROVIDED",
    });
    expect(
      clusters(yaml, proxyNode({ kind: "router" })).get("outbound|8080||legacy.internal")?.type,
    ).toBe("EDS");
  });

  it("STATIC → EDS, even without endpoints", () => {
    const yaml = serviceEntry(
      "static",
      `hosts: [static.internal]
addresses: [10.30.0.1]
ports: [{number: 80, name: http, protocol: HTTP}]
resolution: STATIC`,
    );
    expect(clusters(yaml).get("outbound|80||static.internal")?.type).toBe("EDS");
  });
});
