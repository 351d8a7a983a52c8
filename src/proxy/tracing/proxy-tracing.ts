// Tracing for one proxy thread (Envoy's thread-local tracer): an OpenTelemetry TracerProvider per
// distinct provider config (OTLP or Zipkin), each with a bounded BatchSpanProcessor in front of a
// ClusterSpanExporter, and the per-HCM tracer that starts each stream's span. A slow or dead
// collector only ever fills (then overflows) the bounded queue: span.end() never waits on I/O.
import type { Tracer } from "@opentelemetry/api";
import type { TracerProvider } from "@opentelemetry/sdk-trace";
import type { Logger } from "../../base/logger.ts";
import type { JsonObject } from "../../xds/proto-json.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import type { CompiledRoute, MutableHeaders, RouteRequest } from "../routing/types.ts";
import type { ClusterManager } from "../upstream/cluster-manager.ts";
import { ClusterSpanExporter } from "./cluster-span-exporter.ts";
import { otelSdk } from "./otel-sdk.ts";
import { otlpExporterFactory } from "./otlp-span-exporter.ts";
import {
  extractParentContext,
  extractZipkinParentContext,
  type ParentContext,
} from "./propagation.ts";
import { decideSampled, hcmSamplingReason } from "./sampling.ts";
import { type LocalNode, requestTags } from "./span-tags.ts";
import { StreamSpan } from "./stream-span.ts";
import { sixtyFourBitIdGenerator, sixtyFourBitTraces } from "./trace-ids.ts";
import type { TracingConfig, TracingProvider } from "./types.ts";
import { zipkinExporterFactory } from "./zipkin-span-exporter.ts";

/** Envoy's tracing.opentelemetry.flush_interval_ms default. */
const DEFAULT_FLUSH_INTERVAL_MS = 5_000;
/** Spans waiting for export per provider and thread; beyond it new spans are dropped. */
const MAX_QUEUE_SIZE = 2048;
const MAX_EXPORT_BATCH_SIZE = 512;
/** How long one export may take before the processor gives up on it. */
const EXPORT_TIMEOUT_MS = 10_000;
const DECORATOR_OPERATION = "x-envoy-decorator-operation";

export interface ProxyTracingOptions {
  clusters: ClusterManager;
  /** The proxy's xDS node: node_id and zone tags. */
  node: JsonObject;
  logger: Logger;
  random?: () => number;
  /** How often queued spans are exported (default 5 s, Envoy's). */
  flushIntervalMs?: number | undefined;
}

function localNode(node: JsonObject): LocalNode {
  const locality = node.locality as Record<string, unknown> | undefined;
  return {
    nodeId: typeof node.id === "string" ? node.id : "",
    zone: typeof locality?.zone === "string" ? locality.zone : "",
  };
}

/** What the HCM knows when it starts a stream's span (after route selection). */
export interface StreamStart {
  /** The request headers to be forwarded (HCM mutations applied); the context is read here. */
  headers: MutableHeaders;
  route: RouteRequest;
  info: StreamInfo;
  /** The selected route's decorator, when a route was selected. */
  decorator: CompiledRoute["decorator"];
}

/** The tracer of one HCM: its tracing config and the direction of its listener. */
export class HcmTracer {
  private readonly config: TracingConfig;
  private readonly tracer: Tracer;
  private readonly ingress: boolean;
  private readonly node: LocalNode;
  private readonly random: () => number;

  constructor(options: {
    config: TracingConfig;
    tracer: Tracer;
    ingress: boolean;
    node: LocalNode;
    random: () => number;
  }) {
    this.config = options.config;
    this.tracer = options.tracer;
    this.ingress = options.ingress;
    this.node = options.node;
    this.random = options.random;
  }

  /** The context the provider's tracer reads: W3C then B3 (OpenTelemetry), or B3 (Zipkin). */
  private extract(headers: MutableHeaders): ParentContext | undefined {
    const provider = this.config.provider;
    return provider.kind === "zipkin"
      ? extractZipkinParentContext(headers, provider.w3cPropagation)
      : extractParentContext(headers);
  }

