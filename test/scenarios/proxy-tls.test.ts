// Istio mTLS between two real proxies (in-process `startProxy`, configured by an in-process ADS
// server the way Istio configures sidecars): the client sidecar's auto-mTLS cluster opens TLS to
// endpoints labelled `tlsMode: istio` with the workload certificate and checks the server's SPIFFE
// identity; the server sidecar terminates it, lets only the allowed principal through (RBAC
// `authenticated.principal_name`) and tells the app who called (x-forwarded-client-cert). A
// workload without a sidecar (plaintext) and one with the wrong identity are refused.
// Loopback subnet 48.
import { createHash, X509Certificate } from "node:crypto";
import { request } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/base/logger.ts";
import { type EchoServer, startEchoServer } from "../../src/echo/index.ts";
import { type RunningProxy, startProxy } from "../../src/proxy/proxy.ts";
import type { TlsCertificate } from "../../src/proxy/tls/secret-provider.ts";
import {
  createTestCa,
  istioDownstreamTls,
  istioUpstreamTls,
  StaticSecrets,
  type TestCa,
} from "../../src/proxy/tls/testing.ts";
import type { JsonObject } from "../../src/xds/proto-json.ts";
import { AdsServer } from "../../src/xds/server/index.ts";
import { CDS, FakeSource, LDS } from "../../src/xds/server/test-support.ts";

const ip = (host: number, n = 1) => `127.48.${host}.${n}`;
const XDS_IP = ip(9);
const PAYMENTS_IP = ip(1);
const APP_IP = ip(1, 2);
const ORDERS_IP = ip(2);
const INVENTORY_IP = ip(3);
const OUTBOUND_PORT = 8000;
const INBOUND_PORT = 15006;
const TCP_PORT = 9000;
const INBOUND_TCP_PORT = 15007;
const TCP_PROXY = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";

const PAYMENTS_ID = "spiffe://cluster.local/ns/shop/sa/payments";
const ORDERS_ID = "spiffe://cluster.local/ns/shop/sa/orders";
const INVENTORY_ID = "spiffe://cluster.local/ns/shop/sa/inventory";

const HCM =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = {
  name: "envoy.filters.http.router",
  typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" },
};
const RAW = {
  name: "envoy.transport_sockets.raw_buffer",
  typed_config: {
    "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer",
  },
};

const nodeId = (podIp: string, pod: string) =>
  `sidecar~${podIp}~${pod}.shop~shop.svc.cluster.local`;

function hcm(
  statPrefix: string,
  cluster: string,
  extra: JsonObject = {},
  filters: JsonObject[] = [],
) {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: {
      "@type": HCM,
      stat_prefix: statPrefix,
      route_config: {
        name: statPrefix,
        virtual_hosts: [
          { name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster } }] },
        ],
      },
      http_filters: [...filters, ROUTER],
      ...extra,
    },
  };
}

/** The server sidecar: mTLS in, only `orders` allowed, XFCC for the app, then the app. */
function inboundListener(): JsonObject {
  const rbac = {
    name: "envoy.filters.http.rbac",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
      rules: {
        action: "ALLOW",
        policies: {
          "ns[shop]-policy[payments]-rule[0]": {
            permissions: [{ any: true }],
            principals: [{ authenticated: { principal_name: { exact: ORDERS_ID } } }],
          },
        },
      },
    },
  };
  return {
    name: "virtualInbound",
    address: { socket_address: { address: PAYMENTS_IP, port_value: INBOUND_PORT } },
    filter_chains: [
      {
        filter_chain_match: { transport_protocol: "tls" },
        filters: [
          hcm(
            "inbound_0.0.0.0_8080",
            "inbound|8080||",
            {
              forward_client_cert_details: "SANITIZE_SET",
              set_current_client_cert_details: { subject: true, uri: true },
            },
            [rbac],
          ),
        ],
        transport_socket: istioDownstreamTls(),
      },
    ],
    listener_filters: [
      {
        name: "envoy.filters.listener.tls_inspector",
        typed_config: {
          "@type":
            "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
        },
      },
    ],
  };
}

function staticCluster(name: string, address: string, port: number, extra: JsonObject = {}) {
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address, port_value: port } } },
              metadata: {
                filter_metadata: { "envoy.transport_socket_match": { tlsMode: "istio" } },
              },
            },
          ],
        },
      ],
    },
    ...extra,
  };
}

const tcpProxy = (cluster: string) => ({
  name: "envoy.filters.network.tcp_proxy",
  typed_config: { "@type": TCP_PROXY, stat_prefix: cluster, cluster },
});

/** TCP over mTLS: the server sidecar's TLS chain in front of a TCP proxy to the app. */
function inboundTcpListener(): JsonObject {
  return {
    name: "inbound_tcp",
    address: { socket_address: { address: PAYMENTS_IP, port_value: INBOUND_TCP_PORT } },
    filter_chains: [
      { filters: [tcpProxy("inbound|9000||")], transport_socket: istioDownstreamTls() },
    ],
  };
}

function autoMtls(name: string, port: number): JsonObject {
  return staticCluster(name, PAYMENTS_IP, port, {
    transport_socket_matches: [
      {
        name: "tlsMode-istio",
        match: { tlsMode: "istio" },
        transport_socket: istioUpstreamTls({
          sni: `outbound_.${port}_._.payments.shop.svc.cluster.local`,
          identity: PAYMENTS_ID,
        }),
      },
      { name: "tlsMode-disabled", match: {}, transport_socket: RAW },
    ],
  });
}

