// Conformance with a client we did not write: the real `crema control-plane`, started with
// Istio YAML, drives @grpc/grpc-js-xds clients (xds:///…) against real grpc-js backends.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/base/logger.ts";
import { loadEchoService } from "../../src/echo/index.ts";
import { XdsClient } from "../../src/xds/client/index.ts";
import { TYPE_URL } from "../../src/xds/type-urls.ts";
import {
  type ControlPlaneProcess,
  startControlPlaneProcess,
} from "./support/control-plane-process.ts";
import { until } from "./support/until.ts";

const SERVICE = loadEchoService();
const HOST = "echo.default.svc.cluster.local";
const TARGET = `xds:///${HOST}:7070`;
/** A short name: its listener exists only because the control plane serves the names asked for. */
const SHORT_TARGET = "xds:///echo.default:7070";

type Behaviour = "ok" | "unavailable" | "slow";

interface Backend {
  pod: string;
  ip: string;
  port: number;
  server: grpc.Server;
}

/** A grpc-js server implementing crema's echo service with a fixed behaviour. */
async function startBackend(pod: string, ip: string, behaviour: Behaviour): Promise<Backend> {
  const server = new grpc.Server();
  server.addService(SERVICE, {
    Echo: (
      call: grpc.ServerUnaryCall<{ message: string }, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      if (behaviour === "unavailable")
        return callback({ code: grpc.status.UNAVAILABLE, details: `${pod} is down` });
      const reply = () => callback(null, { message: call.request.message, pod });
      if (behaviour === "slow") {
        const timer = setTimeout(reply, 5_000);
        call.on("cancelled", () => clearTimeout(timer));
        return;
      }
      reply();
    },
    EchoStream: (call: grpc.ServerWritableStream<unknown, unknown>) => call.end(),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${ip}:0`, grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { pod, ip, port, server };
}

function pod(backend: Backend, labels: Record<string, string>): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${backend.pod}
  namespace: default
  labels: ${JSON.stringify(labels)}
spec:
  containers:
  - name: app
    image: echo
    ports: [{name: grpc, containerPort: ${backend.port}}]
status:
  podIP: ${backend.ip}
`;
}

const WEIGHTED_ROUTES = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: echo, subset: v2}
  - match:
    - headers:
        x-test: {exact: abort}
    fault:
      abort: {grpcStatus: RESOURCE_EXHAUSTED, percentage: {value: 100}}
    route:
    - destination: {host: echo, subset: v1}
  - match:
    - headers:
        x-test: {exact: delay}
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 100}}
    route:
    - destination: {host: echo, subset: v1}
  - match:
    - headers:
        x-test: {exact: flaky}
    route:
    - destination: {host: echo, subset: flaky}
    retries: {attempts: 3, retryOn: unavailable}
  - match:
    - headers:
        x-test: {exact: flaky-no-retry}
    route:
    - destination: {host: echo, subset: flaky}
    retries: {attempts: 0}
  - match:
    - headers:
        x-test: {exact: slow}
    route:
    - destination: {host: echo, subset: slow}
    timeout: 200ms
  - route:
    - destination: {host: echo, subset: v1}
      weight: 80
    - destination: {host: echo, subset: v2}
      weight: 20
`;

const ALL_TO_V2 = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - route:
    - destination: {host: echo, subset: v2}
`;

let controlPlane: ControlPlaneProcess;
let configDir: string;
type EchoClient = grpc.Client &
  Record<string, grpc.MethodDefinition<unknown, unknown> & ((...args: unknown[]) => unknown)>;
let client: EchoClient;
let shortClient: EchoClient | undefined;
const backends: Backend[] = [];

function call(
  metadata: Record<string, string> = {},
  deadlineMs = 10_000,
  via: EchoClient = client,
): Promise<{ pod?: string; code: grpc.status }> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) => {
    (
      via.Echo as unknown as (
        r: unknown,
        m: grpc.Metadata,
        o: grpc.CallOptions,
        cb: (e: grpc.ServiceError | null, r?: { pod: string }) => void,
      ) => void
    )({ message: "hi" }, md, { deadline: Date.now() + deadlineMs }, (error, reply) =>
      resolve(error ? { code: error.code } : { pod: reply!.pod, code: grpc.status.OK }),
    );
  });
}

