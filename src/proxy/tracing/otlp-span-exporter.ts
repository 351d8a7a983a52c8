// OpenTelemetry's own OTLP exporters for one collector address, as an OpenTelemetryConfig's
// collector asks: OTLP/gRPC with its initial metadata, or OTLP/HTTP (JSON) to the http_uri's path
// with its Host and extra headers.
import { Metadata } from "@grpc/grpc-js";
import type { AddressExporterFactory } from "./cluster-span-exporter.ts";
import { otlpExporters } from "./otel-sdk.ts";
import type { OpenTelemetryProvider } from "./types.ts";

export function otlpExporterFactory(provider: OpenTelemetryProvider): AddressExporterFactory {
  const timeout = provider.timeoutMs ? { timeoutMillis: provider.timeoutMs } : {};
  return (address) => {
    if (provider.transport === "grpc") {
      const metadata = new Metadata();
      for (const [key, value] of Object.entries(provider.headers)) metadata.set(key, value);
      return new (otlpExporters().grpc.OTLPTraceExporter)({
        url: `http://${address}`,
        metadata,
        ...timeout,
      });
    }
    const headers: Record<string, string> = { ...provider.headers };
    if (provider.authority) headers.host = provider.authority;
    return new (otlpExporters().http.OTLPTraceExporter)({
      url: `http://${address}${provider.path}`,
      headers,
      ...timeout,
    });
  };
}
