// Distributed tracing through real `crema proxy` sidecars configured by the real control plane
// from an Istio MeshConfig file (`--mesh-config`: an opentelemetry extension provider, the
// default tracing provider and defaultConfig.tracing.sampling): a client sidecar → server sidecar
// → echo call makes one trace whose server span is the child of the client span, with Istio's
// tags; spans reach an OTLP/HTTP receiver in this file (OpenTelemetry's JSON encoding). A
// Telemetry resource overrides the mesh's sampling and adds custom tags for one workload. A zipkin
// extension provider sends Zipkin v2 JSON to a receiver in this file, with B3 propagation.
// Subnet 62: hosts 9 (OTLP collectors), 10–31 (OTLP meshes), 40–41 (zipkin mesh), 49 (zipkin).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  INJECTED_NAMESPACE_YAML,
  type Mesh,
  podYaml,
  serviceYaml,
  startMesh,
} from "./support/mesh.ts";
import { OtlpReceiver, SPAN_KIND_CLIENT, SPAN_KIND_SERVER } from "./support/otlp-receiver.ts";
import { until } from "./support/until.ts";

const SUBNET = 62;
const ip = (host: number, n = 1) => `127.${SUBNET}.${host}.${n}`;
const dir = mkdtempSync(join(tmpdir(), "crema-tracing-"));
/** The 100 % mesh's access log: each line is the stream's %TRACE_ID% and its x-request-id. */
const ACCESS_LOG = join(dir, "access.log");
/** Export every 100 ms rather than Envoy's 5 s, so the test waits little for its spans. */
const PROXY_ENV = { CREMA_TRACING_FLUSH_INTERVAL_MS: "100" };

// ---- The mesh ----

function meshConfig(provider: string, sampling: number, extra = ""): string {
  return `${extra}enableTracing: true
defaultConfig:
  tracing:
    sampling: ${sampling}
extensionProviders:
- name: otel
  opentelemetry:
    service: otel-collector.default.svc.cluster.local
    port: 4318
    http: {path: /v1/traces}
- name: dead
  opentelemetry:
    service: dead-collector.default.svc.cluster.local
    port: 4318
    http: {path: /v1/traces}
defaultProviders:
  tracing: [${provider}]
`;
}

function config(host: number, extra = ""): string {
  return `${INJECTED_NAMESPACE_YAML}---
${serviceYaml("echo")}---
${podYaml({ name: "echo-1", ip: ip(host), labels: { app: "echo", version: "v1" }, ports: [8080] })}---
${podYaml({ name: "sleep", ip: ip(host + 1), labels: { app: "sleep" } })}---
${serviceYaml("otel-collector", { ports: [{ name: "http-otlp", port: 4318, targetPort: 4318 }] })}---
${podYaml({ name: "otel-collector", ip: ip(9), labels: { app: "otel-collector" }, ports: [4318] })}---
${serviceYaml("dead-collector", { ports: [{ name: "http-otlp", port: 4318, targetPort: 4318 }] })}---
${podYaml({ name: "dead-collector", ip: ip(9, 9), labels: { app: "dead-collector" }, ports: [4318] })}
${extra ? `---\n${extra}` : ""}`;
}

/** A control plane with `meshConfigYaml`, a sleep sidecar and an echo pod with its sidecar. */
async function startTracingMesh(
  host: number,
  meshConfigYaml: string,
  extraConfig = "",
): Promise<Mesh & { sleepAdmin: string }> {
  const file = join(dir, `mesh-${host}.yaml`);
  writeFileSync(file, meshConfigYaml);
  const mesh = await startMesh(SUBNET, config(host, extraConfig), {
    controlPlaneArgs: ["--mesh-config", file],
  });
  await mesh.startEcho({ pod: "echo-1", ip: ip(host, 2) });
  await mesh.startProxy({
    pod: "echo-1",
    ip: ip(host),
    labels: { app: "echo", version: "v1" },
    appAddress: ip(host, 2),
    env: PROXY_ENV,
  });
  const sleep = await mesh.startProxy({
    pod: "sleep",
    ip: ip(host + 1),
    labels: { app: "sleep" },
    env: PROXY_ENV,
  });
  return Object.assign(mesh, { sleepAdmin: sleep.adminUrl });
}

