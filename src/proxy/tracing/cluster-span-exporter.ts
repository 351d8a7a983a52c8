// An OTLP span exporter whose collector is a cluster of the proxy's own config, as Envoy's
// envoy_grpc / http_service name it: each batch goes to a host the cluster's load balancer picks
// now (so EDS changes are followed), through OpenTelemetry's own OTLP/gRPC or OTLP/HTTP exporter
// for that address. A cluster that is unknown, warming or without a healthy endpoint drops the
// batch — spans are never queued behind a collector that cannot be reached.
import { Metadata } from "@grpc/grpc-js";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { Logger } from "../../base/logger.ts";
import type { ClusterManager } from "../upstream/cluster-manager.ts";
import { otlpExporters } from "./otel-sdk.ts";
import type { OpenTelemetryProvider } from "./types.ts";

/** OpenTelemetry's ExportResultCode (core's enum, whose package crema does not depend on). */
const SUCCESS = 0;
const FAILED = 1;
type ExportResult = { code: number; error?: Error };

/** Exporters kept per collector address; older ones are shut down when a cluster's hosts change. */
const MAX_ADDRESSES = 8;

function bracketed(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

export class ClusterSpanExporter implements SpanExporter {
  private readonly provider: OpenTelemetryProvider;
  private readonly clusters: ClusterManager;
  private readonly logger: Logger;
  private readonly byAddress = new Map<string, SpanExporter>();
  /** The last reason a batch was dropped, so a dead collector logs once, not per batch. */
  private lastDrop = "";

  constructor(provider: OpenTelemetryProvider, clusters: ClusterManager, logger: Logger) {
    this.provider = provider;
    this.clusters = clusters;
    this.logger = logger;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const picked = this.clusters.pick(this.provider.clusterName);
    if (!("host" in picked)) {
      const why =
        "noCluster" in picked
          ? "the collector cluster is unknown"
          : "warming" in picked
            ? "the collector cluster has no endpoints yet"
            : "the collector cluster has no healthy endpoint";
      this.dropped(why, spans.length);
      done({ code: FAILED, error: new Error(why) });
      return;
    }
    const address = `${bracketed(picked.host.address)}:${picked.host.port}`;
    this.lastDrop = "";
    this.exporterFor(address).export(spans, (result) => {
      if (result.code !== SUCCESS) this.dropped(`export to ${address} failed`, spans.length);
      done(result);
    });
  }

  private dropped(why: string, count: number): void {
    if (why === this.lastDrop) return;
    this.lastDrop = why;
    this.logger.warn(
      { cluster: this.provider.clusterName, spans: count },
      `tracing: spans dropped: ${why}`,
    );
  }

  private exporterFor(address: string): SpanExporter {
    let exporter = this.byAddress.get(address);
    if (exporter) return exporter;
    const { provider } = this;
    const timeout = provider.timeoutMs ? { timeoutMillis: provider.timeoutMs } : {};
    if (provider.transport === "grpc") {
      const metadata = new Metadata();
      for (const [key, value] of Object.entries(provider.headers)) metadata.set(key, value);
      exporter = new (otlpExporters().grpc.OTLPTraceExporter)({
        url: `http://${address}`,
        metadata,
        ...timeout,
      });
    } else {
      const headers: Record<string, string> = { ...provider.headers };
      if (provider.authority) headers.host = provider.authority;
      exporter = new (otlpExporters().http.OTLPTraceExporter)({
        url: `http://${address}${provider.path}`,
        headers,
        ...timeout,
      });
    }
    if (this.byAddress.size >= MAX_ADDRESSES) {
      const [oldest, old] = this.byAddress.entries().next().value!;
      this.byAddress.delete(oldest);
      void old.shutdown().catch(() => {});
    }
    this.byAddress.set(address, exporter);
    return exporter;
  }

  async forceFlush(): Promise<void> {
    await Promise.all([...this.byAddress.values()].map((e) => e.forceFlush?.()));
  }

  async shutdown(): Promise<void> {
    const exporters = [...this.byAddress.values()];
    this.byAddress.clear();
    await Promise.allSettled(exporters.map((e) => e.shutdown()));
  }
}
