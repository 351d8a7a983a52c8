// A span as Envoy's Zipkin tracer reports it, through OpenTelemetry's Zipkin exporter: 16-digit
// ids for 64-bit traces, no empty tags, no OpenTelemetry status tag, the node's cluster as the
// service; POSTed to collector_endpoint with collector_hostname as Host.
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { emptyResource } from "@opentelemetry/resources";
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { describe, expect, it } from "vitest";
import { sixtyFourBitIdGenerator } from "./trace-ids.ts";
import { zipkinExporterFactory } from "./zipkin-span-exporter.ts";

function recordSpan(): ReadableSpan {
  const memory = new InMemorySpanExporter();
  // As ProxyTracing builds a Zipkin provider's: no resource attributes to become tags.
  const provider = new TracerProvider({
    resource: emptyResource(),
    idGenerator: sixtyFourBitIdGenerator({
      generateTraceId: () => "f".repeat(32),
      generateSpanId: () => "0123456789abcdef",
    }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const span = provider.getTracer("t").startSpan("echo:80/*", {
    kind: SpanKind.CLIENT,
    attributes: { zone: "", "http.status_code": "503", error: "true", request_size: 7 },
  });
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  return memory.getFinishedSpans()[0]!;
}

describe("zipkinExporterFactory", () => {
  it("posts Envoy-shaped v2 JSON spans to the collector address", async () => {
    const received: { url?: string; headers?: IncomingHttpHeaders; body?: unknown } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        Object.assign(received, {
          url: req.url,
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const exporter = zipkinExporterFactory(
      {
        kind: "zipkin",
        clusterName: "outbound|9411||zipkin",
        authority: "zipkin.istio-system",
        path: "/api/v2/spans",
        traceId128bit: false,
        w3cPropagation: false,
      },
      "sleep.default",
    )(`127.0.0.1:${port}`);
    const result = await new Promise<{ code: number }>((resolve) =>
      exporter.export([recordSpan()], resolve),
    );
    await exporter.shutdown();
    server.close();
    expect(result.code).toBe(0);
    expect(received.url).toBe("/api/v2/spans");
    expect(received.headers?.host).toBe("zipkin.istio-system");
    expect(received.headers?.["content-type"]).toBe("application/json");
    expect(received.body).toEqual([
      expect.objectContaining({
        traceId: "0123456789abcdef",
        id: "0123456789abcdef",
        name: "echo:80/*",
        kind: "CLIENT",
        localEndpoint: { serviceName: "sleep.default" },
        tags: { "http.status_code": "503", error: "true", request_size: "7" },
      }),
    ]);
  });
});
