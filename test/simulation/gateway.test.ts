// Calls into an ingress gateway: VirtualServices bound to its Gateway (merged per host, catch-alls
// last), 404 when nothing is bound, TLS passthrough by SNI, TCP weighted, local-runtime ports.
import { describe, expect, it } from "vitest";
import { expectCall, sweepClusters } from "../support/simulate.ts";
import { gateway, istio, namespaces, outbound, resourcesFor, workload } from "./mesh.ts";

const SERVICES =
  namespaces("default", "istio-system") +
  workload("frontend", { vip: "10.96.0.20", ports: ["http:8080"], pods: [{ ip: "10.0.0.20" }] }) +
  workload("cart", { vip: "10.96.0.21", ports: ["http:8080"], pods: [{ ip: "10.0.0.21" }] }) +
  workload("catalog", { vip: "10.96.0.22", ports: ["http:8080"], pods: [{ ip: "10.0.0.22" }] }) +
  workload("my-nginx", { vip: "10.96.0.23", ports: ["https:443"], pods: [{ ip: "10.0.0.23" }] }) +
  workload("tcp-echo", {
    vip: "10.96.0.24",
    ports: ["tcp:9000"],
    pods: [
      { ip: "10.0.0.24", labels: { version: "v1" } },
      { ip: "10.0.0.25", labels: { version: "v2" } },
    ],
  }) +
  istio("DestinationRule", "tcp-echo", {
    host: "tcp-echo",
    subsets: [
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ],
  });
