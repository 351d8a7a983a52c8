// OpenTelemetry's own Zipkin exporter for one collector address, as a ZipkinConfig asks: v2 JSON
// POSTed to collector_endpoint with collector_hostname as Host, the node's cluster as every span's
// localEndpoint.serviceName. Spans are handed over as Envoy's Zipkin tracer reports them: trace
// ids at their width (16 digits for a 64-bit trace), no empty-valued tags (Envoy's Zipkin spans
// drop them) and no OpenTelemetry status tag (the `error` tag already carries a failure).
import { type Attributes, SpanStatusCode } from "@opentelemetry/api";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import type { AddressExporterFactory } from "./cluster-span-exporter.ts";
import { zipkinExporterModule } from "./otel-sdk.ts";
import { zipkinTraceId } from "./trace-ids.ts";
import type { ZipkinProvider } from "./types.ts";

/** `span` as Envoy's Zipkin tracer would have recorded it. */
export function asZipkinSpan(span: ReadableSpan): ReadableSpan {
  const context = span.spanContext();
  const traceId = zipkinTraceId(context.traceId);
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(span.attributes))
    if (value !== undefined && value !== "") attributes[key] = value;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => ({ ...context, traceId }),
    ...(span.parentSpanContext ? { parentSpanContext: span.parentSpanContext } : {}),
    startTime: span.startTime,
    endTime: span.endTime,
    status: { code: SpanStatusCode.UNSET },
    attributes,
    links: span.links,
    events: span.events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

export function zipkinExporterFactory(
  provider: ZipkinProvider,
  serviceName: string,
): AddressExporterFactory {
  return (address) => {
    const exporter = new (zipkinExporterModule().ZipkinExporter)({
      url: `http://${address}${provider.path}`,
      headers: { host: provider.authority },
      serviceName,
    });
    return {
      export: (spans, done) => exporter.export(spans.map(asZipkinSpan), done),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush(),
    };
  };
}
