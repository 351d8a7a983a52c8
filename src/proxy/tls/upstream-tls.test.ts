// TLS origination against real node:tls upstreams, with certificates minted by crema's CA: the
// SNI and ALPN list the cluster asks for, the workload certificate presented, the server judged
// by ROOTCA and the destination's SPIFFE identity (or not at all without a validation context),
// and every failure a connect failure (UF) with Envoy's transport failure text — through dial()
// (TCP proxy, upgrades) and both HTTP pools.

import { createSecureServer, type Http2SecureServer } from "node:http2";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { createServer as createTlsServer, type Server, type TLSSocket } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { JsonObject } from "../../xds/proto-json.ts";
import { ConnectionPools } from "../hcm/upstream-pools.ts";
import type { UpstreamHttpProtocol, UpstreamTarget } from "../hcm/upstream-types.ts";
import { readerFor } from "../upstream/decode-fields.ts";
import { DialError, dial, TLS_VERIFY_FAILED, type UpstreamTls } from "../upstream/dial.ts";
import { decodeUpstreamTransportSocket } from "./decode-tls-context.ts";
import { NO_SECRETS, type SecretProvider, type TlsCertificate } from "./secret-provider.ts";
import { SECRET_NOT_READY } from "./secure-context.ts";
import { createTestCa, istioUpstreamTls, StaticSecrets, type TestCa } from "./testing.ts";
import type { UpstreamSslInfo } from "./upstream-ssl-info.ts";
import { UpstreamTlsConnector } from "./upstream-tls.ts";

const SERVER_ID = "spiffe://cluster.local/ns/shop/sa/payments";
const CLIENT_ID = "spiffe://cluster.local/ns/shop/sa/orders";
const SNI = "outbound_.8080_._.payments.shop.svc.cluster.local";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

let ca: TestCa;
let serverCert: TlsCertificate;
let clientCert: TlsCertificate;
beforeAll(async () => {
  ca = await createTestCa();
  serverCert = await ca.issue({ uris: [SERVER_ID] });
  clientCert = await ca.issue({ uris: [CLIENT_ID] });
});

function tlsFor(json: JsonObject, secrets: SecretProvider): UpstreamTls {
  const errors: string[] = [];
  const socket = decodeUpstreamTransportSocket(readerFor(errors, json, "")!);
  if (errors.length > 0 || socket.kind !== "tls") throw new Error(errors.join("\n"));
  const connector = new UpstreamTlsConnector(secrets);
  closers.push(() => connector.close());
  return { connector, target: { config: socket.tls, key: socket.key } };
}

interface Seen {
  servername: string | false | null | undefined;
  offered: string[];
  clientSans: string | undefined;
  bytes: string;
}

/** A TLS echo server presenting `cert`, asking for a client certificate, recording what it saw. */
async function echoServer(cert = serverCert): Promise<{ port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const offered: string[][] = [];
  const server: Server = createTlsServer(
    {
      cert: cert.certificateChainPem,
      key: cert.privateKeyPem,
      ca: ca.rootsPem,
      requestCert: true,
      rejectUnauthorized: false,
      ALPNCallback: ({ protocols }) => {
        offered.push(protocols);
        return protocols[0];
      },
    },
    (socket: TLSSocket) => {
      const entry: Seen = {
        servername: socket.servername,
        offered: offered.shift() ?? [],
        clientSans: socket.getPeerX509Certificate()?.subjectAltName,
        bytes: "",
      };
      seen.push(entry);
      socket.on("data", (chunk: Buffer) => {
        entry.bytes += chunk.toString();
        socket.write(chunk);
      });
      socket.on("error", () => {});
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(() => server.close());
  return { port: (server.address() as AddressInfo).port, seen };
}

const dialTls = (port: number, tls: UpstreamTls) =>
  dial({ address: "127.0.0.1", port, connectTimeoutMs: 5000, tls });

async function echo(port: number, tls: UpstreamTls): Promise<string> {
  const socket = await dialTls(port, tls);
  closers.push(() => socket.destroy());
  socket.write("ping");
  return new Promise((resolve) =>
    socket.once("data", (chunk: Buffer) => resolve(chunk.toString())),
  );
}

async function failure(promise: Promise<unknown>): Promise<DialError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof DialError)) throw new Error(`expected a DialError, got ${String(error)}`);
  return error;
}

