// Istio's standard metrics from real `crema proxy` sidecars driven by the real control plane: the
// client's sidecar reports `source`, the server's `destination`, each naming the other workload
// through the peer-metadata exchange, on Envoy's Prometheus endpoint (15090), summed over the
// proxies' two threads. The control plane runs its CA, so the sidecars speak Istio mTLS (auto
// mTLS under the default PERMISSIVE), each with its own service account's SPIFFE identity.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  issueBootstrapToken,
  loadOrCreateBootstrapTokenKey,
} from "../../src/ca/bootstrap-token.ts";
import {
  connectTunnel,
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { until } from "./support/until.ts";

const SUBNET = 41;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const ECHO = ip(1);
const SLEEP = ip(9);
const ECHO_PRINCIPAL = "spiffe://cluster.local/ns/default/sa/echo";
const SLEEP_PRINCIPAL = "spiffe://cluster.local/ns/default/sa/sleep";
let mesh: Mesh;
let caDir: string;
let appMetrics: Server;

const CONFIG = `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${serviceYaml("tcpecho", { selector: "echo", ports: [{ name: "tcp", port: 9000, targetPort: 9000 }] })}---
${serviceYaml("chat", { selector: "echo", ports: [{ name: "grpc", port: 9090, targetPort: 9090 }] })}---
${podYaml({ name: "echo-1", ip: ECHO, labels: { app: "echo", version: "v1" }, ports: [8080, 9000, 9090], serviceAccount: "echo" })}---
${podYaml({ name: "sleep", ip: SLEEP, labels: { app: "sleep", version: "v2" }, serviceAccount: "sleep" })}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo]
  http:
  - match: [{uri: {prefix: /teapot}}]
    fault: {abort: {httpStatus: 418, percentage: {value: 100}}}
    route: [{destination: {host: echo}}]
  - match: [{uri: {prefix: /delay}}]
    timeout: 200ms
    route: [{destination: {host: echo}}]
  - route: [{destination: {host: echo}}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: report-often, namespace: default}
spec:
  metrics:
  - reportingInterval: 1s
`;

/**
 * A bidirectional gRPC method on raw bytes, so any message size (empty ones too) goes on the
 * wire as written: the server echoes each message and adds an acknowledgement, then says goodbye
 * when the client is done — 2N + 1 responses to N requests.
 */
const CHAT: grpc.ServiceDefinition = {
  Chat: {
    path: "/crema.test.Chat/Chat",
    requestStream: true,
    responseStream: true,
    requestSerialize: (message: Buffer) => message,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (message: Buffer) => message,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};
let chatServer: grpc.Server;

function startChatServer(address: string): Promise<grpc.Server> {
  const server = new grpc.Server();
  server.addService(CHAT, {
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", (message: Buffer) => {
        call.write(message);
        call.write(Buffer.from("ack"));
      });
      call.on("end", () => {
        call.write(Buffer.from("bye"));
        call.end();
      });
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(server),
    ),
  );
}