  /** Starts the stream's span; the HCM ends it with the stream (StreamSpan.end). */
  start(stream: StreamStart): StreamSpan {
    const { headers, route, decorator } = stream;
    const parent = this.extract(headers);
    const reason = hcmSamplingReason(this.config, headers, this.random);
    const sampled = decideSampled(parent, headers, reason);
    let name = this.ingress ? "ingress" : `egress ${route.authority}`;
    if (decorator?.operation) name = decorator.operation;
    if (this.ingress) {
      // The client's decorator names the server span too; the header never reaches the app.
      const override = headers[DECORATOR_OPERATION];
      if (typeof override === "string" && override !== "") name = override;
      delete headers[DECORATOR_OPERATION];
    } else if (decorator?.operation && decorator.propagate) {
      headers[DECORATOR_OPERATION] = decorator.operation;
    }
    const span = new StreamSpan({
      tracer: this.tracer,
      config: this.config,
      parent,
      sampled,
      name,
      kind: this.ingress ? "server" : "client",
      startTime: stream.info.startTime,
      attributes: sampled
        ? requestTags({
            headers,
            route,
            info: stream.info,
            node: this.node,
            maxPathTagLength: this.config.maxPathTagLength,
            customTags: this.config.customTags,
          })
        : {},
    });
    stream.info.traceId = span.traceId;
    return span;
  }
}

export class ProxyTracing {
  private readonly options: ProxyTracingOptions;
  private readonly node: LocalNode;
  /** The node's cluster: Envoy's Zipkin tracer names every span's service with it. */
  private readonly serviceCluster: string;
  private readonly providers = new Map<string, TracerProvider>();
  private closed = false;

  constructor(options: ProxyTracingOptions) {
    this.options = options;
    this.node = localNode(options.node);
    const cluster = options.node.cluster;
    this.serviceCluster = typeof cluster === "string" ? cluster : "";
  }

  /** The tracer for an HCM with this tracing config on a listener of this direction. */
  hcmTracer(config: TracingConfig, ingress: boolean): HcmTracer {
    return new HcmTracer({
      config,
      tracer: this.providerFor(config.provider).getTracer("crema"),
      ingress,
      node: this.node,
      random: this.options.random ?? Math.random,
    });
  }

  /** One TracerProvider per distinct provider config, shared by every HCM that names it. */
  private providerFor(provider: TracingProvider): TracerProvider {
    const key = JSON.stringify(provider);
    let tracerProvider = this.providers.get(key);
    if (tracerProvider) return tracerProvider;
    const exporter = new ClusterSpanExporter({
      clusterName: provider.clusterName,
      createExporter:
        provider.kind === "zipkin"
          ? zipkinExporterFactory(provider, this.serviceCluster)
          : otlpExporterFactory(provider),
      clusters: this.options.clusters,
      logger: this.options.logger,
    });
    const { trace, resources, semconv } = otelSdk();
    const { AlwaysOnSampler, BatchSpanProcessor, RandomIdGenerator, TracerProvider } = trace;
    tracerProvider = new TracerProvider({
      // Sampling is decided per stream (sampling.ts); only sampled spans are started.
      sampler: new AlwaysOnSampler(),
      // Zipkin spans carry the service in localEndpoint and no resource tags, as Envoy's do.
      resource:
        provider.kind === "zipkin"
          ? resources.emptyResource()
          : resources.resourceFromAttributes({
              [semconv.ATTR_SERVICE_NAME]: provider.serviceName,
            }),
      ...(sixtyFourBitTraces(provider)
        ? { idGenerator: sixtyFourBitIdGenerator(new RandomIdGenerator()) }
        : {}),
      spanProcessors: [
        new BatchSpanProcessor({
          exporter,
          maxQueueSize: MAX_QUEUE_SIZE,
          maxExportBatchSize: MAX_EXPORT_BATCH_SIZE,
          scheduledDelayMillis: this.options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
          exportTimeoutMillis: EXPORT_TIMEOUT_MS,
        }),
      ],
    });
    if (!this.closed) this.providers.set(key, tracerProvider);
    return tracerProvider;
  }

  /** Exports what is queued (bounded by the export timeout) and stops every exporter. */
  async close(): Promise<void> {
    this.closed = true;
    const providers = [...this.providers.values()];
    this.providers.clear();
    await Promise.allSettled(providers.map((p) => p.shutdown()));
  }
}
