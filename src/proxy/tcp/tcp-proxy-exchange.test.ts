// TCP proxy sessions running Istio's metadata exchange over real loopback sockets: the server's
// side on a downstream connection that negotiated `istio-peer-exchange` (the chain's filter), the
// client's on an upstream mTLS connection that did (the cluster's filter). Each side writes its
// frame first and takes the peer's off the stream; the apps' bytes pass unchanged; the peer names
// the metrics; a peer that sends no frame, or a broken one, neither hangs nor crashes anything.
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { manualClock } from "../../base/clock.ts";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import type { ConnectionInfo, TcpProxyConfig } from "../listener/types.ts";
import { StatsStore } from "../stats/stats-store.ts";
import { ProxyTelemetry } from "../telemetry/proxy-telemetry.ts";
import {
  decodeStatsFilterConfig,
  type StatsFilterConfig,
} from "../telemetry/stats-filter-config.ts";
import {
  ExchangePayloadDecoder,
  ExchangeReader,
  encodeExchangeFrame,
} from "../telemetry/tcp-metadata-exchange.ts";
import { localWorkloadFromNode, type WorkloadMetadata } from "../telemetry/workload-labels.ts";
import type { TlsCertificate } from "../tls/secret-provider.ts";
import { createTestCa, istioUpstreamTls, StaticSecrets, type TestCa } from "../tls/testing.ts";
import { UpstreamTlsConnector } from "../tls/upstream-tls.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import { startTcpProxy, type TcpProxyOptions, type TcpProxySession } from "./tcp-proxy.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const node = (name: string, app: string, version: string) => ({
  id: `sidecar~10.0.0.1~${name}.default~default.svc.cluster.local`,
  metadata: {
    NAMESPACE: "default",
    WORKLOAD_NAME: name,
    CLUSTER_ID: "Kubernetes",
    LABELS: { app, version },
  },
});
const SLEEP_NODE = node("sleep", "sleep", "v2");
const ECHO_NODE = node("echo-1", "echo", "v1");
const EXCHANGE = { protocol: "istio-peer-exchange" };
const MX_FILTER = {
  name: "istio.metadata_exchange",
  typed_config: {
    "@type": "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange",
    protocol: "istio-peer-exchange",
  },
};

function statsConfig(): StatsFilterConfig {
  const decoded = decodeStatsFilterConfig({});
  if (!decoded.ok) throw new Error(decoded.errors.join("; "));
  return decoded.config;
}
const STATS = statsConfig();

function update(added: Record<string, unknown>): ResourceUpdate {
  const map = new Map(Object.entries(added)) as ResourceUpdate["added"];
  const versions = new Map([...map.keys()].map((name) => [name, "1"]));
  return { added: map, removed: [], full: false, version: "1", versions };
}

function clusterManager(name: string, port: number, extra: Record<string, unknown> = {}) {
  const manager = new ClusterManager({ clock: manualClock() });
  const cluster = {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            {
              endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
            },
          ],
        },
      ],
    },
    ...extra,
  };
  expect(manager.cdsHandler().apply(update({ [name]: cluster })).errors).toEqual([]);
  cleanups.push(() => manager.close());
  return manager;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("close", () => sockets.delete(socket));
  });
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

function tcpConfig(cluster: string, idleTimeoutMs = 0): TcpProxyConfig {
  return {
    statPrefix: "test",
    cluster: { kind: "cluster", name: cluster },
    idleTimeoutMs,
    maxConnectAttempts: 1,
  };
}

/** What the listener would know of a TLS connection that negotiated `alpn`. */
function tlsConnection(alpn: string): ConnectionInfo {
  return {
    destinationIp: "127.0.0.1",
    destinationPort: 9000,
    transportProtocol: "tls",
    applicationProtocols: [alpn],
    sourceIp: "127.0.0.1",
    sourcePort: 40000,
    tls: {
      uriSans: ["spiffe://cluster.local/ns/default/sa/sleep"],
      dnsSans: [],
      subject: "",
      peerCertificatePresented: true,
      peerCertificateValidated: true,
      alpn,
    },
  };
}

