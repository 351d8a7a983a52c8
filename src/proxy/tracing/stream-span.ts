// One stream's tracing as the HCM and the router drive it: the span Envoy's HCM starts once the
// route is known (SERVER on an INBOUND listener, CLIENT otherwise), the context written into each
// upstream request, an optional CLIENT child for the upstream (spawn_upstream_span), and the
// response tags when the stream ends. An unsampled stream records nothing but still propagates
// its context, so the next hop sees the decision. The context is written in the provider's
// format (W3C for OpenTelemetry, B3 for Zipkin).
import { randomBytes } from "node:crypto";
import {
  type Attributes,
  type Context,
  createTraceState,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import type { StreamInfo } from "../http/stream-info.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { injectContext, injectZipkinContext, type ParentContext } from "./propagation.ts";
import { responseTags } from "./span-tags.ts";
import { randomTraceId, sixtyFourBitTraces } from "./trace-ids.ts";
import type { TracingConfig } from "./types.ts";

export interface StreamSpanInput {
  tracer: Tracer;
  config: TracingConfig;
  parent: ParentContext | undefined;
  sampled: boolean;
  name: string;
  kind: "server" | "client";
  startTime: number;
  attributes: Attributes;
}

function parentContext(parent: ParentContext | undefined): Context {
  if (!parent) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.traceId,
    spanId: parent.spanId,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    ...(parent.traceState ? { traceState: createTraceState(parent.traceState) } : {}),
  });
}

export class StreamSpan {
  private readonly input: StreamSpanInput;
  /** The HCM's span; undefined when the stream is not sampled. */
  private readonly span: Span | undefined;
  private upstream: Span | undefined;
  readonly traceId: string;
  private readonly spanId: string;
  private ended = false;

  constructor(input: StreamSpanInput) {
    this.input = input;
    if (input.sampled) {
      const kind =
        input.kind === "server" || input.config.spawnUpstreamSpan
          ? SpanKind.SERVER
          : SpanKind.CLIENT;
      this.span = input.tracer.startSpan(
        input.name,
        { kind, startTime: input.startTime, attributes: input.attributes },
        parentContext(input.parent),
      );
      const context = this.span.spanContext();
      this.traceId = context.traceId;
      this.spanId = context.spanId;
    } else {
      this.traceId =
        input.parent?.traceId ?? randomTraceId(sixtyFourBitTraces(input.config.provider));
      this.spanId = randomBytes(8).toString("hex");
    }
  }

  get sampled(): boolean {
    return this.input.sampled;
  }

  /** Writes this stream's context into an upstream request (each attempt's headers). */
  inject(headers: MutableHeaders, clusterName: string | undefined): void {
    let spanId = this.spanId;
    let parentSpanId = this.input.parent?.spanId;
    if (this.span && this.input.config.spawnUpstreamSpan) {
      // One upstream span per stream: a retried attempt carries the same context.
      this.upstream ??= this.input.tracer.startSpan(
        `router ${clusterName ?? "-"} egress`,
        { kind: SpanKind.CLIENT, attributes: { component: "proxy" } },
        trace.setSpan(ROOT_CONTEXT, this.span),
      );
      spanId = this.upstream.spanContext().spanId;
      parentSpanId = this.spanId;
    }
    const provider = this.input.config.provider;
    if (provider.kind === "zipkin") {
      injectZipkinContext(
        headers,
        { traceId: this.traceId, spanId, sampled: this.input.sampled, parentSpanId },
        provider.w3cPropagation,
      );
      return;
    }
    injectContext(headers, {
      traceId: this.traceId,
      spanId,
      sampled: this.input.sampled,
      traceState: this.input.parent?.traceState,
      b3: this.input.parent?.b3 === true,
      parentSpanId,
    });
  }

  /** Ends the span(s) with the stream's record; only the first call counts. */
  end(
    info: StreamInfo,
    dynamicMetadata?: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
  ): void {
    if (this.ended) return;
    this.ended = true;
    const span = this.span;
    if (!span) return;
    const tags = responseTags(info, this.input.config.customTags, dynamicMetadata);
    const endTime = info.startTime + info.durationMs;
    const failed = tags.error === "true";
    if (this.upstream) {
      this.upstream.setAttributes({
        "http.status_code": tags["http.status_code"]!,
        ...(tags.upstream_cluster !== undefined
          ? {
              upstream_cluster: tags.upstream_cluster,
              "upstream_cluster.name": tags.upstream_cluster,
            }
          : {}),
        ...(tags.upstream_address !== undefined
          ? { upstream_address: tags.upstream_address, "peer.address": tags.upstream_address }
          : {}),
        ...(failed ? { error: "true" } : {}),
      });
      if (failed) this.upstream.setStatus({ code: SpanStatusCode.ERROR });
      this.upstream.end(endTime);
    }
    span.setAttributes(tags);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(endTime);
  }
}
