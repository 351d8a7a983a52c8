// An OTLP/HTTP trace receiver for scenario tests (OTLP's JSON encoding: ids in hex, enums as
// numbers): it keeps every span it is sent, with its attributes and its resource's service.name.
import { createServer, type Server } from "node:http";

interface OtlpAnyValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpKeyValue[];
}
interface OtlpExportRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

/** A received span with its attributes and its resource's service.name. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  serviceName: string;
  tags: Record<string, string>;
}

export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;

function flatten(attributes: OtlpKeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of attributes ?? [])
    out[key] = String(value.stringValue ?? value.intValue ?? value.boolValue ?? "");
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server: Server;
  private waiters: (() => void)[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.url === "/v1/traces") this.receive(JSON.parse(Buffer.concat(chunks).toString()));
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve) => this.server.listen(port, host, resolve));
  }

  private receive(body: OtlpExportRequest): void {
    for (const resource of body.resourceSpans ?? []) {
      const serviceName = flatten(resource.resource?.attributes)["service.name"] ?? "";
      for (const scope of resource.scopeSpans ?? [])
        for (const span of scope.spans ?? [])
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind,
            serviceName,
            tags: flatten(span.attributes),
          });
    }
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The first span `matches` accepts, once one has arrived. */
  async waitFor(matches: (span: ReceivedSpan) => boolean): Promise<ReceivedSpan> {
    for (;;) {
      const found = this.spans.find(matches);
      if (found) return found;
      await new Promise<void>((wake) => this.waiters.push(wake));
    }
  }

  /** The spans of `traceId` once there are `count` of them. */
  async trace(traceId: string, count: number): Promise<ReceivedSpan[]> {
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