/** A proxy listener handing every connection to a session, as the chain runtime does. */
async function proxy(
  config: TcpProxyConfig,
  clusters: ClusterManager,
  telemetry: ProxyTelemetry,
  options: TcpProxyOptions,
  upstreamTls?: UpstreamTlsConnector,
): Promise<{ port: number; session: Promise<TcpProxySession> }> {
  let resolve: (s: TcpProxySession) => void = () => {};
  const session = new Promise<TcpProxySession>((r) => {
    resolve = r;
  });
  const server = createServer((socket) => {
    const started = startTcpProxy(
      socket,
      config,
      { clusters, stats: new StatsStore(), telemetry, ...(upstreamTls ? { upstreamTls } : {}) },
      options,
    );
    cleanups.push(() => started.close());
    socket.resume();
    resolve(started);
  });
  return { port: await listen(server), session };
}

async function client(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  socket.on("error", () => {});
  cleanups.push(() => socket.destroy());
  await once(socket, "connect");
  return socket;
}

/** Everything the socket receives until its peer ends or the socket closes. */
function received(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    const done = () => resolve(Buffer.concat(chunks));
    socket.once("end", done);
    socket.once("close", done);
  });
}

/** The labels of each series of `family`, as `name="value"` text. */
function series(telemetry: ProxyTelemetry, family: string): { labels: string; value: number }[] {
  return [...telemetry.metrics.store.counters(family)].map((s) => ({
    labels: s.labels,
    value: s.value,
  }));
}

async function echoUpstream(greeting?: string): Promise<{ port: number; seen: Promise<Buffer> }> {
  let seen: (b: Buffer) => void = () => {};
  const bytes = new Promise<Buffer>((r) => {
    seen = r;
  });
  const port = await listen(
    createServer({ allowHalfOpen: true }, (socket) => {
      const chunks: Buffer[] = [];
      if (greeting) socket.write(greeting);
      socket.on("data", (c: Buffer) => {
        chunks.push(c);
        socket.write(c);
      });
      socket.on("end", () => {
        seen(Buffer.concat(chunks));
        socket.end();
      });
      socket.on("close", () => seen(Buffer.concat(chunks)));
    }),
  );
  return { port, seen: bytes };
}

/** The server's sidecar: its inbound TCP chain with the exchange, for a client offering `alpn`. */
async function serverSide(
  options: { alpn?: string; greeting?: string; idleTimeoutMs?: number } = {},
) {
  const telemetry = new ProxyTelemetry(ECHO_NODE);
  const upstream = await echoUpstream(options.greeting);
  const { port, session } = await proxy(
    tcpConfig("app", options.idleTimeoutMs),
    clusterManager("app", upstream.port),
    telemetry,
    {
      connection: tlsConnection(options.alpn ?? "istio-peer-exchange"),
      reporter: "destination",
      stats: [STATS],
      exchange: EXCHANGE,
    },
  );
  return { telemetry, upstream, port, session };
}