async function countPods(
  n: number,
  metadata: Record<string, string> = {},
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i += 50) {
    const results = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, () => call(metadata)),
    );
    for (const r of results) {
      const key = r.pod ?? `status:${grpc.status[r.code]}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
  }
  return counts;
}

beforeAll(async () => {
  backends.push(
    await startBackend("echo-v1", "127.0.31.1", "ok"),
    await startBackend("echo-v2", "127.0.31.2", "ok"),
    await startBackend("echo-flaky-ok", "127.0.31.3", "ok"),
    await startBackend("echo-flaky-down", "127.0.31.4", "unavailable"),
    await startBackend("echo-slow", "127.0.31.5", "slow"),
  );
  const [v1, v2, flakyOk, flakyDown, slow] = backends as [
    Backend,
    Backend,
    Backend,
    Backend,
    Backend,
  ];
  configDir = mkdtempSync(join(tmpdir(), "crema-cp-grpc-"));
  writeFileSync(
    join(configDir, "workloads.yaml"),
    [
      `apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  selector: {app: echo}
  ports: [{name: grpc, port: 7070, targetPort: grpc}]
`,
      pod(v1, { app: "echo", version: "v1" }),
      pod(v2, { app: "echo", version: "v2" }),
      pod(flakyOk, { app: "echo", version: "flaky" }),
      pod(flakyDown, { app: "echo", version: "flaky" }),
      pod(slow, { app: "echo", version: "slow" }),
      `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: flaky, labels: {version: flaky}}
  - {name: slow, labels: {version: slow}}
