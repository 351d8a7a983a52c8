// OpenTelemetry's SDK, loaded the first time an HCM traces: most proxies have no tracing config,
// and loading the SDK and its exporters costs every proxy start about 0.1 s of CPU otherwise.
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

export interface OtelSdk {
  readonly trace: typeof import("@opentelemetry/sdk-trace");
  readonly resources: typeof import("@opentelemetry/resources");
  readonly semconv: typeof import("@opentelemetry/semantic-conventions");
}

let sdk: OtelSdk | undefined;

export function otelSdk(): OtelSdk {
  sdk ??= {
    trace: load("@opentelemetry/sdk-trace"),
    resources: load("@opentelemetry/resources"),
    semconv: load("@opentelemetry/semantic-conventions"),
  };
  return sdk;
}

/** The OTLP exporters (gRPC and HTTP), loaded on the first export's set-up. */
export function otlpExporters(): {
  grpc: typeof import("@opentelemetry/exporter-trace-otlp-grpc");
  http: typeof import("@opentelemetry/exporter-trace-otlp-http");
} {
  return {
    grpc: load("@opentelemetry/exporter-trace-otlp-grpc"),
    http: load("@opentelemetry/exporter-trace-otlp-http"),
  };
}

/** OpenTelemetry's Zipkin exporter (v2 JSON over HTTP), loaded on the first export's set-up. */
export function zipkinExporterModule(): typeof import("@opentelemetry/exporter-zipkin") {
  return load("@opentelemetry/exporter-zipkin");
}