describe("the server's side (the chain's filter, downstream ALPN istio-peer-exchange)", () => {
  it("sends its frame first, takes the client's off the stream and names the client's workload", async () => {
    const { telemetry, upstream, port, session } = await serverSide();
    const downstream = await client(port);
    const reply = received(downstream);
    const clientFrame = encodeExchangeFrame(localWorkloadFromNode(SLEEP_NODE));
    // The frame and the data in awkward pieces: the frame's header split, data in its last chunk.
    downstream.write(clientFrame.subarray(0, 5));
    downstream.write(Buffer.concat([clientFrame.subarray(5), Buffer.from("hello")]));
    downstream.end(" world");
    const bytes = await reply;
    expect(bytes.subarray(0, telemetry.exchangeFrame.length).equals(telemetry.exchangeFrame)).toBe(
      true,
    );
    expect(bytes.subarray(telemetry.exchangeFrame.length).toString()).toBe("hello world");
    expect((await upstream.seen).toString()).toBe("hello world");
    const result = await (await session).done;
    // Envoy's TCP proxy sees (and counts) only what the frame leaves.
    expect(result.bytesReceived).toBe(11);
    const [opened] = series(telemetry, "istio_tcp_connections_opened_total");
    expect(opened?.value).toBe(1);
    expect(opened?.labels).toContain('reporter="destination",source_workload="sleep"');
    expect(opened?.labels).toContain('source_app="sleep",source_version="v2"');
    expect(opened?.labels).toContain(
      'source_principal="spiffe://cluster.local/ns/default/sa/sleep"',
    );
    const [receivedBytes] = series(telemetry, "istio_tcp_received_bytes_total");
    expect(receivedBytes?.value).toBe(11);
  });

  it("stands aside on a connection that negotiated another protocol: no frame, bytes as they are", async () => {
    const { telemetry, upstream, port } = await serverSide({ alpn: "istio" });
    const downstream = await client(port);
    const reply = received(downstream);
    const looksLikeAFrame = encodeExchangeFrame(localWorkloadFromNode(SLEEP_NODE));
    downstream.end(looksLikeAFrame);
    expect((await reply).equals(looksLikeAFrame)).toBe(true);
    await upstream.seen;
    await new Promise((r) => setTimeout(r, 20));
    const [opened] = series(telemetry, "istio_tcp_connections_opened_total");
    expect(opened?.labels).toContain('source_workload="unknown"');
  });

  it("passes a client's bytes through untouched when they do not open with the magic", async () => {
    const { telemetry, upstream, port } = await serverSide();
    const downstream = await client(port);
    const reply = received(downstream);
    downstream.end("PING\r\n");
    const bytes = await reply;
    expect(bytes.subarray(telemetry.exchangeFrame.length).toString()).toBe("PING\r\n");
    expect((await upstream.seen).toString()).toBe("PING\r\n");
  });

  it("lets the server speak first while the client sends no frame, and closes on the idle timeout", async () => {
    const { telemetry, upstream, port, session } = await serverSide({
      greeting: "220 ready\r\n",
      idleTimeoutMs: 150,
    });
    const downstream = await client(port);
    const reply = received(downstream);
    // The client, no proxy, writes half of what could be a frame's header, and nothing more.
    downstream.write(Buffer.from([0x3d, 0x23, 0x04]));
    const bytes = await reply;
    expect(bytes.subarray(telemetry.exchangeFrame.length).toString()).toBe("220 ready\r\n");
    await (await session).done;
    // Counted at the close, with no peer known.
    const [opened] = series(telemetry, "istio_tcp_connections_opened_total");
    expect(opened?.labels).toContain('source_workload="unknown"');
    expect((await upstream.seen).length).toBe(0);
  });

  it("resets a connection whose frame announces more than it would ever hold", async () => {
    const { telemetry, upstream, port, session } = await serverSide();
    const downstream = await client(port);
    // The proxy's close shows as an end (the client is half-open) or a reset.
    const closed = received(downstream);
    const header = Buffer.alloc(8);
    header.writeUInt32BE(0x3d230467, 0);
    header.writeUInt32BE(0xffffffff, 4);
    downstream.write(Buffer.concat([header, Buffer.alloc(1000, 1)]));
    expect((await closed).subarray(telemetry.exchangeFrame.length).length).toBe(0);
    await (await session).done;
    expect((await upstream.seen).length).toBe(0);
  });
});

