// TLS termination as the listener manager runs it over real sockets, with certificates minted by
// crema's CA: mTLS as Istio's inbound chain asks (client certificate required and verified
// against ROOTCA, SAN matchers), HTTP/1.1 and HTTP/2 by ALPN or by preface, the peer identity
// reaching RBAC (HTTP and network filters), and a rotation that new handshakes see while an
// established connection keeps working.
import { X509Certificate } from "node:crypto";
import { connect as h2connect } from "node:http2";
import { request } from "node:https";
import { connect as netConnect } from "node:net";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { StatsStore } from "../stats/stats-store.ts";
import type { TlsCertificate } from "../tls/secret-provider.ts";
import { createTestCa, istioDownstreamTls, StaticSecrets, type TestCa } from "../tls/testing.ts";
import type { ListenerManager } from "./listener-manager.ts";
import {
  applyListeners,
  boundPort,
  greetingManager,
  HCM_TYPE as HCM,
  HTTP_RBAC_TYPE as HTTP_RBAC,
  NETWORK_RBAC_TYPE as NETWORK_RBAC,
  ROUTER_TYPE as ROUTER,
  TCP_PROXY_TYPE as TCP,
} from "./listener-manager-testing.ts";

const SERVER_ID = "spiffe://cluster.local/ns/shop/sa/payments";
const CLIENT_ID = "spiffe://cluster.local/ns/shop/sa/orders";
const OTHER_ID = "spiffe://cluster.local/ns/shop/sa/inventory";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

let ca: TestCa;
let serverCert: TlsCertificate;
let clientCert: TlsCertificate;
let otherCert: TlsCertificate;
let foreignCert: TlsCertificate;
beforeAll(async () => {
  ca = await createTestCa();
  serverCert = await ca.issue({ uris: [SERVER_ID] });
  clientCert = await ca.issue({ uris: [CLIENT_ID] });
  otherCert = await ca.issue({ uris: [OTHER_ID] });
  foreignCert = await (await createTestCa()).issue({ uris: [CLIENT_ID] });
});

function manager(secrets: StaticSecrets, stats = new StatsStore()): ListenerManager {
  const m = greetingManager({ secrets, stats });
  cleanups.push(() => m.close());
  return m;
}

/** ALLOW only the principal `id` (Istio's `principals: [...]` of an AuthorizationPolicy). */
function allowOnly(type: string, id: string): JsonObject {
  return {
    "@type": type,
    ...(type === NETWORK_RBAC ? { stat_prefix: "tcp." } : {}),
    rules: {
      action: "ALLOW",
      policies: {
        "ns[shop]-policy[orders-only]-rule[0]": {
          permissions: [{ any: true }],
          principals: [{ authenticated: { principal_name: { exact: id } } }],
        },
      },
    },
  };
}

function httpListener(transportSocket: JsonObject, httpFilters: JsonObject[] = []): JsonObject {
  return {
    name: "inbound",
    address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": HCM,
              stat_prefix: "inbound_0.0.0.0_8080",
              route_config: {
                name: "r",
                virtual_hosts: [
                  {
                    name: "v",
                    domains: ["*"],
                    routes: [
                      {
                        match: { prefix: "/" },
                        direct_response: { status: 200, body: { inline_string: "ok" } },
                      },
                    ],
                  },
                ],
              },
              http_filters: [...httpFilters, { name: "router", typed_config: { "@type": ROUTER } }],
            },
          },
        ],
        transport_socket: transportSocket,
      },
    ],
  };
}

interface Reply {
  status: number;
  body: string;
  peer: X509Certificate | undefined;
}

/** An HTTPS request trusting crema's root; `cert` is the client certificate, if any. */
function get(port: number, options: { cert?: TlsCertificate } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    request(
      {
        host: "127.0.0.1",
        port,
        path: "/menu",
        ca: ca.rootsPem,
        checkServerIdentity: () => undefined,
        ...(options.cert
          ? { cert: options.cert.certificateChainPem, key: options.cert.privateKeyPem }
          : {}),
        agent: false,
      },
      (res) => {
        // Read now: a keep-alive agent takes the socket back once the response ends.
        const peer = (res.socket as TLSSocket).getPeerX509Certificate();
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.once("end", () => resolve({ status: res.statusCode ?? 0, body, peer }));
      },
    )
      .once("error", reject)
      .end();
  });
}

