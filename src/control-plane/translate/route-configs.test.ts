import { describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { snapshotFromYaml } from "../model/testing.ts";
import {
  buildLocalOutboundRouteConfig,
  buildProxylessRouteConfig,
  buildSidecarRouteConfigs,
} from "./route-configs.ts";
import { expectEncodes, serviceYaml, testProxy } from "./route-testing.ts";
import type { Obj } from "./route-values.ts";

const MESH =
  serviceYaml("reviews", "default", ["http:9080"], "10.96.0.10") +
  serviceYaml("web", "default", ["http:80"]) +
  serviceYaml("db", "default", ["tcp:5432"]) +
  serviceYaml("legacy", "default", ["legacy:7000"], "10.96.0.20") +
  `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db, namespace: default}
spec:
  hosts: [db]
  tcp:
  - route:
    - {destination: {host: db, subset: primary}, weight: 90}
    - {destination: {host: db, subset: replica}, weight: 10}
---
`;

const vhost = (config: JsonObject, name: string) =>
  (config.virtual_hosts as JsonObject[]).find((v) => v.name === name);

describe("buildSidecarRouteConfigs", () => {
  const configs = buildSidecarRouteConfigs(snapshotFromYaml(MESH), testProxy());

  it("one per HTTP or sniffed port (named by port), plus one per sniffed service port", () => {
    expect([...configs.keys()]).toEqual([
      "80",
      "7000",
      "9080",
      "legacy.default.svc.cluster.local:7000",
    ]);
    for (const config of configs.values()) expectEncodes(config);
  });

  it("route configuration settings as Istio's", () => {
    const config = configs.get("9080")!;
    expect(config).toMatchObject({
      name: "9080",
      validate_clusters: false,
      max_direct_response_body_size_bytes: 1048576,
      ignore_port_in_host_matching: true,
    });
    expect((config.virtual_hosts as JsonObject[]).map((v) => v.name)).toEqual([
      "reviews.default.svc.cluster.local:9080",
      "allow_any",
    ]);
  });

  it("ALLOW_ANY: the catch-all passes unknown hosts through", () => {
    expect(vhost(configs.get("80")!, "allow_any")).toEqual({
      name: "allow_any",
      domains: ["*"],
      routes: [
        {
          name: "allow_any",
          match: { prefix: "/" },
          route: { cluster: "PassthroughCluster", timeout: "0s", max_grpc_timeout: "0s" },
        },
      ],
      include_request_attempt_count: true,
    });
  });

  it("REGISTRY_ONLY (mesh config or the Sidecar's policy): 502 for unknown hosts", () => {
    const blockAll = {
      name: "block_all",
      domains: ["*"],
      routes: [{ name: "block_all", match: { prefix: "/" }, direct_response: { status: 502 } }],
      include_request_attempt_count: true,
    };
    const mesh = buildSidecarRouteConfigs(
      snapshotFromYaml(MESH, { outboundTrafficPolicy: "REGISTRY_ONLY" }),
      testProxy(),
    );
    expect(vhost(mesh.get("80")!, "block_all")).toEqual(blockAll);
    const sidecar = `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: default}
spec: {outboundTrafficPolicy: {mode: REGISTRY_ONLY}}
`;
    const scoped = buildSidecarRouteConfigs(snapshotFromYaml(MESH + sidecar), testProxy());
    expect(vhost(scoped.get("80")!, "block_all")).toEqual(blockAll);
    expect(vhost(scoped.get("80")!, "allow_any")).toBeUndefined();
  });

  it("a sniffed service bound to its address: its one virtual host for any authority, no catch-all", () => {
    const config = configs.get("legacy.default.svc.cluster.local:7000")!;
    expect((config.virtual_hosts as JsonObject[]).map((v) => [v.name, v.domains])).toEqual([
      ["legacy.default.svc.cluster.local:7000", ["*"]],
    ]);
  });
});

describe("buildLocalOutboundRouteConfig (15001)", () => {
  const config = buildLocalOutboundRouteConfig(snapshotFromYaml(MESH), testProxy());

  it("encodes, and does not ignore ports (they tell services apart)", () => {
    expectEncodes(config);
    expect(config.name).toBe("15001");
    expect(config.ignore_port_in_host_matching).toBeUndefined();
  });

  it("HTTP services with domain forms carrying the port; bare forms only on port 80", () => {
    expect(vhost(config, "reviews.default.svc.cluster.local:9080")!.domains).toEqual([
      "reviews.default.svc.cluster.local:9080",
      "reviews:9080",
      "reviews.default.svc:9080",
      "reviews.default:9080",
      "10.96.0.10:9080",
    ]);
    expect(vhost(config, "web.default.svc.cluster.local:80")!.domains).toEqual([
      "web.default.svc.cluster.local",
      "web.default.svc.cluster.local:80",
      "web",
      "web:80",
      "web.default.svc",
      "web.default.svc:80",
      "web.default",
      "web.default:80",
    ]);
  });

  it("TCP services: a CONNECT route tunnelling to the clusters of the VirtualService's tcp rule", () => {
    expect(vhost(config, "db.default.svc.cluster.local:5432")).toEqual({
      name: "db.default.svc.cluster.local:5432",
      domains: [
        "db.default.svc.cluster.local:5432",
        "db:5432",
        "db.default.svc:5432",
        "db.default:5432",
      ],
      routes: [
        {
          match: { connect_matcher: {} },
          route: {
            weighted_clusters: {
              clusters: [
                { name: "outbound|5432|primary|db.default.svc.cluster.local", weight: 90 },
                { name: "outbound|5432|replica|db.default.svc.cluster.local", weight: 10 },
              ],
            },
            timeout: "0s",
            upgrade_configs: [{ upgrade_type: "CONNECT", connect_config: {} }],
          },
        },
      ],
      include_request_attempt_count: true,
    });
  });

  it("sniffed ports: the CONNECT tunnel first, then the HTTP routes for absolute-form requests", () => {
    const legacy = vhost(config, "legacy.default.svc.cluster.local:7000")!;
    expect((legacy.routes as Obj[]).map((r) => r.match)).toEqual([
      { connect_matcher: {} },
      { prefix: "/" },
    ]);
    expect(((legacy.routes as Obj[])[0]!.route as Obj).cluster).toBe(
      "outbound|7000||legacy.default.svc.cluster.local",
    );
  });

  it("TLS services: tls rules whose sniHosts name the service; the tcp idleTimeout as the route's", () => {
    const yaml =
      serviceYaml("secure", "default", ["tls:443"]) +
      serviceYaml("other", "default", ["https:443"]) +
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: secure, namespace: default}
spec:
  hosts: [secure, other]
  tls:
  - match: [{port: 443, sniHosts: [elsewhere.example]}]
    route: [{destination: {host: secure, subset: v1}}]
  - match: [{port: 443, sniHosts: [secure.default.svc.cluster.local]}]
    route: [{destination: {host: secure, subset: v2}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: secure, namespace: default}
spec:
  host: secure
  trafficPolicy: {connectionPool: {tcp: {idleTimeout: 90s}}}
---
`;
    const local = buildLocalOutboundRouteConfig(snapshotFromYaml(yaml), testProxy());
    const route = (name: string) => (vhost(local, name)!.routes as Obj[])[0]!.route as Obj;
    expect(route("secure.default.svc.cluster.local:443")).toMatchObject({
      cluster: "outbound|443|v2|secure.default.svc.cluster.local",
      idle_timeout: "90s",
    });
    // No rule names `other`: its own cluster, and no idle timeout (the proxy's 1 h default).
    expect(route("other.default.svc.cluster.local:443").cluster).toBe(
      "outbound|443||other.default.svc.cluster.local",
    );
    expect(route("other.default.svc.cluster.local:443").idle_timeout).toBeUndefined();
  });

  it("the catch-all passes CONNECT and plain requests through (ALLOW_ANY) or refuses them", () => {
    const last = (config.virtual_hosts as JsonObject[]).at(-1)!;
    expect(last.name).toBe("allow_any");
    expect((last.routes as Obj[]).map((r) => [r.match, (r.route as Obj).cluster])).toEqual([
      [{ connect_matcher: {} }, "PassthroughCluster"],
      [{ prefix: "/" }, "PassthroughCluster"],
    ]);
    const blocked = buildLocalOutboundRouteConfig(
      snapshotFromYaml(MESH, { outboundTrafficPolicy: "REGISTRY_ONLY" }),
      testProxy(),
    );
    const blockAll = (blocked.virtual_hosts as JsonObject[]).at(-1)!;
    expect(blockAll.routes).toEqual([
      { name: "block_all", match: { connect_matcher: {} }, direct_response: { status: 502 } },
      { name: "block_all", match: { prefix: "/" }, direct_response: { status: 502 } },
    ]);
    expectEncodes(blocked);
  });

  it("is deterministic", () => {
    expect(buildLocalOutboundRouteConfig(snapshotFromYaml(MESH), testProxy())).toEqual(config);
  });
});

describe("buildProxylessRouteConfig", () => {
  it("names the config as the client's listener, the port's virtual hosts, no catch-all", () => {
    const proxy = testProxy({ kind: "proxyless" });
    const name = "outbound|9080||reviews.default.svc.cluster.local";
    const config = buildProxylessRouteConfig(snapshotFromYaml(MESH), proxy, name)!;
    expectEncodes(config);
    expect(config.name).toBe(name);
    expect((config.virtual_hosts as JsonObject[]).map((v) => v.name)).toEqual([
      "reviews.default.svc.cluster.local:9080",
    ]);
    const [route] = (config.virtual_hosts as JsonObject[])[0]!.routes as Obj[];
    expect(route!.route).toMatchObject({
      timeout: "0s",
      max_stream_duration: { max_stream_duration: "0s" },
    });
    expect(buildProxylessRouteConfig(snapshotFromYaml(MESH), proxy, "9080")).toBeUndefined();
  });
});
