// Distributed tracing as an operator turns it on for the coffee-shop demo: `crema up
// --mesh-config` names an OpenTelemetry collector (this file's OTLP/HTTP receiver, reached
// through a ServiceEntry), a mesh-wide Telemetry turns tracing on (sampling every request, as
// Istio's demo profile and crema's local runtime do by default), and one order placed
// through the ingress gateway — gateway → order-service → inventory-service and payment-service
// — comes back as one trace whose spans, from every proxy on the way, are parented hop by hop.
// Pods live in 127.74.0.0/16; the receiver listens on 127.74.255.250.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeState } from "../../src/runtime/runtime-state.ts";
import { ownAddresses, runCrema } from "./support/crema-cli.ts";
import {
  OtlpReceiver,
  type ReceivedSpan,
  SPAN_KIND_CLIENT,
  SPAN_KIND_SERVER,
} from "./support/otlp-receiver.ts";

const POD_CIDR = "127.74.0.0/16";
const COLLECTOR_IP = "127.74.255.250";
const DEMO = "examples/coffee-shop";

const MESH_CONFIG = `extensionProviders:
- name: otel
  opentelemetry:
    service: otel-collector.istio-system.svc.cluster.local
    port: 4318
    http: {path: /v1/traces}
`;

// In istio-system: the demo's Sidecar resources let its proxies see only their own namespace and
// istio-system, and a proxy exports spans only to a collector its configuration holds.
const TRACING = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: otel-collector, namespace: istio-system}
spec:
  hosts: [otel-collector.istio-system.svc.cluster.local]
  location: MESH_EXTERNAL
  ports: [{number: 4318, name: http-otlp, protocol: HTTP}]
  resolution: STATIC
  endpoints: [{address: ${COLLECTOR_IP}}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: mesh-default, namespace: istio-system}
spec:
  tracing:
  - providers: [{name: otel}]
`;

let stateDir: string;
let ingressPort: number;
const receiver = new OtlpReceiver();
const crema = (args: string[]) => runCrema(args, stateDir);

/** POST /api/orders on the ingress gateway, continuing the caller's sampled trace. */
function placeOrder(traceparent: string): Promise<{ status: number; body: string }> {
  const body = JSON.stringify({ drink: "latte", size: "large", quantity: 1, customer: "ada" });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: ingressPort,
        method: "POST",
        path: "/api/orders",
        headers: {
          host: "coffee.example.com",
          "content-type": "application/json",
          ...(traceparent ? { traceparent } : {}),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.once("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  // Spans leave every 100 ms rather than Envoy's 5 s (the pods inherit the runtime's environment).
  process.env.CREMA_TRACING_FLUSH_INTERVAL_MS = "100";
  await receiver.listen(COLLECTOR_IP, 4318);
  stateDir = mkdtempSync(join(tmpdir(), "crema-tracing-demo-"));
  const meshConfig = join(stateDir, "mesh.yaml");
  const tracing = join(stateDir, "tracing.yaml");
  writeFileSync(meshConfig, MESH_CONFIG);
  writeFileSync(tracing, TRACING);
  const up = await crema([
    "up",
    DEMO,
    tracing,
    "--detach",
    ...ownAddresses(POD_CIDR),
    "--mesh-config",
    meshConfig,
  ]);
  expect(up.code, `${up.stdout}${up.stderr}`).toBe(0);
  const status = JSON.parse((await crema(["status", "-o", "json"])).stdout) as {
    ingress: RuntimeState["ingress"];
  };
  ingressPort = Number(new URL(status.ingress.http!).port);
}, 180_000);

afterAll(async () => {
  if (stateDir) {
    await crema(["down"]);
    rmSync(stateDir, { recursive: true, force: true });
  }
  await receiver.close();
}, 60_000);

describe("a trace through the coffee shop", () => {
  it("has a span from every proxy on the order's way, each the child of the hop before", async () => {
    const traceId = "5b8efff798038103d269b633813fc60c";
    const callerSpan = "eee19b7ec3c1b174";
    const order = await placeOrder(`00-${traceId}-${callerSpan}-01`);
    expect(order.status, order.body).toBe(201);
    // Gateway: server + its upstream child; order-service: server + one client per call;
    // inventory-service and payment-service: one server span each.
    const spans = await receiver.trace(traceId, 7);
    const one = (service: string, kind: number, name?: string): ReceivedSpan => {
      const found = spans.filter(
        (s) =>
          s.serviceName.startsWith(service) &&
          s.kind === kind &&
          (name === undefined || s.tags.upstream_cluster?.includes(name)),
      );
      expect(found, `${service} kind ${kind} ${name ?? ""}: ${JSON.stringify(spans)}`).toHaveLength(
        1,
      );
      return found[0]!;
    };
    const gatewayServer = one("istio-ingressgateway.", SPAN_KIND_SERVER);
    const gatewayClient = one("istio-ingressgateway.", SPAN_KIND_CLIENT);
    const orderServer = one("order-service.", SPAN_KIND_SERVER);
    const toInventory = one("order-service.", SPAN_KIND_CLIENT, "inventory-service");
    const toPayment = one("order-service.", SPAN_KIND_CLIENT, "payment-service");
    const inventory = one("inventory-service.", SPAN_KIND_SERVER);
    const payment = one("payment-service.", SPAN_KIND_SERVER);
    expect(gatewayServer.parentSpanId).toBe(callerSpan);
    expect(gatewayClient.parentSpanId).toBe(gatewayServer.spanId);
    expect(orderServer.parentSpanId).toBe(gatewayClient.spanId);
    expect(toInventory.parentSpanId).toBe(orderServer.spanId);
    expect(toPayment.parentSpanId).toBe(orderServer.spanId);
    expect(inventory.parentSpanId).toBe(toInventory.spanId);
    expect(payment.parentSpanId).toBe(toPayment.spanId);
    expect(orderServer.tags).toMatchObject({
      "istio.canonical_service": "order-service",
      "istio.namespace": "coffee-shop",
      "http.status_code": "201",
    });
    expect(payment.tags["http.method"]).toBe("POST");
  });

  it("samples a request that comes without a trace: the local runtime's default is 100 %", async () => {
    const before = new Set(receiver.spans.map((s) => s.traceId));
    const order = await placeOrder("");
    expect(order.status, order.body).toBe(201);
    const root = await receiver.waitFor(
      (s) => !before.has(s.traceId) && s.kind === SPAN_KIND_SERVER && s.parentSpanId === undefined,
    );
    expect(root.serviceName).toMatch(/^istio-ingressgateway\./);
    expect(await receiver.trace(root.traceId, 7)).toHaveLength(7);
  });
});