/** A refused connection: the request fails without a response. */
async function refused(reply: Promise<Reply>): Promise<boolean> {
  return reply.then(
    () => false,
    () => true,
  );
}

/** What a TLS client reads from a TCP chain until the proxy closes. */
function greeting(port: number, cert: TlsCertificate): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      ca: ca.rootsPem,
      cert: cert.certificateChainPem,
      key: cert.privateKeyPem,
      checkServerIdentity: () => undefined,
    });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("error", () => {});
    socket.once("close", () => resolve(text));
  });
}

describe("TLS termination in the listener manager", () => {
  it("serves mTLS, and refuses plaintext, a missing client certificate and a foreign CA", async () => {
    const stats = new StatsStore();
    const m = manager(StaticSecrets.workload(serverCert, ca.rootsPem), stats);
    expect(applyListeners(m, [httpListener(istioDownstreamTls())])).toEqual([]);
    const port = await boundPort(m, "inbound");
    const ok = await get(port, { cert: clientCert });
    expect({ status: ok.status, body: ok.body }).toEqual({ status: 200, body: "ok" });
    expect(ok.peer?.subjectAltName).toBe(`URI:${SERVER_ID}`);
    expect(await refused(get(port))).toBe(true);
    expect(await refused(get(port, { cert: foreignCert }))).toBe(true);
    // A plaintext client gets its connection closed, never an HTTP answer.
    const plain = await new Promise<string>((resolve) => {
      const socket = netConnect(port, "127.0.0.1", () =>
        socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"),
      );
      let text = "";
      socket.on("data", (c: Buffer) => {
        text += c.toString();
      });
      socket.on("error", () => {});
      socket.once("close", () => resolve(text));
    });
    expect(plain).toBe("");
    const prefix = "listener.127.0.0.1_0.ssl.";
    expect(stats.counter(`${prefix}handshake`).value).toBe(1);
    expect(stats.counter(`${prefix}fail_verify_no_cert`).value).toBe(1);
    expect(stats.counter(`${prefix}fail_verify_error`).value).toBe(1);
    expect(stats.counter(`${prefix}connection_error`).value).toBe(1);
  });

  it("lets a client without a certificate in when none is required or validated", async () => {
    const m = manager(StaticSecrets.workload(serverCert, ca.rootsPem));
    const oneWay = {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type":
          "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        common_tls_context: { tls_certificate_sds_secret_configs: [{ name: "default" }] },
      },
    };
    expect(applyListeners(m, [httpListener(oneWay)])).toEqual([]);
    expect((await get(await boundPort(m, "inbound"))).status).toBe(200);
  });

  it("refuses a client whose certificate no SAN matcher accepts", async () => {
    const m = manager(StaticSecrets.workload(serverCert, ca.rootsPem));
    const sans = [{ san_type: "URI", matcher: { exact: CLIENT_ID } }];
    expect(applyListeners(m, [httpListener(istioDownstreamTls(sans))])).toEqual([]);
    const port = await boundPort(m, "inbound");
    expect((await get(port, { cert: clientCert })).status).toBe(200);
    expect(await refused(get(port, { cert: otherCert }))).toBe(true);
  });

  it("refuses connections until the workload certificate arrives", async () => {
    const secrets = new StaticSecrets();
    secrets.setTrustedCa("ROOTCA", ca.rootsPem);
    const m = manager(secrets);
    expect(applyListeners(m, [httpListener(istioDownstreamTls())])).toEqual([]);
    const port = await boundPort(m, "inbound");
    expect(await refused(get(port, { cert: clientCert }))).toBe(true);
    secrets.setCertificate("default", serverCert);
    expect((await get(port, { cert: clientCert })).status).toBe(200);
  });

  it("speaks HTTP/2 when ALPN says h2, and when the decrypted bytes start with the preface", async () => {
    const m = manager(StaticSecrets.workload(serverCert, ca.rootsPem));
    expect(applyListeners(m, [httpListener(istioDownstreamTls())])).toEqual([]);
    const port = await boundPort(m, "inbound");
    const tlsOptions = {
      ca: ca.rootsPem,
      cert: clientCert.certificateChainPem,
      key: clientCert.privateKeyPem,
      checkServerIdentity: () => undefined,
    };
    const h2get = (withAlpn: boolean) =>
      new Promise<{ status: number; alpn: string | false | null | undefined }>(
        (resolve, reject) => {
          const session = h2connect(`https://127.0.0.1:${port}`, {
            ...tlsOptions,
            // Without ALPN the client speaks HTTP/2 by prior knowledge (Istio's `istio-h2`).
            ...(withAlpn
              ? {}
              : {
                  createConnection: () =>
                    tlsConnect({
                      host: "127.0.0.1",
                      port,
                      ...tlsOptions,
                      ALPNProtocols: ["istio-h2"],
                    }),
                }),
          });
          session.on("error", reject);
          const stream = session.request({ ":path": "/menu" });
          stream.on("response", (headers) => {
            resolve({
              status: Number(headers[":status"]),
              alpn: (session.socket as TLSSocket).alpnProtocol,
            });
            session.close();
          });
          stream.on("error", reject);
          stream.end();
        },
      );
    expect(await h2get(true)).toEqual({ status: 200, alpn: "h2" });
    expect((await h2get(false)).status).toBe(200);
  });

  it("hands the peer's SPIFFE identity to the HTTP RBAC filter (authenticated.principal_name)", async () => {
    const m = manager(StaticSecrets.workload(serverCert, ca.rootsPem));
    const rbac = { name: "envoy.filters.http.rbac", typed_config: allowOnly(HTTP_RBAC, CLIENT_ID) };
    expect(applyListeners(m, [httpListener(istioDownstreamTls(), [rbac])])).toEqual([]);
    const port = await boundPort(m, "inbound");
    expect((await get(port, { cert: clientCert })).status).toBe(200);
    const denied = await get(port, { cert: otherCert });
    expect({ status: denied.status, body: denied.body }).toEqual({
      status: 403,
      body: "RBAC: access denied",
    });
  });

  it("hands the peer's identity to the network RBAC filter before the TCP proxy", async () => {
    const m = manager(StaticSecrets.workload(serverCert, ca.rootsPem));
    const listener = {
      name: "tcp",
      address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
      filter_chains: [
        {
          filters: [
            {
              name: "envoy.filters.network.rbac",
              typed_config: allowOnly(NETWORK_RBAC, CLIENT_ID),
            },
            { name: "t", typed_config: { "@type": TCP, stat_prefix: "db", cluster: "c" } },
          ],
          transport_socket: istioDownstreamTls(),
        },
      ],
    };
    expect(applyListeners(m, [listener])).toEqual([]);
    const port = await boundPort(m, "tcp");
    expect(await greeting(port, clientCert)).toBe("hello from db\n");
    expect(await greeting(port, otherCert)).toBe("");
  });

  it("presents a rotated certificate on new handshakes while established connections keep going", async () => {
    const secrets = StaticSecrets.workload(serverCert, ca.rootsPem);
    const m = manager(secrets);
    expect(applyListeners(m, [httpListener(istioDownstreamTls())])).toEqual([]);
    const port = await boundPort(m, "inbound");
    // An established connection: HTTP/1.1 keep-alive requests written by hand.
    const kept = tlsConnect({
      host: "127.0.0.1",
      port,
      ca: ca.rootsPem,
      cert: clientCert.certificateChainPem,
      key: clientCert.privateKeyPem,
      checkServerIdentity: () => undefined,
    });
    cleanups.push(() => kept.destroy());
    const ask = () =>
      new Promise<string>((resolve) => {
        let text = "";
        const onData = (chunk: Buffer): void => {
          text += chunk.toString();
          if (!text.endsWith("\r\n\r\nok")) return;
          kept.off("data", onData);
          resolve(text.slice(0, text.indexOf("\r\n")));
        };
        kept.on("data", onData);
        kept.write("GET /menu HTTP/1.1\r\nhost: payments\r\n\r\n");
      });
    expect(await ask()).toBe("HTTP/1.1 200 OK");
    const before = kept.getPeerX509Certificate();
    expect(before?.subjectAltName).toBe(`URI:${SERVER_ID}`);
    const rotated = await ca.issue({ uris: [SERVER_ID] });
    secrets.setCertificate("default", rotated);
    const fresh = await get(port, { cert: clientCert });
    expect(fresh.status).toBe(200);
    expect(fresh.peer?.raw.equals(new X509Certificate(rotated.certificateChainPem).raw)).toBe(true);
    expect(before?.raw.equals(fresh.peer!.raw)).toBe(false);
    // The connection from before the rotation (its session, its certificate) keeps serving.
    expect(await ask()).toBe("HTTP/1.1 200 OK");
  });
});