/** A client sidecar: plaintext from its app, Istio's auto-mTLS cluster to payments. */
function outbound(podIp: string): { listener: JsonObject; cluster: JsonObject } {
  const name = "outbound|8080||payments.shop.svc.cluster.local";
  return {
    listener: {
      name: "0.0.0.0_8080",
      address: { socket_address: { address: podIp, port_value: OUTBOUND_PORT } },
      filter_chains: [{ filters: [hcm("outbound_0.0.0.0_8080", name)] }],
    },
    cluster: autoMtls(name, INBOUND_PORT),
  };
}

interface Reply {
  status: number;
  body: string;
}

function get(host: string, port: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    request({ host, port, path: "/pay", agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on("error", reject)
      .end();
  });
}

describe("Istio mTLS between two proxies", () => {
  let ca: TestCa;
  let certs: Record<"payments" | "orders" | "inventory", TlsCertificate>;
  let echo: EchoServer;
  let tcpEcho: Server;
  let grpc: GrpcServer;
  let ads: AdsServer;
  const proxies: RunningProxy[] = [];
  const source = new FakeSource();

  async function sidecar(podIp: string, pod: string, cert: TlsCertificate): Promise<RunningProxy> {
    const proxy = await startProxy({
      xdsAddress: `${XDS_IP}:${xdsPort}`,
      node: { id: nodeId(podIp, pod), cluster: `${pod}.shop` },
      type: "sidecar",
      adminAddress: { host: podIp, port: 0 },
      sourceAddress: podIp,
      secrets: StaticSecrets.workload(cert, ca.rootsPem),
      drainTimeMs: 0,
      logger: silentLogger(),
    });
    proxies.push(proxy);
    await proxy.ready;
    return proxy;
  }
  let xdsPort = 0;

  beforeAll(async () => {
    ca = await createTestCa();
    certs = {
      payments: await ca.issue({ uris: [PAYMENTS_ID] }),
      orders: await ca.issue({ uris: [ORDERS_ID] }),
      inventory: await ca.issue({ uris: [INVENTORY_ID] }),
    };
    echo = await startEchoServer({
      host: APP_IP,
      port: 8080,
      pod: "payments-0",
      namespace: "shop",
      version: "v1",
      logger: silentLogger(),
    });
    tcpEcho = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => tcpEcho.listen(TCP_PORT, APP_IP, resolve));
    const payments = nodeId(PAYMENTS_IP, "payments-0");
    source.set(LDS, "inbound_tcp", inboundTcpListener(), payments);
    source.set(CDS, "inbound|9000||", staticCluster("inbound|9000||", APP_IP, TCP_PORT), payments);
    const orders = nodeId(ORDERS_IP, "orders-0");
    const tcpCluster = "outbound|9000||payments.shop.svc.cluster.local";
    source.set(CDS, tcpCluster, autoMtls(tcpCluster, INBOUND_TCP_PORT), orders);
    source.set(
      LDS,
      "0.0.0.0_9000",
      {
        name: "0.0.0.0_9000",
        address: { socket_address: { address: ORDERS_IP, port_value: TCP_PORT } },
        filter_chains: [{ filters: [tcpProxy(tcpCluster)] }],
      },
      orders,
    );
    source.set(LDS, "virtualInbound", inboundListener(), payments);
    source.set(CDS, "inbound|8080||", staticCluster("inbound|8080||", APP_IP, 8080), payments);
    for (const [podIp, pod] of [
      [ORDERS_IP, "orders-0"],
      [INVENTORY_IP, "inventory-0"],
    ] as const) {
      const { listener, cluster } = outbound(podIp);
      source.set(LDS, listener.name as string, listener, nodeId(podIp, pod));
      source.set(CDS, cluster.name as string, cluster, nodeId(podIp, pod));
    }
    ads = new AdsServer(source, { logger: silentLogger() });
    grpc = new GrpcServer();
    ads.bind(grpc);
    xdsPort = await new Promise<number>((resolve, reject) =>
      grpc.bindAsync(`${XDS_IP}:0`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    await sidecar(PAYMENTS_IP, "payments-0", certs.payments);
    await sidecar(ORDERS_IP, "orders-0", certs.orders);
    await sidecar(INVENTORY_IP, "inventory-0", certs.inventory);
  }, 30_000);

  afterAll(async () => {
    for (const proxy of proxies) await proxy.close();
    await ads?.close();
    await new Promise<void>((resolve) => (grpc ? grpc.tryShutdown(() => resolve()) : resolve()));
    await echo?.stop({ drainTimeoutMs: 0 });
    tcpEcho?.close();
  });

  it("carries a call over mTLS and tells the app the caller's identity in XFCC", async () => {
    const reply = await get(ORDERS_IP, OUTBOUND_PORT);
    expect(reply.status).toBe(200);
    const { headers } = JSON.parse(reply.body) as { headers: Record<string, string> };
    const hash = createHash("sha256")
      .update(new X509Certificate(certs.orders.certificateChainPem).raw)
      .digest("hex");
    expect(headers["x-forwarded-client-cert"]).toBe(
      `By=${PAYMENTS_ID};Hash=${hash};Subject="";URI=${ORDERS_ID}`,
    );
  });

  it("answers another identity 403 from the server sidecar's RBAC", async () => {
    expect(await get(INVENTORY_IP, OUTBOUND_PORT)).toEqual({
      status: 403,
      body: "RBAC: access denied",
    });
  });

  it("carries TCP over mTLS through both sidecars' TCP proxies", async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(TCP_PORT, ORDERS_IP, () => socket.write("ping"));
      socket.once("data", (chunk: Buffer) => {
        resolve(chunk.toString());
        socket.destroy();
      });
      socket.once("error", reject);
    });
    expect(reply).toBe("ping");
  });

  it("resets a workload without a sidecar (plaintext) instead of answering it", async () => {
    await expect(get(PAYMENTS_IP, INBOUND_PORT)).rejects.toThrow();
  });
});