interface EchoReply {
  status: number;
  headers: Record<string, string | string[]>;
}

/** GET http://echo/ through the sleep sidecar; the echo's view of the request headers. */
function call(sidecar: string, headers: Record<string, string> = {}): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: sidecar, port: 15001, path: "http://echo/trace", headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          const body = res.statusCode === 200 ? (JSON.parse(text) as EchoReply) : undefined;
          resolve({ status: res.statusCode ?? 0, headers: body?.headers ?? {} });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The trace id and sampled flag of the traceparent the echo app received. */
function received(reply: EchoReply): { traceId: string; spanId: string; sampled: boolean } {
  const value = String(reply.headers.traceparent ?? "");
  const [, traceId = "", spanId = "", flags = ""] = value.split("-");
  return { traceId, spanId, sampled: flags === "01" };
}

const receiver = new OtlpReceiver();

beforeAll(async () => {
  await receiver.listen(ip(9), 4318);
});

afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("tracing at 100 % sampling", () => {
  let mesh: Mesh;
  const sleep = ip(11);
  beforeAll(async () => {
    mesh = await startTracingMesh(
      10,
      meshConfig(
        "otel",
        100,
        `accessLogFile: ${ACCESS_LOG}\naccessLogFormat: "%TRACE_ID% %REQ(X-REQUEST-ID)%"\n`,
      ),
    );
  }, 60_000);
  afterAll(async () => {
    await mesh?.stop();
  });

  it("records a client span and its child server span in one trace, with Istio's tags", async () => {
    const reply = await call(sleep, { "user-agent": "tracing-test/1" });
    expect(reply.status).toBe(200);
    const context = received(reply);
    expect(context.sampled).toBe(true);
    const spans = await receiver.trace(context.traceId, 2);
    const client = spans.find((s) => s.kind === SPAN_KIND_CLIENT)!;
    const server = spans.find((s) => s.kind === SPAN_KIND_SERVER)!;
    expect(client).toBeDefined();
    expect(server).toBeDefined();
    expect(client.parentSpanId).toBeUndefined();
    expect(server.parentSpanId).toBe(client.spanId);
    // The app sees the server sidecar's span as its parent.
    expect(context.spanId).toBe(server.spanId);
    expect(client.serviceName).toBe("sleep.default");
    expect(server.serviceName).toBe("echo.default");
    // Istio's route decorator names both spans (the client passes it in x-envoy-decorator-operation).
    expect(client.name).toBe("echo.default.svc.cluster.local:80/*");
    expect(server.name).toBe("echo.default.svc.cluster.local:80/*");
    expect(reply.headers["x-envoy-decorator-operation"]).toBeUndefined();
    expect(client.tags).toMatchObject({
      "http.method": "GET",
      "http.url": "http://echo/trace",
      "http.protocol": "HTTP/1.1",
      "http.status_code": "200",
      upstream_cluster: "outbound|80||echo.default.svc.cluster.local",
      "upstream_cluster.name": "outbound|80||echo.default.svc.cluster.local",
      response_flags: "-",
      component: "proxy",
      user_agent: "tracing-test/1",
      "istio.canonical_service": "sleep",
      "istio.canonical_revision": "latest",
      "istio.namespace": "default",
      "istio.mesh_id": "cluster.local",
    });
    expect(client.tags.node_id).toMatch(/^sidecar~127\.62\.11\.1~sleep\.default~/);
    expect(client.tags["guid:x-request-id"]).toBe(reply.headers["x-request-id"]);
    expect(server.tags).toMatchObject({
      "http.status_code": "200",
      upstream_cluster: "inbound|8080||",
      "istio.canonical_service": "echo",
      "istio.canonical_revision": "v1",
      "guid:x-request-id": reply.headers["x-request-id"],
    });
    expect(client.tags.error).toBeUndefined();
    // Both sidecars' access logs carry the trace id (%TRACE_ID%) beside the request id.
    const requestId = String(reply.headers["x-request-id"]);
    let lines: string[] = [];
    await until(
      "both sidecars' access logs show the request",
      async () => {
        lines = readFileSync(ACCESS_LOG, "utf8")
          .split("\n")
          .filter((line) => line.endsWith(requestId));
        return lines.length >= 2;
      },
      { intervalMs: 25, timeoutMs: 10_000, detail: () => `lines seen: ${JSON.stringify(lines)}` },
    );
    expect(lines).toEqual([`${context.traceId} ${requestId}`, `${context.traceId} ${requestId}`]);
  });

  it("continues an incoming traceparent and keeps its tracestate", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const reply = await call(sleep, {
      traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
      tracestate: "vendor=x",
    });
    expect(reply.status).toBe(200);
    expect(received(reply).traceId).toBe(traceId);
    expect(reply.headers.tracestate).toBe("vendor=x");
    const spans = await receiver.trace(traceId, 2);
    const client = spans.find((s) => s.kind === SPAN_KIND_CLIENT)!;
    expect(client.parentSpanId).toBe("00f067aa0ba902b7");
  });

  it("continues a B3 trace and answers in B3 as well", async () => {
    const traceId = "80f198ee56343ba864fe8b2a57d3eff7";
    const reply = await call(sleep, {
      "x-b3-traceid": traceId,
      "x-b3-spanid": "e457b5a2e4d86bd1",
      "x-b3-sampled": "1",
    });
    expect(reply.headers["x-b3-traceid"]).toBe(traceId);
    expect(reply.headers["x-b3-sampled"]).toBe("1");
    const spans = await receiver.trace(traceId, 2);
    const server = spans.find((s) => s.kind === SPAN_KIND_SERVER)!;
    expect(reply.headers["x-b3-spanid"]).toBe(server.spanId);
  });

  it("respects an upstream decision not to sample", async () => {
    const reply = await call(sleep, {
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
    });
    expect(reply.status).toBe(200);
    const context = received(reply);
    expect(context.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(context.sampled).toBe(false);
  });
});