const MESH =
  SERVICES +
  istio("Gateway", "shop", {
    selector: { istio: "ingressgateway" },
    servers: [
      { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*.example.com"] },
      {
        port: { number: 8081, name: "http-admin", protocol: "HTTP" },
        hosts: ["admin.example.com"],
      },
      {
        port: { number: 443, name: "tls", protocol: "TLS" },
        hosts: ["nginx.example.com"],
        tls: { mode: "PASSTHROUGH" },
      },
      { port: { number: 31400, name: "tcp", protocol: "TCP" }, hosts: ["*"] },
    ],
  });

const to = (host: string) => ({ route: [{ destination: { host, port: { number: 8080 } } }] });
// Created in this order: the catch-all VirtualService first.
const ROUTES =
  istio("VirtualService", "frontend", {
    hosts: ["shop.example.com"],
    gateways: ["shop"],
    http: [{ name: "frontend", ...to("frontend") }],
  }) +
  istio("VirtualService", "cart", {
    hosts: ["shop.example.com"],
    gateways: ["shop"],
    http: [{ name: "cart", match: [{ uri: { prefix: "/cart" } }], ...to("cart") }],
  }) +
  istio("VirtualService", "catalog", {
    hosts: ["shop.example.com"],
    gateways: ["default/shop"],
    http: [{ name: "catalog", match: [{ uri: { prefix: "/catalog" } }], ...to("catalog") }],
  }) +
  istio("VirtualService", "mesh-only", {
    hosts: ["mesh.example.com"],
    http: [{ name: "mesh-only", ...to("frontend") }],
  });

const ingress = gateway("istio-ingressgateway-1", { ip: "10.0.1.1" });
const shop = (path: string, host = "shop.example.com") => ({ port: 80, host, path });

describe("HTTP through the gateway", () => {
  const mesh = resourcesFor(MESH + ROUTES, ingress);

  it("several VirtualServices for one host merge; the catch-all comes last", () => {
    const vhost = "shop.example.com:80";
    expectCall(mesh, shop("/cart/items"), {
      listener: "0.0.0.0_80",
      routeConfig: "http.80",
      virtualHost: vhost,
      route: "cart",
      cluster: outbound("cart", 8080),
    });
    expectCall(mesh, shop("/catalog"), {
      virtualHost: vhost,
      route: "catalog",
      cluster: outbound("catalog", 8080),
    });
    expectCall(mesh, shop("/"), {
      virtualHost: vhost,
      route: "frontend",
      cluster: outbound("frontend", 8080),
    });
  });

  it("a host the server accepts but no VirtualService serves gets 404 (no route)", () => {
    expectCall(mesh, shop("/", "other.example.com"), { routeConfig: "http.80", noRoute: true });
  });

  it("a VirtualService not bound to the Gateway does not apply", () => {
    expectCall(mesh, shop("/", "mesh.example.com"), { noRoute: true });
  });

  it("a server with nothing bound answers every call with 404", () => {
    expectCall(
      mesh,
      { port: 8081, host: "admin.example.com" },
      { routeConfig: "http.8081", noRoute: true },
    );
  });

  it("the port in the Host header does not matter on a gateway", () => {
    expectCall(mesh, shop("/cart", "shop.example.com:80"), { route: "cart" });
  });

  it("a port without a server has no listener", () => {
    expectCall(
      mesh,
      { port: 8443, host: "shop.example.com" },
      { listener: "", error: "no listener matched" },
    );
  });
});

describe("TLS passthrough and TCP on the gateway", () => {
  const tls = istio("VirtualService", "nginx", {
    hosts: ["nginx.example.com"],
    gateways: ["shop"],
    tls: [
      {
        match: [{ port: 443, sniHosts: ["nginx.example.com"] }],
        route: [{ destination: { host: "my-nginx", port: { number: 443 } } }],
      },
    ],
  });
  const tcp = istio("VirtualService", "tcp-echo", {
    hosts: ["*"],
    gateways: ["shop"],
    tcp: [
      {
        match: [{ port: 31400 }],
        route: [
          { destination: { host: "tcp-echo", port: { number: 9000 }, subset: "v1" }, weight: 80 },
          { destination: { host: "tcp-echo", port: { number: 9000 }, subset: "v2" }, weight: 20 },
        ],
      },
    ],
  });
  const mesh = resourcesFor(MESH + tls + tcp, ingress);

  it("TLS with SNI nginx.example.com is relayed to my-nginx", () => {
    expectCall(
      mesh,
      { port: 443, host: "nginx.example.com", sni: "nginx.example.com", protocol: "tls" },
      {
        listener: "0.0.0.0_443",
        cluster: outbound("my-nginx", 443),
      },
    );
  });

  it("TLS with an SNI no route names finds no filter chain", () => {
    expectCall(
      mesh,
      { port: 443, host: "x", sni: "evil.example.com", protocol: "tls" },
      { error: "no filter chain matched" },
    );
  });

  it("TCP on 31400 splits 80/20 across the subsets", () => {
    const call = { port: 31400, host: "", protocol: "tcp" as const };
    const v1 = outbound("tcp-echo", 9000, "v1");
    const v2 = outbound("tcp-echo", 9000, "v2");
    expectCall(mesh, call, {
      listener: "0.0.0.0_31400",
      weightedClusters: [
        { name: v1, weight: 80 },
        { name: v2, weight: 20 },
      ],
    });
    expect(sweepClusters(mesh, call, 100)).toEqual({ [v1]: 80, [v2]: 20 });
  });
});

describe("gateway in the local runtime", () => {
  it("a FROM_REQUEST_PORT redirect names the port clients connect to", () => {
    const vs = istio("VirtualService", "moved", {
      hosts: ["admin.example.com"],
      gateways: ["shop"],
      http: [{ name: "moved", redirect: { uri: "/new", derivePort: "FROM_REQUEST_PORT" } }],
    });
    const call = { port: 8081, host: "admin.example.com", path: "/old" };
    const standard = resourcesFor(MESH + vs, ingress);
    expectCall(standard, call, { redirect: "http://admin.example.com:8081/new" });
    // The local runtime binds server port 8081 on 9081: that is the request's port.
    const local = resourcesFor(MESH + vs, ingress, {
      mode: "local",
      meshConfig: { ingressGatewayPorts: { 8081: 9081 } },
    });
    // Locally the gateway binds its own pod IP, which is where the runtime forwards host ports.
    expectCall(
      local,
      { ...call, address: "10.0.1.1", port: 9081 },
      { redirect: "http://admin.example.com:9081/new" },
    );
  });

  it("binds the remapped port and routes as on the server port", () => {
    const mesh = resourcesFor(MESH + ROUTES, ingress, {
      mode: "local",
      meshConfig: { ingressGatewayPorts: { 80: 8080 } },
    });
    expectCall(
      mesh,
      { address: "10.0.1.1", port: 8080, host: "shop.example.com", path: "/cart" },
      {
        listener: "0.0.0.0_8080",
        routeConfig: "http.80",
        cluster: outbound("cart", 8080),
      },
    );
  });
});
