// TCP proxy sessions over real loopback sockets against a real ClusterManager fed Envoy v3 CDS.
import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { manualClock } from "../../base/clock.ts";
import type { ResourceUpdate } from "../../xds/client/types.ts";
import type { TcpProxyConfig } from "../listener/types.ts";
import { clusterStats, StatsStore } from "../stats/stats-store.ts";
import { ClusterManager } from "../upstream/cluster-manager.ts";
import {
  selectTcpCluster,
  startTcpProxy,
  type TcpProxyDeps,
  type TcpProxySession,
} from "./tcp-proxy.ts";
import { tcpProxyStats } from "./tcp-proxy-stats.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function update(added: Record<string, unknown>): ResourceUpdate {
  const map = new Map(Object.entries(added)) as ResourceUpdate["added"];
  const versions = new Map([...map.keys()].map((name) => [name, "1"]));
  return { added: map, removed: [], full: false, version: "1", versions };
}

function staticCluster(name: string, ports: number[], extra: Record<string, unknown> = {}) {
  const lb_endpoints = ports.map((port) => ({
    endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } },
  }));
  return {
    name,
    type: "STATIC",
    connect_timeout: "1s",
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints }] },
    ...extra,
  };
}

function clusterManager(clusters: Record<string, unknown>): ClusterManager {
  const manager = new ClusterManager({ clock: manualClock() });
  expect(manager.cdsHandler().apply(update(clusters)).errors).toEqual([]);
  cleanups.push(() => manager.close());
  return manager;
}

function tcpConfig(cluster: string, extra: Partial<TcpProxyConfig> = {}): TcpProxyConfig {
  return {
    statPrefix: "test",
    cluster: { kind: "cluster", name: cluster },
    idleTimeoutMs: 0,
    maxConnectAttempts: 1,
    ...extra,
  };
}

async function listen(server: Server): Promise<number> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
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

/** An upstream that echoes every byte and ends when its peer ends. */
function echoServer(): Promise<number> {
  return listen(createServer((socket) => socket.pipe(socket)));
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Proxy {
  port: number;
  sessions: TcpProxySession[];
  nextSession(): Promise<TcpProxySession>;
}

/** A listener that hands each connection to a TCP proxy session, as the listener manager does. */
async function tcpProxy(
  config: TcpProxyConfig,
  { stats = new StatsStore(), ...deps }: Omit<TcpProxyDeps, "stats"> & { stats?: StatsStore },
  originalDestination?: { address: string; port: number },
): Promise<Proxy> {
  const sessions: TcpProxySession[] = [];
  const waiting: Array<(s: TcpProxySession) => void> = [];
  const server = createServer((socket) => {
    const session = startTcpProxy(
      socket,
      config,
      { ...deps, stats },
      originalDestination ? { originalDestination } : {},
    );
    socket.resume();
    sessions.push(session);
    waiting.shift()?.(session);
  });
  const port = await listen(server);
  cleanups.push(() => {
    for (const session of sessions) session.close();
  });
  let taken = 0;
  return {
    port,
    sessions,
    nextSession: () =>
      new Promise((resolve) => {
        const index = taken++;
        const ready = sessions[index];
        if (ready) resolve(ready);
        else waiting.push(resolve);
      }),
  };
}

async function client(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  socket.on("error", () => {});
  cleanups.push(() => socket.destroy());
  await once(socket, "connect");
  return socket;
}

/** Everything the socket receives until its peer ends or the socket closes. */
function received(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.once("end", () => resolve(text));
    socket.once("close", () => resolve(text));
  });
}

/** The peer closed the connection: a FIN ('end', the client is half-open) or a reset. */
function peerClosed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once("end", () => resolve());
    socket.once("close", () => resolve());
  });
}