describe("tracing at (practically) 0 % sampling", () => {
  let mesh: Mesh & { sleepAdmin: string };
  const sleep = ip(21);
  beforeAll(async () => {
    // Istio reads sampling 0 as "unset" (its 1 % default); one in 10^8 is as good as none.
    mesh = await startTracingMesh(20, meshConfig("otel", 0.000001));
  }, 60_000);
  afterAll(async () => {
    await mesh?.stop();
  });

  it("samples nothing, yet x-envoy-force-trace is honoured", async () => {
    const unsampled: string[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = await call(sleep);
      expect(reply.status).toBe(200);
      const context = received(reply);
      expect(context.sampled).toBe(false);
      unsampled.push(context.traceId);
    }
    const forced = await call(sleep, { "x-envoy-force-trace": "true" });
    const context = received(forced);
    expect(context.sampled).toBe(true);
    const spans = await receiver.trace(context.traceId, 2);
    expect(spans.map((s) => s.kind).sort()).toEqual([SPAN_KIND_SERVER, SPAN_KIND_CLIENT]);
    expect(receiver.spans.filter((s) => unsampled.includes(s.traceId))).toEqual([]);
  });

  it("samples everything for the workload a Telemetry selects, with its custom tags", async () => {
    mesh.apply(
      "10-telemetry.yaml",
      `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: sleep-traced, namespace: default}
spec:
  selector: {matchLabels: {app: sleep}}
  tracing:
  - randomSamplingPercentage: 100
    customTags:
      team: {literal: {value: coffee}}
      user: {header: {name: x-user, defaultValue: nobody}}
`,
    );
    await until(
      "the Telemetry reaches the sleep sidecar",
      async () => (await (await fetch(`${mesh.sleepAdmin}/config_dump`)).text()).includes("coffee"),
      { intervalMs: 25 },
    );
    // A keep-alive connection accepted before the update finishes one request on the old chain.
    await call(sleep);
    for (let i = 0; i < 3; i++) {
      const reply = await call(sleep, { "x-user": "ada" });
      const context = received(reply);
      expect(context.sampled).toBe(true);
      const spans = await receiver.trace(context.traceId, 2);
      const client = spans.find((s) => s.kind === SPAN_KIND_CLIENT)!;
      const server = spans.find((s) => s.kind === SPAN_KIND_SERVER)!;
      expect(client.tags).toMatchObject({ team: "coffee", user: "ada" });
      // The echo workload is not selected: its span has Istio's tags only.
      expect(server.tags.team).toBeUndefined();
    }
  });
});

