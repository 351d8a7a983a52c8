// The local runtime's HTTP proxy (HTTP_PROXY=<podIP>:15001, route configuration "15001"):
// absolute-form requests routed by authority — port included — and CONNECT tunnels to TCP services.
import { describe, expect, it } from "vitest";
import { type Call, expectCall, sweepClusters } from "../support/simulate.ts";
import { FQDN, istio, outbound, resourcesFor, sidecar, workload } from "./mesh.ts";

const MESH =
  workload("order-service", {
    vip: "10.96.0.40",
    ports: ["http:80"],
    pods: [{ ip: "127.0.10.1" }],
  }) +
  workload("payment-service", {
    vip: "10.96.0.41",
    ports: ["http:80", "tcp-audit:7000"],
    pods: [
      { ip: "127.0.10.2", labels: { version: "v1" } },
      { ip: "127.0.10.3", labels: { version: "v2" } },
    ],
  }) +
  workload("inventory", { vip: "10.96.0.42", ports: ["http:8080"], pods: [{ ip: "127.0.10.4" }] }) +
  istio("DestinationRule", "payment-service", {
    host: "payment-service",
    subsets: [
      { name: "v1", labels: { version: "v1" } },
      { name: "v2", labels: { version: "v2" } },
    ],
  });

const POD_IP = "127.0.10.1";
const orders = sidecar("order-service-1", {
  ip: POD_IP,
  metadata: { CREMA_LOCAL_RUNTIME: "true" },
});
/** A request the app sends through HTTP_PROXY: to the sidecar's bound 15001, authority as written. */
const viaProxy = (host: string, extra: Partial<Call> = {}): Call => ({
  address: POD_IP,
  port: 15001,
  host,
  ...extra,
});

describe("absolute-form requests through the HTTP proxy listener", () => {
  const mesh = resourcesFor(MESH, orders);

  it("http://payment-service/pay reaches payment-service:80 via route configuration 15001", () => {
    expectCall(mesh, viaProxy("payment-service", { path: "/pay" }), {
      listener: "virtualOutbound",
      routeConfig: "15001",
      virtualHost: `${FQDN("payment-service")}:80`,
      cluster: outbound("payment-service", 80),
    });
  });

  it.each([
    "payment-service:80",
    "payment-service.default:80",
    `${FQDN("payment-service")}:80`,
    "10.96.0.41:80",
  ])("%s reaches payment-service", (host) => {
    expectCall(mesh, viaProxy(host), { cluster: outbound("payment-service", 80) });
  });

  it("the port is part of the authority: inventory:8080 routes, bare inventory (port 80) does not", () => {
    expectCall(mesh, viaProxy("inventory:8080"), { cluster: outbound("inventory", 8080) });
    expectCall(mesh, viaProxy("inventory"), {
      virtualHost: "allow_any",
      cluster: "PassthroughCluster",
    });
    expectCall(mesh, viaProxy("payment-service:8080"), { virtualHost: "allow_any:8080" });
  });

  it("VirtualService routes apply to the proxied requests too", () => {
    const vs = istio("VirtualService", "payment-service", {
      hosts: ["payment-service"],
      http: [
        {
          name: "canary",
          match: [{ headers: { "x-canary": { exact: "1" } } }],
          route: [{ destination: { host: "payment-service", subset: "v2" } }],
        },
        { name: "stable", route: [{ destination: { host: "payment-service", subset: "v1" } }] },
      ],
    });
    const routed = resourcesFor(MESH + vs, orders);
    expectCall(routed, viaProxy("payment-service:80", { headers: { "x-canary": "1" } }), {
      route: "canary",
      cluster: outbound("payment-service", 80, "v2"),
    });
    expectCall(routed, viaProxy("payment-service:80"), {
      route: "stable",
      cluster: outbound("payment-service", 80, "v1"),
    });
  });
});