/** A grpc-js client in the sleep pod: `http_proxy` makes it tunnel through the sidecar. */
function chatClient(target: string): grpc.Client & {
  Chat(): grpc.ClientDuplexStream<Buffer, Buffer>;
} {
  const saved = { http_proxy: process.env.http_proxy, no_proxy: process.env.no_proxy };
  process.env.http_proxy = `http://${SLEEP}:15001`;
  delete process.env.no_proxy;
  try {
    const Client = grpc.makeGenericClientConstructor(CHAT, "Chat");
    return new Client(target, grpc.credentials.createInsecure()) as never;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** A request from the sleep pod through its sidecar, on a connection of its own. */
function call(path: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: SLEEP, port: 15001, path: `http://echo${path}`, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function scrape(podIp: string): Promise<string> {
  const res = await fetch(`http://${podIp}:15090/stats/prometheus`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
  return res.text();
}

/** The samples of `metric` whose labels include every `labels` pair, as label map → value. */
function samples(text: string, metric: string, labels: Record<string, string>): number[] {
  const out: number[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf("}");
    const body = line.slice(metric.length + 1, close);
    const found = new Map<string, string>();
    for (const m of body.matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) found.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => found.get(k) === v))
      out.push(Number(line.slice(close + 2)));
  }
  return out;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** What a sidecar of `serviceAccount` needs to get its workload certificate from the CA. */
async function certificateArgs(serviceAccount: string): Promise<string[]> {
  const key = await loadOrCreateBootstrapTokenKey(caDir);
  const tokenFile = join(caDir, `${serviceAccount}.jwt`);
  writeFileSync(
    tokenFile,
    await issueBootstrapToken(key, { namespace: "default", serviceAccount }),
  );
  return [
    "--ca-address",
    mesh.controlPlane.secureXdsAddress!,
    "--ca-root-cert",
    join(caDir, "root-cert.pem"),
    "--token-file",
    tokenFile,
    "--service-account",
    serviceAccount,
  ];
}

beforeAll(async () => {
  caDir = mkdtempSync(join(tmpdir(), "crema-telemetry-ca-"));
  mesh = await startMesh(SUBNET, CONFIG, {
    controlPlaneArgs: ["--ca-dir", caDir, "--secure-xds-address", "127.0.0.1:0"],
  });
  await mesh.startEcho({ pod: "echo-1", ip: ip(1, 2), tcpPort: 9000 });
  // The app's own metrics, which the agent merges into 15020's /stats/prometheus.
  appMetrics = createServer((req, res) => {
    res.setHeader("content-type", "text/plain; version=0.0.4");
    res.end(req.url === "/app-metrics" ? "# TYPE orders_total counter\norders_total 7\n" : "");
  });
  await new Promise<void>((resolve) => appMetrics.listen(9102, ip(1, 2), resolve));
  chatServer = await startChatServer(`${ip(1, 2)}:9090`);
  await mesh.startProxy({
    pod: "echo-1",
    ip: ECHO,
    labels: { app: "echo", version: "v1" },
    appAddress: ip(1, 2),
    extraArgs: await certificateArgs("echo"),
    env: {
      ISTIO_PROMETHEUS_ANNOTATIONS: JSON.stringify({
        scrape: "true",
        port: "9102",
        path: "/app-metrics",
      }),
    },
  });
  await mesh.startProxy({
    pod: "sleep",
    ip: SLEEP,
    labels: { app: "sleep", version: "v2" },
    extraArgs: await certificateArgs("sleep"),
  });
}, 60_000);

afterAll(async () => {
  await mesh?.stop();
  if (caDir) rmSync(caDir, { recursive: true, force: true });
  await new Promise((resolve) => appMetrics?.close(resolve));
  chatServer?.forceShutdown();
});

/** The istio_* lines of a scrape, for an error to show. */
const istioLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.startsWith("istio_"))
    .join("\n");

/**
 * Scrapes `podIp` every `intervalMs` until `done` holds of the text (the proxies record a moment
 * after the client); on timeout the error shows the last scrape's istio_* lines. A test waits
 * up to four times, so each wait is bounded at 6 s to fit the test's 30 s together.
 */
async function scrapeUntil(
  podIp: string,
  what: string,
  done: (text: string) => boolean,
  intervalMs = 50,
): Promise<string> {
  let text = "";
  return until(
    `${podIp}'s metrics show ${what}`,
    async () => {
      text = await scrape(podIp);
      return done(text) && text;
    },
    { timeoutMs: 6_000, intervalMs, detail: () => `last scrape:\n${istioLines(text)}` },
  );
}

describe("Istio's standard metrics", () => {
  it("counts requests at the source and the destination, naming each other's workload", async () => {
    const total = 30;
    for (let i = 0; i < total; i++) expect((await call("/hello")).status).toBe(200);
    const pair = {
      source_workload: "sleep",
      source_workload_namespace: "default",
      source_app: "sleep",
      source_version: "v2",
      destination_workload: "echo-1",
      destination_workload_namespace: "default",
      destination_service: "echo.default.svc.cluster.local",
      destination_service_name: "echo",
      destination_service_namespace: "default",
      request_protocol: "http",
      response_code: "200",
      response_flags: "-",
    };
    // Both sides name both SPIFFE identities: the source from the certificates of its upstream
    // connection, the destination from those of its downstream one, which alone says mutual_tls.
    const principals = { source_principal: SLEEP_PRINCIPAL, destination_principal: ECHO_PRINCIPAL };
    const client = await scrape(SLEEP);
    expect(
      sum(
        samples(client, "istio_requests_total", {
          ...pair,
          ...principals,
          reporter: "source",
          connection_security_policy: "unknown",
        }),
      ),
    ).toBe(total);
    // The destination learns the client from the exchange headers; the app never sees them.
    const server = await scrape(ECHO);
    expect(
      sum(
        samples(server, "istio_requests_total", {
          ...pair,
          ...principals,
          reporter: "destination",
          destination_app: "echo",
          destination_version: "v1",
          connection_security_policy: "mutual_tls",
        }),
      ),
    ).toBe(total);
    // Istio's buckets, cumulative, with _sum and _count.
    const buckets = samples(client, "istio_request_duration_milliseconds_bucket", {
      ...pair,
      reporter: "source",
      le: "+Inf",
    });
    expect(sum(buckets)).toBe(total);
    expect(client).toMatch(/istio_request_duration_milliseconds_bucket\{[^}]*le="0\.5"\}/);
    expect(client).toMatch(/istio_request_duration_milliseconds_bucket\{[^}]*le="3600000"\}/);
    expect(client).toContain("# TYPE istio_request_bytes histogram");
    expect(client).toContain("# TYPE istio_response_bytes histogram");
    // Envoy's own stats come first on the same endpoint.
    expect(client).toContain("# TYPE envoy_cluster_upstream_rq_total counter");
  });

  it("keeps the exchange headers from the apps on both sides", async () => {
    const reply = await call("/headers");
    expect(reply.status).toBe(200);
    expect(reply.headers["x-envoy-peer-metadata"]).toBeUndefined();
    expect(reply.headers["x-envoy-peer-metadata-id"]).toBeUndefined();
  });

  it("reports an injected abort with its code and response flag", async () => {
    for (let i = 0; i < 4; i++) expect((await call("/teapot")).status).toBe(418);
    const client = await scrape(SLEEP);
    expect(
      sum(
        samples(client, "istio_requests_total", {
          reporter: "source",
          source_workload: "sleep",
          destination_service_name: "echo",
          response_code: "418",
          response_flags: "FI",
        }),
      ),
    ).toBe(4);
  });

  it("names the destination from the endpoint's metadata when no response said (a timeout)", async () => {
    expect((await call("/delay/3000")).status).toBe(504);
    const timedOut = {
      reporter: "source",
      source_workload: "sleep",
      destination_service_name: "echo",
      response_code: "504",
      response_flags: "UT",
    };
    const client = await scrapeUntil(
      SLEEP,
      "the timed-out request",
      (text) => sum(samples(text, "istio_requests_total", timedOut)) === 1,
    );
    expect(
      sum(
        samples(client, "istio_requests_total", {
          ...timedOut,
          destination_workload: "echo-1",
          destination_workload_namespace: "default",
          destination_canonical_service: "echo",
          destination_canonical_revision: "v1",
        }),
      ),
    ).toBe(1);
  });

  it("counts TCP connections and bytes at both ends, each naming the other through the in-band exchange", async () => {
    const socket = await connectTunnel(SLEEP, "tcpecho:9000");
    // Every byte value, led by what an exchange frame starts with: the app's bytes are its own.
    const payload = Buffer.alloc(1000);
    payload.writeUInt32BE(0x3d230467, 0);
    payload.writeUInt32BE(16, 4);
    for (let i = 8; i < payload.length; i++) payload[i] = i % 256;
    const echoed: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => echoed.push(chunk));
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.write(payload);
    socket.end();
    await closed;
    expect(Buffer.concat(echoed).equals(payload)).toBe(true);
    const tcp = {
      destination_service_name: "tcpecho",
      request_protocol: "tcp",
      source_principal: SLEEP_PRINCIPAL,
      destination_principal: ECHO_PRINCIPAL,
    };
    // Over Istio mTLS the sidecars negotiate `istio-peer-exchange` and send each other their
    // workload first: the destination names the client's workload (no header exists to carry it),
    // the source learns the server's app and version, which the endpoint metadata lacks.
    const client = { source_workload: "sleep", source_app: "sleep", source_version: "v2" };
    const server = {
      destination_workload: "echo-1",
      destination_app: "echo",
      destination_version: "v1",
    };
    // The close reaches each proxy a moment after the client saw it.
    for (const [podIp, reporter, policy] of [
      [SLEEP, "source", "unknown"],
      [ECHO, "destination", "mutual_tls"],
    ] as const) {
      const labels = { ...tcp, ...client, ...server, reporter, connection_security_policy: policy };
      const text = await scrapeUntil(
        podIp,
        `the ${reporter} close`,
        (t) => sum(samples(t, "istio_tcp_connections_closed_total", labels)) === 1,
        25,
      );
      expect(sum(samples(text, "istio_tcp_connections_opened_total", labels))).toBe(1);
      expect(sum(samples(text, "istio_tcp_connections_closed_total", labels))).toBe(1);
      expect(sum(samples(text, "istio_tcp_received_bytes_total", labels))).toBe(1000);
      expect(sum(samples(text, "istio_tcp_sent_bytes_total", labels))).toBe(1000);
    }
  });

  it("counts the gRPC messages of a bidirectional stream at both ends, while it runs and at its end", async () => {
    const client = chatClient("chat:9090");
    const call = client.Chat();
    const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
    let received = 0;
    const responses: Array<() => void> = [];
    call.on("data", () => {
      received++;
      responses.shift()?.();
    });
    const answered = (count: number) =>
      new Promise<void>((resolve) => {
        const check = () => (received >= count ? resolve() : responses.push(check));
        check();
      });
    const reporters = [
      [SLEEP, "source"],
      [ECHO, "destination"],
    ] as const;
    const chat = (reporter: string) => ({
      reporter,
      source_workload: "sleep",
      source_app: "sleep",
      destination_workload: "echo-1",
      destination_service: "chat.default.svc.cluster.local",
      destination_service_name: "chat",
    });
    const messages = (text: string, reporter: string) => [
      sum(samples(text, "istio_request_messages_total", chat(reporter))),
      sum(samples(text, "istio_response_messages_total", chat(reporter))),
    ];

    // Three messages, six answers; the stream stays open and each proxy reports every second.
    for (const text of ["one", "two", "three"]) call.write(Buffer.from(text));
    await answered(6);
    for (const [podIp, reporter] of reporters) {
      const text = await scrapeUntil(
        podIp,
        `the ${reporter}'s three request messages`,
        (t) => messages(t, reporter)[0] === 3,
      );
      expect(messages(text, reporter), reporter).toEqual([3, 6]);
    }

    // An empty message and one spread over many HTTP/2 frames each way, then the end.
    call.write(Buffer.alloc(0));
    call.write(Buffer.alloc(100_000, 7));
    call.write(Buffer.from("four"));
    call.end();
    await status;
    client.close();
    // The call ended with grpc-status 0: its istio_requests_total series says when it is recorded.
    const recorded = (reporter: string) => ({
      ...chat(reporter),
      request_protocol: "grpc",
      grpc_response_status: "0",
    });
    for (const [podIp, reporter] of reporters) {
      const text = await scrapeUntil(
        podIp,
        `the ${reporter}'s recorded call`,
        (t) => sum(samples(t, "istio_requests_total", recorded(reporter))) === 1,
      );
      expect(messages(text, reporter), reporter).toEqual([6, 13]);
    }
  });

  it("merges the app's metrics with the proxy's on the agent's 15020", async () => {
    const res = await fetch(`http://${ECHO}:15020/stats/prometheus`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("# TYPE envoy_cluster_upstream_rq_total counter");
    expect(text).toContain("# TYPE istio_requests_total counter");
    expect(text.endsWith("# TYPE orders_total counter\norders_total 7\n")).toBe(true);
    // The sidecar without scrape annotations serves the proxy's metrics alone.
    const plain = await (await fetch(`http://${SLEEP}:15020/stats/prometheus`)).text();
    expect(plain).toContain("istio_requests_total{");
    expect(plain).not.toContain("orders_total");
  });
});