describe("dial with an UpstreamTlsContext", () => {
  const workload = () => StaticSecrets.workload(clientCert, ca.rootsPem);

  it("sends SNI and the ALPN list, presents the workload certificate and verifies the server", async () => {
    const { port, seen } = await echoServer();
    const tls = tlsFor(istioUpstreamTls({ sni: SNI, identity: SERVER_ID }), workload());
    expect(await echo(port, tls)).toBe("ping");
    expect(seen).toEqual([
      {
        servername: SNI,
        offered: ["istio-peer-exchange", "istio"],
        clientSans: `URI:${CLIENT_ID}`,
        bytes: "ping",
      },
    ]);
  });

  it("refuses a server whose SPIFFE identity is not the destination's, before sending a byte", async () => {
    const { port, seen } = await echoServer();
    const tls = tlsFor(
      istioUpstreamTls({ sni: SNI, identity: "spiffe://cluster.local/ns/shop/sa/other" }),
      workload(),
    );
    const error = await failure(
      dialTls(port, tls).then((socket) => {
        socket.write("secret");
        return socket;
      }),
    );
    expect(error.reason).toBe("remote_connection_failure");
    expect(error.transportFailureReason).toBe(TLS_VERIFY_FAILED);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen.map((s) => s.bytes).join("")).toBe("");
  });

  it("refuses a server from another CA, and accepts any without a validation context", async () => {
    const foreign = await (await createTestCa()).issue({ uris: [SERVER_ID] });
    const { port } = await echoServer(foreign);
    const strict = tlsFor(istioUpstreamTls({ sni: SNI, identity: SERVER_ID }), workload());
    expect((await failure(dialTls(port, strict))).transportFailureReason).toBe(TLS_VERIFY_FAILED);
    const simple = tlsFor(
      {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type":
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
          sni: "payments.example.com",
        },
      },
      NO_SECRETS,
    );
    expect(await echo(port, simple)).toBe("ping");
  });

  it("fails as Envoy does while the workload certificate has not arrived", async () => {
    const { port, seen } = await echoServer();
    const tls = tlsFor(istioUpstreamTls({ sni: SNI }), NO_SECRETS);
    const error = await failure(dialTls(port, tls));
    expect(error.reason).toBe("local_connection_failure");
    expect(error.transportFailureReason).toBe(SECRET_NOT_READY);
    expect(seen).toEqual([]);
  });

  it("reports a handshake the server rejects in Envoy's TLS_error shape", async () => {
    const server = createTlsServer({
      cert: serverCert.certificateChainPem,
      key: serverCert.privateKeyPem,
      ca: ca.rootsPem,
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => server.close());
    // No client certificate: a TLS 1.2 server refuses within the handshake.
    const tls = tlsFor(
      {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type":
            "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        },
      },
      NO_SECRETS,
    );
    const error = await failure(dialTls((server.address() as AddressInfo).port, tls));
    expect(error.transportFailureReason).toMatch(/^TLS_error:\|.+:TLS_error_end$/);
  });
});