describe("CONNECT through the HTTP proxy listener", () => {
  const connect = (host: string): Call => viaProxy(host, { method: "CONNECT" });

  it("CONNECT payment-service:7000 tunnels to the TCP service's cluster", () => {
    const result = expectCall(resourcesFor(MESH, orders), connect("payment-service:7000"), {
      virtualHost: `${FQDN("payment-service")}:7000`,
      cluster: outbound("payment-service", 7000),
    });
    expect(result.action).toMatchObject({
      kind: "route",
      timeoutMs: 0,
      upgradeConfigs: [{ upgradeType: "connect" }],
    });
  });

  it("CONNECT to an HTTP service finds its virtual host but no route: the proxy terminates it", () => {
    expectCall(resourcesFor(MESH, orders), connect("payment-service:80"), {
      virtualHost: `${FQDN("payment-service")}:80`,
      noRoute: true,
    });
  });

  it("a plain GET to the TCP port has no route (only CONNECT is tunnelled)", () => {
    expectCall(resourcesFor(MESH, orders), viaProxy("payment-service:7000"), { noRoute: true });
  });

  it("a tcp VirtualService's weighted destinations apply to the tunnel", () => {
    const vs = istio("VirtualService", "payment-audit", {
      hosts: ["payment-service"],
      tcp: [
        {
          match: [{ port: 7000 }],
          route: [
            {
              destination: { host: "payment-service", subset: "v1", port: { number: 7000 } },
              weight: 90,
            },
            {
              destination: { host: "payment-service", subset: "v2", port: { number: 7000 } },
              weight: 10,
            },
          ],
        },
      ],
    });
    const mesh = resourcesFor(MESH + vs, orders);
    const v1 = outbound("payment-service", 7000, "v1");
    const v2 = outbound("payment-service", 7000, "v2");
    expect(sweepClusters(mesh, connect("payment-service:7000"), 100)).toEqual({
      [v1]: 90,
      [v2]: 10,
    });
  });

  it("CONNECT to an unknown host: passthrough under ALLOW_ANY, 502 under REGISTRY_ONLY", () => {
    expectCall(resourcesFor(MESH, orders), connect("api.example.com:443"), {
      virtualHost: "allow_any",
      cluster: "PassthroughCluster",
    });
    const strict = resourcesFor(MESH, orders, {
      meshConfig: { outboundTrafficPolicy: "REGISTRY_ONLY" },
    });
    expectCall(strict, connect("api.example.com:443"), {
      virtualHost: "block_all",
      directResponse: { status: 502 },
    });
  });

  it("a request inside a tunnel to an unknown host on an HTTP port meets that port's catch-all", () => {
    // What Node's fetch sends for http://example.org/ behind HTTP_PROXY: CONNECT example.org:80,
    // then plain HTTP with the CONNECT target as authority (the proxy terminates the tunnel
    // because port 80's catch-all has no CONNECT route).
    const strict = resourcesFor(MESH, orders, {
      meshConfig: { outboundTrafficPolicy: "REGISTRY_ONLY" },
    });
    expectCall(strict, viaProxy("example.org:80"), {
      virtualHost: "block_all:80",
      directResponse: { status: 502 },
    });
    expectCall(resourcesFor(MESH, orders), viaProxy("example.org:80"), {
      virtualHost: "allow_any:80",
      cluster: "PassthroughCluster",
    });
  });
});

describe("IPv6 service addresses through the HTTP proxy", () => {
  const mesh = resourcesFor(
    workload("inventory", { vip: "fd00::42", ports: ["http:8080"], pods: [{ ip: "127.0.10.4" }] }),
    orders,
  );

  it("[fd00::42]:8080 reaches inventory; bare [fd00::42] means port 80 and does not", () => {
    expectCall(mesh, viaProxy("[fd00::42]:8080"), { cluster: outbound("inventory", 8080) });
    expectCall(mesh, viaProxy("[fd00::42]"), {
      virtualHost: "allow_any",
      cluster: "PassthroughCluster",
    });
  });
});

describe("CONNECT to external hosts registered by ServiceEntries (REGISTRY_ONLY)", () => {
  const entries =
    istio("ServiceEntry", "payments", {
      hosts: ["api.payments.example.com"],
      location: "MESH_EXTERNAL",
      resolution: "DNS",
      ports: [{ number: 443, name: "tls", protocol: "TLS" }],
    }) +
    istio("ServiceEntry", "wikipedia", {
      hosts: ["*.wikipedia.org"],
      location: "MESH_EXTERNAL",
      resolution: "NONE",
      ports: [{ number: 443, name: "tls", protocol: "TLS" }],
    });
  const mesh = resourcesFor(MESH + entries, orders, {
    meshConfig: { outboundTrafficPolicy: "REGISTRY_ONLY" },
  });
  const connect = (host: string): Call => viaProxy(host, { method: "CONNECT" });

  it("an HTTPS client's CONNECT to a registered host tunnels to its cluster", () => {
    expectCall(mesh, connect("api.payments.example.com:443"), {
      cluster: "outbound|443||api.payments.example.com",
    });
  });

  it("a wildcard host covers its subdomains", () => {
    expectCall(mesh, connect("en.wikipedia.org:443"), { cluster: "outbound|443||*.wikipedia.org" });
  });

  it("anything else is refused with 502", () => {
    expectCall(mesh, connect("api.payments.example.com:8443"), { directResponse: { status: 502 } });
  });
});

describe("inbound in the local runtime", () => {
  it("a call to the pod's own address and port is served by its bound inbound listener", () => {
    expectCall(
      resourcesFor(MESH, orders),
      { address: POD_IP, port: 80, host: "order-service" },
      {
        listener: `${POD_IP}_80`,
        routeConfig: "inbound|80||",
        cluster: "inbound|80||",
      },
    );
  });
});

describe("a protocol-sniffed port through the HTTP proxy", () => {
  const mesh = resourcesFor(
    MESH + workload("legacy", { vip: "10.96.0.43", ports: ["8000"], pods: [{ ip: "127.0.10.5" }] }),
    orders,
  );

  it("absolute-form HTTP is routed and CONNECT is tunnelled, on one virtual host", () => {
    const vhost = `${FQDN("legacy")}:8000`;
    expectCall(mesh, viaProxy("legacy:8000", { path: "/status" }), {
      virtualHost: vhost,
      route: "default",
      cluster: outbound("legacy", 8000),
    });
    const tunnel = expectCall(mesh, viaProxy("legacy:8000", { method: "CONNECT" }), {
      virtualHost: vhost,
      cluster: outbound("legacy", 8000),
    });
    expect(tunnel.action).toMatchObject({ upgradeConfigs: [{ upgradeType: "connect" }] });
  });
});