describe("the client's side (the cluster's filter, upstream mTLS with istio-peer-exchange)", () => {
  let ca: TestCa;
  let serverCert: TlsCertificate;
  let clientCert: TlsCertificate;
  beforeAll(async () => {
    ca = await createTestCa();
    serverCert = await ca.issue({ uris: ["spiffe://cluster.local/ns/default/sa/echo"] });
    clientCert = await ca.issue({ uris: ["spiffe://cluster.local/ns/default/sa/sleep"] });
  });

  /** A TLS server doing what an Istio sidecar's inbound side does, then echoing. */
  async function istioServer(peerFrame: Buffer, alpn: string[]) {
    const seenPeers: (WorkloadMetadata | undefined)[] = [];
    const data: Buffer[] = [];
    const server = createTlsServer(
      {
        cert: serverCert.certificateChainPem,
        key: serverCert.privateKeyPem,
        ca: ca.rootsPem,
        requestCert: true,
        rejectUnauthorized: false,
        ALPNProtocols: alpn,
        allowHalfOpen: true,
      },
      (socket: TLSSocket) => {
        socket.on("error", () => {});
        const exchanging = socket.alpnProtocol === "istio-peer-exchange";
        if (exchanging) socket.write(peerFrame);
        const reader = new ExchangeReader(new ExchangePayloadDecoder(), (p) => seenPeers.push(p));
        socket.on("data", (chunk: Buffer) => {
          const rest = exchanging ? reader.read(chunk) : chunk;
          data.push(rest);
          socket.write(rest);
        });
        socket.on("end", () => socket.end());
      },
    );
    const port = await listen(server as unknown as Server);
    return { port, seenPeers, data };
  }

  async function setup(serverAlpn: string[]) {
    const telemetry = new ProxyTelemetry(SLEEP_NODE);
    const echoFrame = encodeExchangeFrame(localWorkloadFromNode(ECHO_NODE));
    const server = await istioServer(echoFrame, serverAlpn);
    const clusters = clusterManager(
      "outbound|9000||tcpecho.default.svc.cluster.local",
      server.port,
      {
        transport_socket: istioUpstreamTls({
          sni: "outbound_.9000_._.tcpecho.default.svc.cluster.local",
          identity: "spiffe://cluster.local/ns/default/sa/echo",
        }),
        filters: [MX_FILTER],
      },
    );
    const connector = new UpstreamTlsConnector(StaticSecrets.workload(clientCert, ca.rootsPem));
    cleanups.push(() => connector.close());
    const { port, session } = await proxy(
      tcpConfig("outbound|9000||tcpecho.default.svc.cluster.local"),
      clusters,
      telemetry,
      { reporter: "source", stats: [STATS] },
      connector,
    );
    return { telemetry, server, port, session };
  }

  it("sends its frame first, takes the server's off the stream and names the server's workload", async () => {
    const { telemetry, server, port, session } = await setup(["istio-peer-exchange", "istio"]);
    const downstream = await client(port);
    const reply = received(downstream);
    downstream.end("hello");
    expect((await reply).toString()).toBe("hello");
    expect(Buffer.concat(server.data).toString()).toBe("hello");
    expect(server.seenPeers.map((p) => p?.workloadName)).toEqual(["sleep"]);
    await (await session).done;
    const [opened] = series(telemetry, "istio_tcp_connections_opened_total");
    expect(opened?.value).toBe(1);
    expect(opened?.labels).toContain('reporter="source",source_workload="sleep"');
    expect(opened?.labels).toContain(
      'source_principal="spiffe://cluster.local/ns/default/sa/sleep"',
    );
    expect(opened?.labels).toContain(
      'destination_workload="echo-1",destination_workload_namespace="default",destination_principal="spiffe://cluster.local/ns/default/sa/echo",destination_app="echo",destination_version="v1"',
    );
  });

  it("runs no exchange when the server does not take its ALPN", async () => {
    const { telemetry, server, port, session } = await setup(["istio"]);
    const downstream = await client(port);
    const reply = received(downstream);
    downstream.end("hello");
    expect((await reply).toString()).toBe("hello");
    expect(Buffer.concat(server.data).toString()).toBe("hello");
    expect(server.seenPeers).toEqual([]);
    await (await session).done;
    const [opened] = series(telemetry, "istio_tcp_connections_opened_total");
    expect(opened?.labels).toContain('destination_app="unknown"');
  });
});
