import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { Service } from "../model/service.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { buildSidecarRouteConfigs } from "./route-configs.ts";
import { alternateHostnames, serviceDomains } from "./route-domains.ts";
import { serviceYaml, testProxy } from "./route-testing.ts";
import type { Obj } from "./route-values.ts";

const service = (overrides: Partial<Service>): Service => ({
  hostname: "reviews.bookinfo.svc.cluster.local",
  namespace: "bookinfo",
  name: "reviews",
  kind: "Service",
  addresses: ["10.96.0.10"],
  ports: [{ name: "http", port: 9080, protocol: "HTTP" }],
  resolution: "STATIC",
  location: "MESH_INTERNAL",
  exportTo: ["*"],
  labels: {},
  ...overrides,
});

describe("serviceDomains (Istio's generateVirtualHostDomains)", () => {
  it("same namespace: FQDN, short name, name.ns.svc, name.ns, VIP — with and without port", () => {
    expect(serviceDomains(service({}), 9080, "bookinfo", "cluster.local").domains).toEqual([
      "reviews.bookinfo.svc.cluster.local",
      "reviews.bookinfo.svc.cluster.local:9080",
      "reviews",
      "reviews:9080",
      "reviews.bookinfo.svc",
      "reviews.bookinfo.svc:9080",
      "reviews.bookinfo",
      "reviews.bookinfo:9080",
      "10.96.0.10",
      "10.96.0.10:9080",
    ]);
  });

  it("another namespace: no short name", () => {
    expect(
      serviceDomains(service({ addresses: [] }), 9080, "shop", "cluster.local").domains,
    ).toEqual([
      "reviews.bookinfo.svc.cluster.local",
      "reviews.bookinfo.svc.cluster.local:9080",
      "reviews.bookinfo",
      "reviews.bookinfo:9080",
      "reviews.bookinfo.svc",
      "reviews.bookinfo.svc:9080",
    ]);
  });

  it("ServiceEntry hosts are not shortened; IPv6 VIPs in brackets; 0.0.0.0 left out", () => {
    const entry = service({
      hostname: "api.example.com",
      kind: "ServiceEntry",
      addresses: ["0.0.0.0", "fd00::1"],
    });
    expect(serviceDomains(entry, 443, "bookinfo", "cluster.local").domains).toEqual([
      "api.example.com",
      "api.example.com:443",
      "[fd00::1]",
      "[fd00::1]:443",
    ]);
  });

  it("headless Kubernetes services also match pod subdomains", () => {
    const headless = service({ resolution: "NONE", addresses: [] });
    expect(serviceDomains(headless, undefined, "shop", "cluster.local").domains).toEqual([
      "reviews.bookinfo.svc.cluster.local",
      "reviews.bookinfo",
      "reviews.bookinfo.svc",
      "*.reviews.bookinfo.svc.cluster.local",
      "*.reviews.bookinfo",
      "*.reviews.bookinfo.svc",
    ]);
  });

  it("honours the mesh's domain suffix", () => {
    expect(alternateHostnames("a.b.svc.corp", "b", "corp", undefined)).toEqual([
      "a",
      "a.b.svc",
      "a.b",
    ]);
    expect(alternateHostnames("a.b.svc.cluster.local", "b", "corp", undefined)).toEqual([]);
  });
});

