// A span exporter whose collector is a cluster of the proxy's own config, as Envoy's tracers name
// it (envoy_grpc / http_service / collector_cluster): each batch goes to a host the cluster's load
// balancer picks now (so EDS changes are followed), through the exporter the provider builds for
// that address (OpenTelemetry's OTLP or Zipkin exporter). A cluster that is unknown, warming or
// without a healthy endpoint drops the batch — spans are never queued behind a collector that
// cannot be reached.
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import type { Logger } from "../../base/logger.ts";
import type { ClusterManager } from "../upstream/cluster-manager.ts";

/** OpenTelemetry's ExportResultCode (core's enum, whose package crema does not depend on). */
const SUCCESS = 0;
const FAILED = 1;
type ExportResult = { code: number; error?: Error };

/** Exporters kept per collector address; older ones are shut down when a cluster's hosts change. */
const MAX_ADDRESSES = 8;

/** Builds the exporter that sends to one collector address (`ip:port`, `[ipv6]:port`). */
export type AddressExporterFactory = (address: string) => SpanExporter;

function bracketed(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

export class ClusterSpanExporter implements SpanExporter {
  private readonly clusterName: string;
  private readonly createExporter: AddressExporterFactory;
  private readonly clusters: ClusterManager;
  private readonly logger: Logger;
  private readonly byAddress = new Map<string, SpanExporter>();
  /** The last reason a batch was dropped, so a dead collector logs once, not per batch. */
  private lastDrop = "";

  constructor(options: {
    clusterName: string;
    createExporter: AddressExporterFactory;
    clusters: ClusterManager;
    logger: Logger;
  }) {
    this.clusterName = options.clusterName;
    this.createExporter = options.createExporter;
    this.clusters = options.clusters;
    this.logger = options.logger;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const picked = this.clusters.pick(this.clusterName);
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
    this.logger.warn({ cluster: this.clusterName, spans: count }, `tracing: spans dropped: ${why}`);
  }

  private exporterFor(address: string): SpanExporter {
    let exporter = this.byAddress.get(address);
    if (exporter) return exporter;
    exporter = this.createExporter(address);
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