`,
    ].join("---\n"),
  );
  writeFileSync(join(configDir, "routes.yaml"), WEIGHTED_ROUTES);
  controlPlane = await startControlPlaneProcess(["--config", configDir]);
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [
      {
        server_uri: controlPlane.xdsAddress,
        channel_creds: [{ type: "insecure" }],
        server_features: ["xds_v3"],
      },
    ],
    node: {
      id: "sidecar~127.0.31.100~client.default~default.svc.cluster.local",
      metadata: { GENERATOR: "grpc", NAMESPACE: "default" },
      // grpc-js-xds rejects a bootstrap node without a locality object.
      locality: {},
    },
  });
  register();
  const Client = grpc.makeGenericClientConstructor(SERVICE, "EchoService");
  client = new Client(TARGET, grpc.credentials.createInsecure()) as typeof client;
}, 60_000);

afterAll(async () => {
  client?.close();
  shortClient?.close();
  await controlPlane?.stop();
  for (const backend of backends) backend.server.forceShutdown();
  delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
});

describe("crema control-plane with grpc-js-xds clients", () => {
  it("splits traffic 80/20 between subsets over 2,000 calls", async () => {
    const counts = await countPods(2000);
    expect(Object.keys(counts).sort()).toEqual(["echo-v1", "echo-v2"]);
    // Binomial(2000, 0.8): sd ≈ 17.9; ±100 is 5.6 sd — a correct split fails < 1e-7 of runs.
    expect(counts["echo-v1"]).toBeGreaterThan(1500);
    expect(counts["echo-v1"]).toBeLessThan(1700);
  });

  it("routes by header", async () => {
    expect(await countPods(200, { "end-user": "jason" })).toEqual({ "echo-v2": 200 });
  });

  it("injects aborts with the configured gRPC status", async () => {
    expect(await countPods(50, { "x-test": "abort" })).toEqual({ "status:RESOURCE_EXHAUSTED": 50 });
  });

  it("injects delays: a call with a shorter deadline than the delay expires", async () => {
    expect(await call({ "x-test": "delay" }, 500)).toEqual({ code: grpc.status.DEADLINE_EXCEEDED });
    expect(await call({}, 500)).toMatchObject({ code: grpc.status.OK });
  });

  it("retries unavailable endpoints when the route says so, and not when attempts is 0", async () => {
    // One of the two endpoints always fails. gRPC re-picks round robin on retry (it has no
    // previous-hosts predicate), so a call fails only when all 4 attempts land on the bad one:
    // ~1/16 of calls with retries against ~1/2 without — far apart for 400 calls each.
    const withRetries = await countPods(400, { "x-test": "flaky" });
    const withoutRetries = await countPods(400, { "x-test": "flaky-no-retry" });
    expect(Object.keys(withRetries).sort()).toEqual(expect.arrayContaining(["echo-flaky-ok"]));
    expect(withRetries["status:UNAVAILABLE"] ?? 0).toBeLessThan(100);
    expect(withoutRetries["status:UNAVAILABLE"]).toBeGreaterThan(100);
  });

  it("applies the route timeout", async () => {
    expect(await call({ "x-test": "slow" })).toEqual({ code: grpc.status.DEADLINE_EXCEEDED });
  });

  it("serves a second channel's short-name target (xds:///echo.default:7070) by that name", async () => {
    // Same process, same xDS client: its LDS subscription now holds both names.
    const Client = grpc.makeGenericClientConstructor(SERVICE, "EchoService");
    shortClient = new Client(SHORT_TARGET, grpc.credentials.createInsecure()) as EchoClient;
    const results = await Promise.all(
      Array.from({ length: 20 }, () => call({ "end-user": "jason" }, 10_000, shortClient)),
    );
    expect(results.map((r) => r.pod ?? grpc.status[r.code])).toEqual(Array(20).fill("echo-v2"));
    // The first channel keeps working with its FQDN listener.
    expect(await countPods(20, { "end-user": "jason" })).toEqual({ "echo-v2": 20 });
    // The client gets exactly the listeners it asked for (not every short form of the host).
    const dump = (await (
      await fetch(`${controlPlane.httpUrl}/debug/config_dump?proxyID=client.default`)
    ).json()) as { listeners: Array<{ name: string }> };
    expect(dump.listeners.map((l) => l.name).sort()).toEqual([`${HOST}:7070`, "echo.default:7070"]);
  });

  it("shows a proxy's NACK with its reason in /debug/syncz", async () => {
    const nacker = new XdsClient({
      serverAddress: controlPlane.xdsAddress,
      node: {
        id: "sidecar~127.0.31.101~nacker.default~default.svc.cluster.local",
        metadata: { NAMESPACE: "default" },
      },
      protocol: "sotw",
      logger: silentLogger(),
    });
    const nacked = new Promise<void>((resolve) => nacker.events.once("nack", () => resolve()));
    nacker.watch(TYPE_URL.cluster, {
      apply: () => ({ errors: ["cluster type EDS is not supported by this test proxy"] }),
    });
    nacker.start();
    await nacked;
    try {
      let syncz: unknown;
      const lastNack = await until(
        "the NACK shows in /debug/syncz",
        async () => {
          const nodes = (await (
            await fetch(`${controlPlane.httpUrl}/debug/syncz`)
          ).json()) as Array<{
            nodeId: string;
            types: Array<{ typeUrl: string; lastNack?: { message: string } }>;
          }>;
          syncz = nodes;
          return nodes
            .find((c) => c.nodeId.includes("nacker"))
            ?.types.find((t) => t.typeUrl === TYPE_URL.cluster)?.lastNack;
        },
        { detail: () => `last /debug/syncz: ${JSON.stringify(syncz)}` },
      );
      expect(lastNack.message).toContain("not supported by this test proxy");
    } finally {
      await nacker.close();
    }
  });

  it("serves incremental (delta) xDS to a proxy that asks for it", async () => {
    const delta = new XdsClient({
      serverAddress: controlPlane.xdsAddress,
      node: {
        id: "sidecar~127.0.31.102~delta.default~default.svc.cluster.local",
        metadata: { NAMESPACE: "default" },
      },
      protocol: "delta",
      logger: silentLogger(),
    });
    const clusters = new Map<string, unknown>();
    const updated = new Promise<void>((resolve) =>
      delta.events.on("update", (typeUrl) => typeUrl === TYPE_URL.cluster && resolve()),
    );
    delta.watch(TYPE_URL.cluster, {
      apply: (update) => {
        for (const [name, resource] of update.added) clusters.set(name, resource);
        return { errors: [] };
      },
    });
    delta.start();
    try {
      await updated;
      expect([...clusters.keys()]).toEqual(
        expect.arrayContaining([
          `outbound|7070|v1|${HOST}`,
          `outbound|7070|v2|${HOST}`,
          "PassthroughCluster",
        ]),
      );
      const syncz = (await (await fetch(`${controlPlane.httpUrl}/debug/syncz`)).json()) as Array<{
        nodeId: string;
        protocol: string;
        types: Array<{ typeUrl: string; lastAck?: unknown }>;
      }>;
      const entry = syncz.find((c) => c.nodeId.includes("delta.default"));
      expect(entry?.protocol).toBe("delta");
    } finally {
      await delta.close();
    }
  });

  it("rejects an invalid change on disk and keeps serving the last good config", async () => {
    const rejected = controlPlane.waitForLog("rejected");
    writeFileSync(
      join(configDir, "routes.yaml"),
      WEIGHTED_ROUTES.replace("weight: 80", "weight: -80"),
    );
    await rejected;
    expect(await countPods(100, { "end-user": "jason" })).toEqual({ "echo-v2": 100 });
    const counts = await countPods(200);
    expect(counts["echo-v1"]).toBeGreaterThan(100);
  });

  it("pushes a valid change on disk to the clients", async () => {
    writeFileSync(join(configDir, "routes.yaml"), ALL_TO_V2);
    // Poll until the new routes arrive, then require all calls on v2.
    let last: unknown;
    await until(
      "the new routes reach the clients",
      async () => {
        const first = await call();
        if (first.pod !== "echo-v2") {
          last = first;
          return false;
        }
        const counts = await countPods(50);
        last = counts;
        return counts["echo-v2"] === 50;
      },
      { detail: () => `last answer: ${JSON.stringify(last)}` },
    );
    expect(await countPods(300)).toEqual({ "echo-v2": 300 });
  });
});