const vsYaml = (name: string, namespace: string, spec: Obj) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${namespace}}
spec: ${JSON.stringify(spec)}
---
`;

function vhosts(yaml: string, port = 9080, namespace = "default"): JsonObject[] {
  const snapshot = snapshotFromYaml(yaml);
  const config = buildSidecarRouteConfigs(snapshot, testProxy({ namespace })).get(String(port));
  return (config?.virtual_hosts ?? []) as JsonObject[];
}

/** Each route's cluster, or its name for the default and catch-all routes. */
const routed = (vh: JsonObject) =>
  (vh.routes as Obj[]).map((r) =>
    r.name === "default" || r.name === "allow_any" ? r.name : (r.route as Obj).cluster,
  );

const SERVICES =
  serviceYaml("reviews", "default", ["http:9080"]) +
  serviceYaml("ratings", "default", ["http:9080"]) +
  serviceYaml("details", "other", ["http:9080"]);

describe("sidecar virtual hosts for one port", () => {
  it("one per visible service, named host:port, sorted; the catch-all last", () => {
    expect(vhosts(SERVICES).map((v) => v.name)).toEqual([
      "details.other.svc.cluster.local:9080",
      "ratings.default.svc.cluster.local:9080",
      "reviews.default.svc.cluster.local:9080",
      "allow_any",
    ]);
  });

  it("on sidecars one VirtualService per host: the oldest wins", () => {
    const yaml =
      SERVICES +
      vsYaml("first", "default", {
        hosts: ["reviews"],
        http: [{ route: [{ destination: { host: "reviews", subset: "v1" } }] }],
      }) +
      vsYaml("second", "default", {
        hosts: ["reviews"],
        http: [{ route: [{ destination: { host: "reviews", subset: "v2" } }] }],
      });
    const reviews = vhosts(yaml).find((v) => v.name === "reviews.default.svc.cluster.local:9080")!;
    expect(routed(reviews)).toEqual(["outbound|9080|v1|reviews.default.svc.cluster.local"]);
  });

  it("wildcard hosts: the most specific VirtualService claims each service; exact names win", () => {
    const yaml =
      SERVICES +
      vsYaml("all", "default", {
        hosts: ["*"],
        http: [{ route: [{ destination: { host: "ratings" } }] }],
      }) +
      vsYaml("ns", "default", {
        hosts: ["*.default.svc.cluster.local"],
        http: [{ route: [{ destination: { host: "ratings", subset: "ns" } }] }],
      }) +
      vsYaml("exact", "default", {
        hosts: ["reviews"],
        http: [{ route: [{ destination: { host: "reviews", subset: "exact" } }] }],
      });
    const byName = Object.fromEntries(vhosts(yaml).map((v) => [v.name, routed(v)]));
    expect(byName).toEqual({
      "details.other.svc.cluster.local:9080": ["outbound|9080||ratings.default.svc.cluster.local"],
      "ratings.default.svc.cluster.local:9080": [
        "outbound|9080|ns|ratings.default.svc.cluster.local",
      ],
      "reviews.default.svc.cluster.local:9080": [
        "outbound|9080|exact|reviews.default.svc.cluster.local",
      ],
      allow_any: ["allow_any"],
    });
  });

  it("VirtualService hosts resolve in its own namespace, and exportTo hides it elsewhere", () => {
    const yaml =
      SERVICES +
      vsYaml("details", "other", {
        hosts: ["details"],
        exportTo: ["."],
        http: [{ route: [{ destination: { host: "details", subset: "v2" } }] }],
      });
    const details = (ns: string) =>
      routed(
        vhosts(yaml, 9080, ns).find((v) => v.name === "details.other.svc.cluster.local:9080")!,
      );
    expect(details("other")).toEqual(["outbound|9080|v2|details.other.svc.cluster.local"]);
    expect(details("default")).toEqual(["default"]);
  });

  it("gateway-only VirtualServices do not apply to sidecars; mesh-bound ones do", () => {
    const yaml =
      SERVICES +
      vsYaml("gw", "default", {
        hosts: ["reviews"],
        gateways: ["gw"],
        http: [{ route: [{ destination: { host: "reviews", subset: "gw" } }] }],
      }) +
      vsYaml("both", "default", {
        hosts: ["ratings"],
        gateways: ["gw", "mesh"],
        http: [{ route: [{ destination: { host: "ratings", subset: "mesh" } }] }],
      });
    const byName = Object.fromEntries(vhosts(yaml).map((v) => [v.name, routed(v)]));
    expect(byName["reviews.default.svc.cluster.local:9080"]).toEqual(["default"]);
    expect(byName["ratings.default.svc.cluster.local:9080"]).toEqual([
      "outbound|9080|mesh|ratings.default.svc.cluster.local",
    ]);
  });

  it("a VirtualService none of whose rules apply to this proxy leaves the default route", () => {
    const yaml =
      SERVICES +
      vsYaml("canary", "default", {
        hosts: ["reviews"],
        http: [
          {
            match: [{ sourceLabels: { app: "other" } }],
            route: [{ destination: { host: "reviews", subset: "v2" } }],
          },
        ],
      });
    const reviews = vhosts(yaml).find((v) => v.name === "reviews.default.svc.cluster.local:9080")!;
    expect(routed(reviews)).toEqual(["default"]);
  });

  it("hosts outside the registry get a virtual host on port 80 only", () => {
    const yaml =
      serviceYaml("web", "default", ["http:80"]) +
      SERVICES +
      vsYaml("ext", "default", {
        hosts: ["api.example.com"],
        http: [{ route: [{ destination: { host: "web" } }] }],
      });
    const ext = vhosts(yaml, 80).find((v) => v.name === "api.example.com:80");
    expect(ext?.domains).toEqual(["api.example.com", "api.example.com:80"]);
    expect(vhosts(yaml, 9080).some((v) => String(v.name).startsWith("api.example.com"))).toBe(
      false,
    );
  });

  it("the default route: no timeout, Istio's default retries", () => {
    const [details] = vhosts(SERVICES);
    expect(details!.routes).toEqual([
      {
        name: "default",
        match: { prefix: "/" },
        route: {
          cluster: "outbound|9080||details.other.svc.cluster.local",
          timeout: "0s",
          max_grpc_timeout: "0s",
          retry_policy: expect.objectContaining({ num_retries: 2 }),
        },
        decorator: { operation: "details.other.svc.cluster.local:9080/*" },
      },
    ]);
  });
});