function readUntil(socket: Socket, expected: string): Promise<void> {
  return new Promise((resolve) => {
    let text = "";
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (text.includes(expected)) {
        socket.removeListener("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
  });
}

describe("selectTcpCluster", () => {
  it("picks a weighted cluster by random × total weight", () => {
    const weighted = {
      kind: "weighted" as const,
      clusters: [
        { name: "a", weight: 1 },
        { name: "none", weight: 0 },
        { name: "b", weight: 3 },
      ],
      totalWeight: 4,
    };
    expect(selectTcpCluster(weighted, () => 0)).toBe("a");
    expect(selectTcpCluster(weighted, () => 0.24)).toBe("a");
    expect(selectTcpCluster(weighted, () => 0.25)).toBe("b");
    expect(selectTcpCluster(weighted, () => 0.999)).toBe("b");
    expect(selectTcpCluster({ kind: "cluster", name: "c" }, () => 0.5)).toBe("c");
  });
});

describe("startTcpProxy", () => {
  it("relays both ways, including bytes the downstream sent before the upstream connected", async () => {
    const upstreamPort = await echoServer();
    const stats = new StatsStore();
    const clusters = clusterManager({ echo: staticCluster("echo", [upstreamPort]) });
    const sessions: TcpProxySession[] = [];
    // As after an HTTP CONNECT: bytes already read are unshifted back into a paused socket.
    const server = createServer((socket) => {
      socket.once("data", (chunk: Buffer) => {
        socket.pause();
        socket.unshift(chunk);
        sessions.push(startTcpProxy(socket, tcpConfig("echo"), { clusters, stats }));
        socket.resume();
      });
    });
    const port = await listen(server);
    const downstream = await client(port);
    downstream.write("hello");
    await readUntil(downstream, "hello");
    const rest = received(downstream);
    downstream.end(" world");
    expect(await rest).toBe(" world");
    const result = await sessions[0]!.done;
    expect(result).toMatchObject({
      flags: [],
      cluster: "echo",
      upstreamHost: `127.0.0.1:${upstreamPort}`,
      bytesReceived: 11,
      bytesSent: 11,
    });
    const cluster = clusterStats(stats, "echo");
    expect(cluster.upstreamCxTotal.value).toBe(1);
    expect(cluster.upstreamCxActive.value).toBe(0);
    expect(cluster.upstreamCxTxBytesTotal.value).toBe(11);
    expect(cluster.upstreamCxRxBytesTotal.value).toBe(11);
    expect(tcpProxyStats(stats, "test").downstreamCxRxBytesTotal.value).toBe(11);
    expect(clusters.cluster("echo")!.circuitBreakers.active("connections")).toBe(0);
  });

  it("splits connections over weighted clusters by the injected random", async () => {
    const [portA, portB] = [await echoServer(), await echoServer()];
    const clusters = clusterManager({
      a: staticCluster("a", [portA]),
      b: staticCluster("b", [portB]),
    });
    const config = tcpConfig("unused", {
      cluster: {
        kind: "weighted",
        clusters: [
          { name: "a", weight: 1 },
          { name: "b", weight: 3 },
        ],
        totalWeight: 4,
      },
    });
    const draws = [0.1, 0.5, 0.9];
    const proxy = await tcpProxy(config, { clusters, random: () => draws.shift()! });
    const picked: string[] = [];
    for (let i = 0; i < 3; i++) {
      const downstream = await client(proxy.port);
      const session = await proxy.nextSession();
      downstream.end("x");
      const result = await session.done;
      picked.push(`${result.cluster} ${result.upstreamHost}`);
    }
    expect(picked).toEqual([
      `a 127.0.0.1:${portA}`,
      `b 127.0.0.1:${portB}`,
      `b 127.0.0.1:${portB}`,
    ]);
  });

  it("closes the downstream with UF when the upstream refuses the connection", async () => {
    const stats = new StatsStore();
    const clusters = clusterManager({
      down: staticCluster("down", [await closedPort()], {
        outlier_detection: {
          consecutive_local_origin_failure: 1,
          split_external_local_origin_errors: true,
          max_ejection_percent: 100,
        },
      }),
    });
    const proxy = await tcpProxy(tcpConfig("down"), { clusters, stats });
    const downstream = await client(proxy.port);
    downstream.write("lost");
    const closed = peerClosed(downstream);
    const result = await (await proxy.nextSession()).done;
    await closed;
    expect(result.flags).toEqual(["UF", "URX"]);
    expect(clusterStats(stats, "down").upstreamCxConnectFail.value).toBe(1);
    expect(clusterStats(stats, "down").upstreamCxActive.value).toBe(0);
    // The outlier detector heard about the local-origin failure.
    expect(clusters.cluster("down")!.hostSet!.hosts[0]!.ejected).toBe(true);
  });

  it("retries the connection on another pick until an attempt reaches a good host", async () => {
    const stats = new StatsStore();
    const good = await echoServer();
    const clusters = clusterManager({ mixed: staticCluster("mixed", [await closedPort(), good]) });
    const proxy = await tcpProxy(tcpConfig("mixed", { maxConnectAttempts: 2 }), {
      clusters,
      stats,
    });
    // Round robin alternates hosts: over two connections at least one first attempt fails.
    for (let i = 0; i < 2; i++) {
      const downstream = await client(proxy.port);
      downstream.write("ping");
      await readUntil(downstream, "ping");
      downstream.end();
      const result = await (await proxy.nextSession()).done;
      expect(result.upstreamHost).toBe(`127.0.0.1:${good}`);
    }
    expect(clusterStats(stats, "mixed").upstreamCxConnectFail.value).toBeGreaterThanOrEqual(1);
  });

  it("adds URX to UF once max_connect_attempts are spent", async () => {
    const stats = new StatsStore();
    const clusters = clusterManager({ down: staticCluster("down", [await closedPort()]) });
    const proxy = await tcpProxy(tcpConfig("down", { maxConnectAttempts: 3 }), {
      clusters,
      stats,
    });
    const downstream = await client(proxy.port);
    const closed = peerClosed(downstream);
    const result = await (await proxy.nextSession()).done;
    await closed;
    expect(result.flags).toEqual(["UF", "URX"]);
    expect(clusterStats(stats, "down").upstreamCxConnectFail.value).toBe(3);
    expect(clusters.cluster("down")!.circuitBreakers.active("connections")).toBe(0);
  });

  it("checks the connections circuit breaker before picking a host", async () => {
    const portA = await echoServer();
    const portB = await echoServer();
    const clusters = clusterManager({
      two: staticCluster("two", [portA, portB], {
        circuit_breakers: { thresholds: [{ max_connections: 1 }] },
      }),
    });
    const proxy = await tcpProxy(tcpConfig("two"), { clusters });
    const first = await client(proxy.port);
    first.write("held");
    await readUntil(first, "held");
    const firstSession = await proxy.nextSession();
    const second = await client(proxy.port);
    const refused = await (await proxy.nextSession()).done;
    expect(refused.flags).toEqual(["UO"]);
    expect(refused.upstreamHost).toBeUndefined();
    await peerClosed(second);
    first.end();
    const firstResult = await firstSession.done;
    // The refused connection did not use up a round-robin pick: the next one goes to the other host.
    const third = await client(proxy.port);
    third.write("next");
    await readUntil(third, "next");
    third.end();
    const thirdResult = await (await proxy.nextSession()).done;
    expect(thirdResult.upstreamHost).not.toBe(firstResult.upstreamHost);
  });

  it("closes with NC when the cluster is unknown", async () => {
    const stats = new StatsStore();
    const clusters = clusterManager({});
    const proxy = await tcpProxy(tcpConfig("nowhere"), { clusters, stats });
    const downstream = await client(proxy.port);
    const closed = peerClosed(downstream);
    expect((await (await proxy.nextSession()).done).flags).toEqual(["NC"]);
    await closed;
    expect(tcpProxyStats(stats, "test").downstreamCxNoRoute.value).toBe(1);
  });

  it("closes with UH when the cluster has no endpoints (Istio's BlackHoleCluster)", async () => {
    const clusters = clusterManager({
      BlackHoleCluster: { name: "BlackHoleCluster", type: "STATIC", connect_timeout: "10s" },
    });
    const proxy = await tcpProxy(tcpConfig("BlackHoleCluster"), { clusters });
    const downstream = await client(proxy.port);
    const closed = peerClosed(downstream);
    const result = await (await proxy.nextSession()).done;
    expect(result).toMatchObject({ flags: ["UH"], cluster: "BlackHoleCluster" });
    await closed;
  });

  it("closes with UO when the connections circuit breaker is full", async () => {
    const upstreamPort = await echoServer();
    const clusters = clusterManager({
      one: staticCluster("one", [upstreamPort], {
        circuit_breakers: { thresholds: [{ max_connections: 1 }] },
      }),
    });
    const proxy = await tcpProxy(tcpConfig("one"), { clusters });
    const first = await client(proxy.port);
    first.write("held");
    await readUntil(first, "held");
    const second = await client(proxy.port);
    const closed = peerClosed(second);
    await proxy.nextSession();
    expect((await (await proxy.nextSession()).done).flags).toEqual(["UO"]);
    await closed;
    expect(clusters.cluster("one")!.circuitBreakers.overflows.connections).toBe(1);
  });

  it("closes both sides after the idle timeout", async () => {
    const stats = new StatsStore();
    const clusters = clusterManager({ echo: staticCluster("echo", [await echoServer()]) });
    const proxy = await tcpProxy(tcpConfig("echo", { idleTimeoutMs: 20 }), { clusters, stats });
    const downstream = await client(proxy.port);
    downstream.write("quiet");
    await readUntil(downstream, "quiet");
    const closed = peerClosed(downstream);
    const result = await (await proxy.nextSession()).done;
    await closed;
    expect(result.flags).toEqual([]);
    expect(tcpProxyStats(stats, "test").idleTimeout.value).toBe(1);
  });

  it("closes both sides with DT at max_downstream_connection_duration", async () => {
    const clusters = clusterManager({ echo: staticCluster("echo", [await echoServer()]) });
    const proxy = await tcpProxy(tcpConfig("echo", { maxDownstreamConnectionDurationMs: 20 }), {
      clusters,
    });
    const downstream = await client(proxy.port);
    const closed = peerClosed(downstream);
    expect((await (await proxy.nextSession()).done).flags).toEqual(["DT"]);
    await closed;
  });

  it("arms no timer for an idle timeout or max duration beyond Node's limit (it would fire at 1 ms)", async () => {
    const stats = new StatsStore();
    // Echoes late enough that a timer clamped to 1 ms would have ended the session first.
    const slowEcho = await listen(
      createServer((socket) =>
        socket.on("data", (chunk) => setTimeout(() => socket.write(chunk), 30)),
      ),
    );
    const clusters = clusterManager({ echo: staticCluster("echo", [slowEcho]) });
    const thirtyDays = 2_592_000_000;
    const proxy = await tcpProxy(
      tcpConfig("echo", {
        idleTimeoutMs: thirtyDays,
        maxDownstreamConnectionDurationMs: thirtyDays,
      }),
      { clusters, stats },
    );
    const downstream = await client(proxy.port);
    downstream.write("still here");
    await readUntil(downstream, "still here");
    const session = await proxy.nextSession();
    downstream.destroy();
    expect((await session.done).flags).toEqual([]);
    expect(tcpProxyStats(stats, "test").idleTimeout.value).toBe(0);
    expect(tcpProxyStats(stats, "test").maxDownstreamConnectionDuration.value).toBe(0);
  });

  it("forwards a half-close: the upstream still answers after the client ends its write", async () => {
    const upstreamPort = await listen(
      createServer({ allowHalfOpen: true }, (socket) => {
        let request = "";
        socket.on("data", (chunk: Buffer) => {
          request += chunk.toString();
        });
        socket.once("end", () => socket.end(`got ${request}`));
      }),
    );
    const clusters = clusterManager({ hc: staticCluster("hc", [upstreamPort]) });
    const proxy = await tcpProxy(tcpConfig("hc"), { clusters });
    const downstream = await client(proxy.port);
    const reply = received(downstream);
    downstream.end("question");
    expect(await reply).toBe("got question");
    const result = await (await proxy.nextSession()).done;
    expect(result).toMatchObject({ flags: [], bytesReceived: 8, bytesSent: 12 });
  });

  it("connects an ORIGINAL_DST cluster to the connection's original destination", async () => {
    const upstreamPort = await echoServer();
    const clusters = clusterManager({
      PassthroughCluster: {
        name: "PassthroughCluster",
        type: "ORIGINAL_DST",
        lb_policy: "CLUSTER_PROVIDED",
        connect_timeout: "10s",
      },
    });
    const target = { address: "127.0.0.1", port: upstreamPort };
    const proxy = await tcpProxy(tcpConfig("PassthroughCluster"), { clusters }, target);
    const downstream = await client(proxy.port);
    downstream.write("through");
    await readUntil(downstream, "through");
    downstream.end();
    const result = await (await proxy.nextSession()).done;
    expect(result).toMatchObject({ flags: [], upstreamHost: `127.0.0.1:${upstreamPort}` });

    const blind = await tcpProxy(tcpConfig("PassthroughCluster"), { clusters });
    await client(blind.port);
    expect((await (await blind.nextSession()).done).flags).toEqual(["UH"]);
  });

  it("destroys the downstream when the upstream resets, without an unhandled error", async () => {
    const upstreamPort = await listen(
      createServer((socket) => socket.once("data", () => socket.resetAndDestroy())),
    );
    const stats = new StatsStore();
    const clusters = clusterManager({ rst: staticCluster("rst", [upstreamPort]) });
    const proxy = await tcpProxy(tcpConfig("rst"), { clusters, stats });
    const downstream = await client(proxy.port);
    const closed = peerClosed(downstream);
    downstream.write("boom");
    const result = await (await proxy.nextSession()).done;
    await closed;
    expect(result.flags).toEqual([]);
    expect(clusterStats(stats, "rst").upstreamCxDestroy.value).toBe(1);
    expect(clusters.cluster("rst")!.circuitBreakers.active("connections")).toBe(0);
  });

  it("ends everything on close()", async () => {
    const clusters = clusterManager({ echo: staticCluster("echo", [await echoServer()]) });
    const proxy = await tcpProxy(tcpConfig("echo"), { clusters });
    const downstream = await client(proxy.port);
    downstream.write("x");
    await readUntil(downstream, "x");
    const closed = peerClosed(downstream);
    const session = await proxy.nextSession();
    session.close();
    session.close();
    expect((await session.done).flags).toEqual([]);
    await closed;
  });
});