describe("a dead collector", () => {
  let mesh: Mesh;
  const sleep = ip(31);
  beforeAll(async () => {
    mesh = await startTracingMesh(30, meshConfig("dead", 100));
  }, 60_000);
  afterAll(async () => {
    await mesh?.stop();
  });

  it("fails no request", async () => {
    const replies = await Promise.all(Array.from({ length: 20 }, () => call(sleep)));
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(received(reply).sampled).toBe(true);
    }
    const more = await Promise.all(Array.from({ length: 20 }, () => call(sleep)));
    expect(more.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
  });
});

// ---- Zipkin: a zipkin extension provider, v2 JSON spans, B3 propagation ----

interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: string;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

/** A span as the receiver got it, with the request path and Host it came with. */
type ReceivedZipkinSpan = ZipkinSpan & { path: string; host: string };

/** A Zipkin v2 collector's span intake: POST …/api/v2/spans with a JSON array of spans. */
class ZipkinReceiver {
  readonly spans: ReceivedZipkinSpan[] = [];
  private readonly server: Server;
  private waiters: (() => void)[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const path = req.url ?? "";
        if (req.method !== "POST" || !path.endsWith("/api/v2/spans")) {
          res.writeHead(404).end();
          return;
        }
        const spans = JSON.parse(Buffer.concat(chunks).toString()) as ZipkinSpan[];
        for (const span of spans) this.spans.push({ ...span, path, host: req.headers.host ?? "" });
        res.writeHead(202).end();
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, host, resolve));
  }

  async trace(traceId: string, count: number): Promise<ReceivedZipkinSpan[]> {
    for (;;) {
      const spans = this.spans.filter((s) => s.traceId === traceId);
      if (spans.length >= count) return spans;
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const ZIPKIN_MESH_CONFIG = `enableTracing: true
defaultConfig:
  tracing:
    sampling: 100
extensionProviders:
- name: zipkin
  zipkin:
    service: zipkin.default.svc.cluster.local
    port: 9411
- name: zipkin-64
  zipkin:
    service: zipkin.default.svc.cluster.local
    port: 9411
    path: /narrow/api/v2/spans
    enable64bitTraceId: true
defaultProviders:
  tracing: [zipkin]
`;

const ZIPKIN_YAML = `${serviceYaml("zipkin", { ports: [{ name: "http-query", port: 9411, targetPort: 9411 }] })}---
${podYaml({ name: "zipkin", ip: ip(49), labels: { app: "zipkin" }, ports: [9411] })}`;

function header(reply: EchoReply, name: string): string | undefined {
  const value = reply.headers[name];
  return value === undefined ? undefined : String(value);
}

describe("tracing with a zipkin provider", () => {
  const zipkin = new ZipkinReceiver();
  let mesh: Mesh & { sleepAdmin: string };
  const sleep = ip(41);
  beforeAll(async () => {
    await zipkin.listen(ip(49), 9411);
    mesh = await startTracingMesh(40, ZIPKIN_MESH_CONFIG, ZIPKIN_YAML);
  }, 60_000);
  afterAll(async () => {
    await mesh?.stop();
    await zipkin.close();
  });

  it("reports a CLIENT span and its child SERVER span in Zipkin's format, with B3 to the app", async () => {
    const reply = await call(sleep, { "user-agent": "tracing-test/1" });
    expect(reply.status).toBe(200);
    const traceId = header(reply, "x-b3-traceid") ?? "";
    // istiod's default: trace_id_128bit unless enable64bitTraceId.
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(header(reply, "x-b3-sampled")).toBe("1");
    // The Zipkin tracer writes B3 only (trace_context_option USE_B3).
    expect(reply.headers.traceparent).toBeUndefined();
    const spans = await zipkin.trace(traceId, 2);
    const client = spans.find((s) => s.kind === "CLIENT")!;
    const server = spans.find((s) => s.kind === "SERVER")!;
    expect(client).toBeDefined();
    expect(server).toBeDefined();
    expect(client.parentId).toBeUndefined();
    // shared_span_context false: the server side is a span of its own, the client's child.
    expect(server.parentId).toBe(client.id);
    expect(server.id).not.toBe(client.id);
    expect(header(reply, "x-b3-spanid")).toBe(server.id);
    expect(header(reply, "x-b3-parentspanid")).toBe(client.id);
    expect(client.localEndpoint?.serviceName).toBe("sleep.default");
    expect(server.localEndpoint?.serviceName).toBe("echo.default");
    expect(client.name).toBe("echo.default.svc.cluster.local:80/*");
    expect(server.name).toBe("echo.default.svc.cluster.local:80/*");
    expect(client.tags).toMatchObject({
      "http.method": "GET",
      "http.url": "http://echo/trace",
      "http.status_code": "200",
      upstream_cluster: "outbound|80||echo.default.svc.cluster.local",
      user_agent: "tracing-test/1",
      component: "proxy",
      "istio.canonical_service": "sleep",
      "istio.namespace": "default",
      "istio.mesh_id": "cluster.local",
    });
    expect(server.tags).toMatchObject({
      upstream_cluster: "inbound|8080||",
      "istio.canonical_service": "echo",
      "istio.canonical_revision": "v1",
      "guid:x-request-id": reply.headers["x-request-id"],
    });
    // Envoy's Zipkin spans carry neither empty tags (no locality: no zone) nor resource tags.
    expect(client.tags?.zone).toBeUndefined();
    expect(client.tags?.["service.name"]).toBeUndefined();
    // collector_endpoint and collector_hostname as istiod writes them.
    expect(client.path).toBe("/api/v2/spans");
    expect(client.host).toBe("zipkin.default.svc.cluster.local");
  });

  it("continues a 64-bit B3 trace at its width, and leaves a traceparent alone", async () => {
    const traceId = "a3ce929d0e0e4736";
    const reply = await call(sleep, {
      "x-b3-traceid": traceId,
      "x-b3-spanid": "00f067aa0ba902b7",
      "x-b3-sampled": "1",
    });
    expect(header(reply, "x-b3-traceid")).toBe(traceId);
    const spans = await zipkin.trace(traceId, 2);
    const client = spans.find((s) => s.kind === "CLIENT")!;
    expect(client.parentId).toBe("00f067aa0ba902b7");

    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const w3c = await call(sleep, { traceparent });
    expect(w3c.headers.traceparent).toBe(traceparent);
    const fresh = header(w3c, "x-b3-traceid") ?? "";
    expect(fresh).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh).not.toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    const root = (await zipkin.trace(fresh, 2)).find((s) => s.kind === "CLIENT")!;
    expect(root.parentId).toBeUndefined();
  });

  it("starts 64-bit traces for a provider with enable64bitTraceId, reporting to its path", async () => {
    mesh.apply(
      "10-telemetry.yaml",
      `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: sleep-narrow, namespace: default}
spec:
  selector: {matchLabels: {app: sleep}}
  tracing:
  - providers: [{name: zipkin-64}]
`,
    );
    await until(
      "the Telemetry reaches the sleep sidecar",
      async () =>
        (await (await fetch(`${mesh.sleepAdmin}/config_dump`)).text()).includes(
          "/narrow/api/v2/spans",
        ),
      { intervalMs: 25 },
    );
    // A keep-alive connection accepted before the update finishes one request on the old chain.
    await call(sleep);
    const reply = await call(sleep);
    const traceId = header(reply, "x-b3-traceid") ?? "";
    expect(traceId).toMatch(/^[0-9a-f]{16}$/);
    const spans = await zipkin.trace(traceId, 2);
    const client = spans.find((s) => s.kind === "CLIENT")!;
    const server = spans.find((s) => s.kind === "SERVER")!;
    expect(client.path).toBe("/narrow/api/v2/spans");
    // The echo sidecar keeps the mesh's provider and continues the 64-bit trace.
    expect(server.path).toBe("/api/v2/spans");
    expect(server.parentId).toBe(client.id);
  });
});