describe("HTTP pools with an UpstreamTlsContext", () => {
  const target = (
    port: number,
    protocol: UpstreamHttpProtocol,
    tls: UpstreamTls,
  ): UpstreamTarget => ({
    address: "127.0.0.1",
    port,
    protocol,
    connectTimeoutMs: 5000,
    idleTimeoutMs: 60_000,
    tls,
  });

  /** What each attempt's onConnected said of its connection's certificates. */
  const connected: (UpstreamSslInfo | undefined)[] = [];

  function get(pools: ConnectionPools, t: UpstreamTarget): Promise<string> {
    return new Promise((resolve, reject) => {
      const attempt = pools.start(
        t,
        { method: "GET", path: "/", authority: "payments", scheme: "http", headers: {} },
        {
          onConnected: (ssl) => connected.push(ssl),
          onResponse: (response) => {
            let body = "";
            response.body.on("data", (c: Buffer) => {
              body += c.toString();
            });
            response.body.on("end", () => resolve(`${response.status} ${body}`));
          },
          onReset: (reason, transport) => reject(new DialError(reason, transport ?? "")),
        },
      );
      attempt.end();
    });
  }

  async function servers(): Promise<{ h1: number; h2: number }> {
    const options = {
      cert: serverCert.certificateChainPem,
      key: serverCert.privateKeyPem,
      ca: ca.rootsPem,
      requestCert: true,
    };
    const who = (socket: TLSSocket) => socket.getPeerX509Certificate()?.subjectAltName ?? "none";
    const h1 = createHttpsServer(options, (req, res) => res.end(who(req.socket as TLSSocket)));
    const h2: Http2SecureServer = createSecureServer(options, (req, res) =>
      res.end(`h2 ${who(req.socket as unknown as TLSSocket)}`),
    );
    for (const s of [h1, h2]) {
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
      closers.push(() => s.close());
    }
    return {
      h1: (h1.address() as AddressInfo).port,
      h2: (h2.address() as AddressInfo).port,
    };
  }

  it("speaks HTTP/1.1 and HTTP/2 over mTLS, each pool apart from a plaintext one", async () => {
    connected.length = 0;
    const { h1, h2 } = await servers();
    const secrets = StaticSecrets.workload(clientCert, ca.rootsPem);
    const pools = new ConnectionPools();
    closers.push(() => pools.close());
    // node's servers answer an ALPN list without their protocol with a fatal alert.
    const http1 = tlsFor(
      istioUpstreamTls({ sni: SNI, identity: SERVER_ID, alpn: ["istio", "http/1.1"] }),
      secrets,
    );
    const http2 = tlsFor(
      istioUpstreamTls({
        sni: SNI,
        identity: SERVER_ID,
        alpn: ["istio-peer-exchange", "istio", "h2"],
      }),
      secrets,
    );
    expect(await get(pools, target(h1, "http1", http1))).toBe(`200 URI:${CLIENT_ID}`);
    expect(await get(pools, target(h1, "http1", http1))).toBe(`200 URI:${CLIENT_ID}`);
    expect(await get(pools, target(h2, "http2", http2))).toBe(`200 h2 URI:${CLIENT_ID}`);
    expect(await get(pools, target(h2, "http2", http2))).toBe(`200 h2 URI:${CLIENT_ID}`);
    expect(pools.size).toBe(2);
    // Every stream, on a new connection or a pooled one, learns both SPIFFE ids.
    const ids = { peerUriSan: SERVER_ID, localUriSan: CLIENT_ID };
    expect(connected).toEqual([ids, ids, ids, ids]);
  });

  it("fails a stream as a connect failure when the server is not the destination", async () => {
    const { h1, h2 } = await servers();
    const secrets = StaticSecrets.workload(clientCert, ca.rootsPem);
    const pools = new ConnectionPools();
    closers.push(() => pools.close());
    const wrong = tlsFor(
      istioUpstreamTls({
        sni: SNI,
        identity: "spiffe://cluster.local/ns/shop/sa/other",
        alpn: ["h2", "http/1.1"],
      }),
      secrets,
    );
    for (const [port, protocol] of [
      [h1, "http1"],
      [h2, "http2"],
    ] as const) {
      const error = await get(pools, target(port, protocol, wrong)).then(
        () => undefined,
        (e: DialError) => e,
      );
      expect({ reason: error?.reason, text: error?.transportFailureReason }).toEqual({
        reason: "remote_connection_failure",
        text: TLS_VERIFY_FAILED,
      });
    }
  });
});
