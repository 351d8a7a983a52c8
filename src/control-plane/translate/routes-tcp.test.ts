import { describe, expect, it } from "vitest";
import { snapshotFromYaml } from "../model/testing.ts";
import { serviceYaml, testProxy, viewNamed } from "./route-testing.ts";
import { buildTcpRoutes, buildTlsRoutes } from "./routes-tcp.ts";

const YAML =
  serviceYaml("db", "default", ["tcp:5432", "tcp-admin:5433"]) +
  `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db, api.example.com]
  tcp:
  - match: [{port: 5433}]
    route: [{destination: {host: db, port: {number: 5433}}}]
  - match: [{destinationSubnets: [10.1.0.0/16], sourceLabels: {app: sleep}}, {sourceLabels: {app: other}}]
    route:
    - {destination: {host: db, subset: a}, weight: 75}
    - {destination: {host: db, subset: b}, weight: 25}
    - {destination: {host: db, subset: c}, weight: 0}
  - route: [{destination: {host: db}}]
  - route: [{destination: {host: never}}]
  tls:
  - match: [{port: 443, sniHosts: [API.example.com]}]
    route: [{destination: {host: api.example.com}}]
  - match: [{sniHosts: [b.example.com], gateways: [istio-system/gw]}]
    route: [{destination: {host: b.example.com}}]
`;

describe("buildTcpRoutes / buildTlsRoutes", () => {
  const snapshot = snapshotFromYaml(YAML);
  const ctx = { snapshot, proxy: testProxy() };
  const vs = viewNamed(snapshot, "db");
  const source = { namespace: "default", name: "db" };

  it("keeps the rules that apply on the port, in order, until a rule without match", () => {
    expect(buildTcpRoutes(vs, 5432, ctx)).toEqual([
      {
        match: {
          destinationSubnets: ["10.1.0.0/16"],
          sourceLabels: { app: "sleep" },
          sniHosts: [],
        },
        clusters: [
          { name: "outbound|5432|a|db.default.svc.cluster.local", weight: 75 },
          { name: "outbound|5432|b|db.default.svc.cluster.local", weight: 25 },
        ],
        virtualService: source,
      },
      {
        match: { destinationSubnets: [], sourceLabels: {}, sniHosts: [] },
        clusters: [{ name: "outbound|5432||db.default.svc.cluster.local", weight: 100 }],
        virtualService: source,
      },
    ]);
  });

  it("match port selects the rule for that listener", () => {
    expect(buildTcpRoutes(vs, 5433, ctx)[0]).toMatchObject({
      match: { port: 5433 },
      clusters: [{ name: "outbound|5433||db.default.svc.cluster.local", weight: 100 }],
    });
  });

  it("tls rules carry their SNI hosts; gateway-bound entries only apply on that gateway", () => {
    expect(buildTlsRoutes(vs, 443, ctx)).toEqual([
      {
        match: {
          destinationSubnets: [],
          port: 443,
          sourceLabels: {},
          sniHosts: ["api.example.com"],
        },
        clusters: [{ name: "outbound|443||api.example.com", weight: 100 }],
        virtualService: source,
      },
    ]);
    const onGateway = buildTlsRoutes(vs, 443, { ...ctx, gateways: new Set(["istio-system/gw"]) });
    expect(onGateway.map((r) => r.match.sniHosts)).toEqual([
      ["api.example.com"],
      ["b.example.com"],
    ]);
  });
});
