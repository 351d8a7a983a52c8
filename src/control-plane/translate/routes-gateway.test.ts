import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import { expectEncodes, serviceYaml, testProxy } from "./route-testing.ts";
import type { Obj } from "./route-values.ts";
import { buildGatewayRouteConfigs, gatewayServersFor } from "./routes-gateway.ts";

const gateway = testProxy({
  kind: "router",
  namespace: "istio-system",
  podName: "istio-ingressgateway",
  labels: { istio: "ingressgateway" },
});

const gatewayYaml = (
  name: string,
  namespace: string,
  servers: Obj[],
  selector = "ingressgateway",
) =>
  `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ${name}, namespace: ${namespace}}
spec: ${JSON.stringify({ selector: { istio: selector }, servers })}
---
`;
const vsYaml = (name: string, namespace: string, spec: Obj) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${namespace}}
spec: ${JSON.stringify(spec)}
---
`;
const http = (port: number, hosts: string[], extra: Obj = {}) => ({
  port: { number: port, name: `http-${port}`, protocol: "HTTP" },
  hosts,
  ...extra,
});
const to = (host: string, prefix?: string) => ({
  ...(prefix ? { match: [{ uri: { prefix } }] } : {}),
  route: [{ destination: { host } }],
});

const SERVICES =
  serviceYaml("web", "front", ["http:8080"]) +
  serviceYaml("api", "back", ["http:9090", "grpc:9091"]);

function configs(yaml: string): Map<string, JsonObject> {
  const out = buildGatewayRouteConfigs(snapshotFromYaml(SERVICES + yaml), gateway);
  for (const config of out.values()) expectEncodes(config);
  return out;
}
const clustersOf = (vh: JsonObject) => (vh.routes as Obj[]).map((r) => (r.route as Obj).cluster);

describe("buildGatewayRouteConfigs", () => {
  it("servers of every Gateway selecting the proxy, in any namespace", () => {
    const snapshot = snapshotFromYaml(
      gatewayYaml("gw", "istio-system", [http(80, ["*"])]) +
        gatewayYaml("shop", "front", [http(80, ["shop.example"])]) +
        gatewayYaml("egress", "istio-system", [http(80, ["*"])], "egressgateway"),
    );
    expect(gatewayServersFor(snapshot, gateway).map((s) => [s.gatewayName, s.routeName])).toEqual([
      ["istio-system/gw", "http.80"],
      ["front/shop", "http.80"],
    ]);
  });

  it("merges the routes of every bound VirtualService per host; catch-alls last", () => {
    const out = configs(
      gatewayYaml("gw", "istio-system", [http(80, ["shop.example"])]) +
        vsYaml("web", "front", {
          hosts: ["shop.example"],
          gateways: ["istio-system/gw"],
          http: [to("web")],
        }) +
        vsYaml("api", "back", {
          hosts: ["shop.example"],
          gateways: ["istio-system/gw"],
          http: [to("api", "/api")],
        }),
    );
    const config = out.get("http.80")!;
    expect(config).toMatchObject({
      name: "http.80",
      validate_clusters: false,
      ignore_port_in_host_matching: true,
      max_direct_response_body_size_bytes: 1048576,
    });
    const [vh] = config.virtual_hosts as JsonObject[];
    expect(vh).toMatchObject({ name: "shop.example:80", domains: ["shop.example"] });
    // No port named: the service's only port, else the server's; /api before the catch-all.
    expect(clustersOf(vh!)).toEqual([
      "outbound|80||api.back.svc.cluster.local",
      "outbound|8080||web.front.svc.cluster.local",
    ]);
    expect((vh!.routes as Obj[])[0]!.decorator).toEqual({
      operation: "api.back.svc.cluster.local:80/api*",
    });
  });

  it("binds by `name` in the VirtualService's namespace or `ns/name`; not to other gateways", () => {
    const out = configs(
      gatewayYaml("gw", "istio-system", [http(80, ["*"])]) +
        vsYaml("local", "istio-system", {
          hosts: ["a.example"],
          gateways: ["gw"],
          http: [to("web.front.svc.cluster.local")],
        }) +
        vsYaml("mesh", "front", { hosts: ["b.example"], http: [to("web")] }) +
        vsYaml("other", "front", { hosts: ["c.example"], gateways: ["gw"], http: [to("web")] }),
    );
    expect((out.get("http.80")!.virtual_hosts as JsonObject[]).map((v) => v.name)).toEqual([
      "a.example:80",
    ]);
  });

  it("server hosts meet VirtualService hosts at the more specific name; namespace-scoped hosts", () => {
    const out = configs(
      gatewayYaml("gw", "istio-system", [http(80, ["*.example.com", "front/*"])]) +
        vsYaml("a", "front", {
          hosts: ["a.example.com", "*"],
          gateways: ["istio-system/gw"],
          http: [to("web")],
        }) +
        vsYaml("b", "back", {
          hosts: ["b.example.com", "other.org"],
          gateways: ["istio-system/gw"],
          http: [to("api")],
        }),
    );
    const hosts = (out.get("http.80")!.virtual_hosts as JsonObject[]).map((v) => [
      v.name,
      v.domains,
    ]);
    expect(hosts).toEqual([
      // a's hosts share its routes: one virtual host for all, named after the first (route collapse).
      ["*:80", ["*", "*.example.com", "a.example.com"]],
      ["b.example.com:80", ["b.example.com"]],
    ]);
  });

  it("no bound VirtualService: a virtual host with no routes, so requests get 404 NR", () => {
    const out = configs(gatewayYaml("gw", "istio-system", [http(8080, ["*"])]));
    expect(out.get("http.8080")!.virtual_hosts).toEqual([
      { name: "blackhole:8080", domains: ["*"], routes: [] },
    ]);
  });

  it("httpsRedirect requires TLS, for hosts with or without routes", () => {
    const out = configs(
      gatewayYaml("gw", "istio-system", [
        http(80, ["shop.example", "plain.example"], { tls: { httpsRedirect: true } }),
      ]) +
        vsYaml("web", "front", {
          hosts: ["shop.example"],
          gateways: ["istio-system/gw"],
          http: [to("web")],
        }),
    );
    expect(
      (out.get("http.80")!.virtual_hosts as JsonObject[]).map((v) => [
        v.name,
        v.require_tls,
        (v.routes as Obj[]).length,
      ]),
    ).toEqual([
      ["plain.example:80", "ALL", 0],
      ["shop.example:80", "ALL", 1],
    ]);
  });

  it("HTTPS servers terminating TLS get their own route configuration; passthrough ones none", () => {
    const out = configs(
      gatewayYaml("gw", "istio-system", [
        {
          port: { number: 443, name: "https", protocol: "HTTPS" },
          hosts: ["shop.example"],
          tls: { mode: "SIMPLE", credentialName: "shop" },
        },
        {
          port: { number: 8443, name: "tls", protocol: "HTTPS" },
          hosts: ["raw.example"],
          tls: { mode: "PASSTHROUGH" },
        },
      ]) +
        vsYaml("web", "front", {
          hosts: ["shop.example"],
          gateways: ["istio-system/gw"],
          http: [{ redirect: { derivePort: "FROM_REQUEST_PORT", authority: "x.example" } }],
        }),
    );
    expect([...out.keys()]).toEqual(["https.443.https.gw.istio-system"]);
    const [vh] = out.get("https.443.https.gw.istio-system")!.virtual_hosts as JsonObject[];
    // Redirects on a TLS server default to https: no explicit :443.
    expect((vh!.routes as Obj[])[0]!.redirect).toEqual({
      host_redirect: "x.example",
      response_code: "MOVED_PERMANENTLY",
    });
  });

  it("match entries naming other gateways are dropped on this one", () => {
    const out = configs(
      gatewayYaml("gw", "istio-system", [http(80, ["*"])]) +
        vsYaml("web", "front", {
          hosts: ["*"],
          gateways: ["istio-system/gw", "mesh"],
          http: [
            {
              match: [{ gateways: ["mesh"], uri: { prefix: "/internal" } }],
              route: [{ destination: { host: "api" } }],
            },
            {
              match: [{ gateways: ["istio-system/gw"], uri: { prefix: "/" } }],
              route: [{ destination: { host: "web" } }],
            },
          ],
        }),
    );
    const [vh] = out.get("http.80")!.virtual_hosts as JsonObject[];
    expect(clustersOf(vh!)).toEqual(["outbound|8080||web.front.svc.cluster.local"]);
  });
});
