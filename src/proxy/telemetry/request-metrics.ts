// The recorder behind Istio's standard metrics. The labels that name the peers (20 of them,
// plus protocol and security policy) are resolved once per stream key — reporter, destination
// service, peer, principals, protocol — and cached by object identity, so a request only walks
// three small maps keyed by its response code, response flags and gRPC status, then bumps plain
// numbers. Label text is built once per series; exposition (prometheus-exposition.ts) only
// concatenates it.
import { httpToGrpcStatus } from "../http/grpc-status.ts";
import {
  type ConnectionSecurityPolicy,
  HTTP_LABELS,
  ISTIO_HISTOGRAM_BUCKETS,
  LATEST,
  NO_RESPONSE_FLAGS,
  PEER_LABELS,
  type Reporter,
  type RequestProtocol,
  UNKNOWN,
} from "./metric-definitions.ts";
import {
  type DestinationService,
  type LocalWorkload,
  namespaceFromPrincipal,
  type WorkloadMetadata,
} from "./workload-labels.ts";

/** Who talked to whom: everything the peer labels are derived from. */
export interface PeerContext {
  /** `destination` on a sidecar's inbound listeners; `source` on outbound ones and on gateways. */
  readonly reporter: Reporter;
  /**
   * The other workload: from `x-envoy-peer-metadata` (on the request at the destination, on the
   * response at the source) or, at the source, the endpoint's `istio.workload` metadata.
   */
  readonly peer?: WorkloadMetadata | undefined;
  readonly destinationService: DestinationService;
  /** The peer certificate's URI SAN, on an mTLS connection. */
  readonly peerPrincipal?: string | undefined;
  /** This proxy's own certificate's URI SAN on that connection. */
  readonly localPrincipal?: string | undefined;
}

export interface StreamContext extends PeerContext {
  /** `grpc` when the request's content-type is application/grpc*, else `http` (HTTP/2 too). */
  readonly requestProtocol: RequestProtocol;
}

export interface ConnectionContext extends PeerContext {
  /** The connection's response flags when it is first reported ("-" when none). */
  readonly responseFlags?: string;
}

/** What a finished request adds. */
export interface RequestOutcome {
  /** The status sent downstream; 0 when there was none (Istio writes `response_code="0"`). */
  readonly responseCode: number;
  /** Envoy's short form ("UF,URX"); default "-". */
  readonly responseFlags?: string;
  /**
   * gRPC requests: grpc-status from the trailers, else the headers. When absent it is inferred
   * from responseCode as Envoy does; with no response at all the label is "".
   */
  readonly grpcStatus?: number | undefined;
  /** First request byte to last response byte; floored to whole ms. Absent: no sample. */
  readonly durationMs?: number | undefined;
  /** Downstream wire bytes received for the request (headers and body). */
  readonly requestBytes: number;
  /** Downstream wire bytes sent for the response (headers and body). */
  readonly responseBytes: number;
}

/** A histogram over fixed bounds; counts per bucket, the last slot above every bound. */
export class Histogram {
  readonly bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[] = ISTIO_HISTOGRAM_BUCKETS) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One label set of the request metrics. `labels` is the exposition's label text. */
export interface RequestSeries {
  readonly labels: string;
  requests: number;
  readonly duration: Histogram;
  readonly requestBytes: Histogram;
  readonly responseBytes: Histogram;
}

/** One label set of the gRPC message counters (peer labels only, as Istio emits them). */
export interface MessageSeries {
  readonly labels: string;
  request: number;
  response: number;
}

/** One label set of the TCP metrics. */
export interface TcpSeries {
  readonly labels: string;
  opened: number;
  closed: number;
  sent: number;
  received: number;
}

/** A label value as it goes between the exposition format's double quotes. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(names: readonly string[], values: readonly string[], from = 0): string {
  let out = "";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ",";
    out += `${names[from + i]}="${escapeLabelValue(values[i]!)}"`;
  }
  return out;
}

function or(value: string | undefined, fallback: string): string {
  return value !== undefined && value !== "" ? value : fallback;
}

/**
 * The 20 peer label values, in Istio's order, as its stats filter derives them (the Envoy
 * contrib `istio_stats` populatePeerInfo). At the destination the local workload is the
 * destination and the service falls back to the local canonical service; at the source the
 * local workload is the source and anything not known is `unknown` (revisions `latest`). The
 * peer namespace comes from the peer principal when there is one, else from the peer metadata.
 */
export function peerLabelValues(local: LocalWorkload, ctx: PeerContext): string[] {
  const peer = ctx.peer;
  const service = ctx.destinationService;
  const mine = local.labels;
  const localSan = ctx.localPrincipal ?? "";
  let peerSan = ctx.peerPrincipal ?? "";
  if (ctx.reporter === "source" && peerSan === "" && peer) peerSan = peer.identity;
  const peerNamespace = or(
    peerSan === "" ? "" : namespaceFromPrincipal(peerSan),
    peer?.namespace ?? "",
  );
  if (ctx.reporter === "destination") {
    return [
      "destination",
      or(peer?.workloadName, UNKNOWN),
      or(peer?.canonicalName, UNKNOWN),
      or(peer?.canonicalRevision, LATEST),
      or(peerNamespace, UNKNOWN),
      or(peerSan, UNKNOWN),
      or(peer?.app, UNKNOWN),
      or(peer?.version, UNKNOWN),
      or(peer?.clusterId, UNKNOWN),
      mine.workload,
      mine.namespace,
      or(localSan, UNKNOWN),
      mine.app,
      mine.version,
      or(service.host, mine.canonicalService),
      mine.canonicalService,
      mine.canonicalRevision,
      or(service.name, mine.canonicalService),
      mine.namespace,
      mine.cluster,
    ];
  }
  return [
    "source",
    mine.workload,
    mine.canonicalService,
    mine.canonicalRevision,
    mine.namespace,
    or(localSan, UNKNOWN),
    mine.app,
    mine.version,
    mine.cluster,
    or(peer?.workloadName, UNKNOWN),
    or(peerNamespace, UNKNOWN),
    or(peerSan, UNKNOWN),
    or(peer?.app, UNKNOWN),
    or(peer?.version, UNKNOWN),
    or(service.host, UNKNOWN),
    or(peer?.canonicalName, UNKNOWN),
    or(peer?.canonicalRevision, LATEST),
    or(service.name, UNKNOWN),
    or(service.namespace, or(peerNamespace, UNKNOWN)),
    or(peer?.clusterId, UNKNOWN),
  ];
}

/**
 * `mutual_tls` when the destination saw both certificates' principals, `none` when it did not;
 * a source reports `unknown` (Istio only judges the inbound side).
 */
export function connectionSecurityPolicy(ctx: PeerContext): ConnectionSecurityPolicy {
  if (ctx.reporter !== "destination") return "unknown";
  return (ctx.peerPrincipal ?? "") !== "" && (ctx.localPrincipal ?? "") !== ""
    ? "mutual_tls"
    : "none";
}

const CODE_INDEX = HTTP_LABELS.indexOf("response_code");

/**
 * The metrics of one stream key. Get it from `IstioMetrics.forStream` once the peer is known
 * and call `record` when each request completes.
 */
export class StreamMetrics {
  readonly protocol: RequestProtocol;
  /** The gRPC message counters' series (gRPC streams only). */
  readonly messages: MessageSeries | undefined;
  private readonly owner: IstioMetrics;
  /** Label text through request_protocol. */
  private readonly prefix: string;
  /** `,connection_security_policy="…"` */
  private readonly suffix: string;
  private readonly byCode = new Map<number, Map<string, Map<number, RequestSeries>>>();

  constructor(
    owner: IstioMetrics,
    init: { protocol: RequestProtocol; prefix: string; suffix: string; messages?: MessageSeries },
  ) {
    this.owner = owner;
    this.protocol = init.protocol;
    this.prefix = init.prefix;
    this.suffix = init.suffix;
    this.messages = init.messages;
  }

  /** Counts a finished request: istio_requests_total, the duration and both size histograms. */
  record(outcome: RequestOutcome): void {
    const code = outcome.responseCode;
    let byFlags = this.byCode.get(code);
    if (byFlags === undefined) {
      byFlags = new Map();
      this.byCode.set(code, byFlags);
    }
    const flags = outcome.responseFlags ?? NO_RESPONSE_FLAGS;
    let byGrpc = byFlags.get(flags);
    if (byGrpc === undefined) {
      byGrpc = new Map();
      byFlags.set(flags, byGrpc);
    }
    const grpc =
      this.protocol === "grpc"
        ? (outcome.grpcStatus ?? (code > 0 ? httpToGrpcStatus(code) : -1))
        : -1;
    let series = byGrpc.get(grpc);
    if (series === undefined) {
      series = this.owner.requestSeriesFor(this.seriesLabels(code, flags, grpc));
      byGrpc.set(grpc, series);
    }
    series.requests++;
    const duration = outcome.durationMs;
    if (duration !== undefined) series.duration.observe(duration > 0 ? Math.floor(duration) : 0);
    series.requestBytes.observe(outcome.requestBytes);
    series.responseBytes.observe(outcome.responseBytes);
  }

  /** Adds gRPC messages seen since the last call (Istio reports them every 5 s and at the end). */
  addMessages(request: number, response: number): void {
    if (!this.messages) return;
    this.messages.request += request;
    this.messages.response += response;
  }

  private seriesLabels(code: number, flags: string, grpc: number): string {
    const dynamic = labelText(
      HTTP_LABELS,
      [String(code), grpc < 0 ? "" : String(grpc), flags],
      CODE_INDEX,
    );
    return `${this.prefix},${dynamic}${this.suffix}`;
  }
}

/** The TCP metrics of one connection key (shared by every connection with the same labels). */
export class ConnectionMetrics {
  readonly series: TcpSeries;

  constructor(series: TcpSeries) {
    this.series = series;
  }

  /** Istio counts the open once the peer is known, or at close when it never was. */
  opened(): void {
    this.series.opened++;
  }

  /** Bytes since the last call: sent to and received from the downstream. */
  addBytes(sent: number, received: number): void {
    this.series.sent += sent;
    this.series.received += received;
  }

  closed(): void {
    this.series.closed++;
  }
}

interface KeyEntry<T> {
  readonly reporter: Reporter;
  readonly peerSan: string;
  readonly localSan: string;
  /** Protocol for streams, response flags for connections. */
  readonly extra: string;
  readonly value: T;
}

/** Entries kept per (destination service, peer); past it the oldest is replaced. */
const MAX_ENTRIES_PER_PAIR = 32;
const NO_PEER: object = Object.freeze({});

/**
 * A cache keyed by (destination service, peer) object identity, then by a short list of
 * reporter/principals/extra entries compared by value: a lookup allocates nothing. Weak on both
 * objects, so it follows the caches that own them (DestinationServiceCache, PeerMetadataCache).
 */
class IdentityIndex<T> {
  private readonly index = new WeakMap<DestinationService, WeakMap<object, KeyEntry<T>[]>>();

  private list(ctx: PeerContext, create: boolean): KeyEntry<T>[] | undefined {
    let byPeer = this.index.get(ctx.destinationService);
    if (byPeer === undefined) {
      if (!create) return undefined;
      byPeer = new WeakMap();
      this.index.set(ctx.destinationService, byPeer);
    }
    const peerKey = ctx.peer ?? NO_PEER;
    let list = byPeer.get(peerKey);
    if (list === undefined && create) {
      list = [];
      byPeer.set(peerKey, list);
    }
    return list;
  }

  get(ctx: PeerContext, extra: string): T | undefined {
    const list = this.list(ctx, false);
    if (list === undefined) return undefined;
    const peerSan = ctx.peerPrincipal ?? "";
    const localSan = ctx.localPrincipal ?? "";
    for (const entry of list) {
      if (
        entry.reporter === ctx.reporter &&
        entry.extra === extra &&
        entry.peerSan === peerSan &&
        entry.localSan === localSan
      )
        return entry.value;
    }
    return undefined;
  }

  set(ctx: PeerContext, extra: string, value: T): void {
    const list = this.list(ctx, true)!;
    if (list.length >= MAX_ENTRIES_PER_PAIR) list.shift();
    list.push({
      reporter: ctx.reporter,
      peerSan: ctx.peerPrincipal ?? "",
      localSan: ctx.localPrincipal ?? "",
      extra,
      value,
    });
  }
}

/** Work the recorder did, for tests and the admin server's curiosity. */
export interface RecorderCounters {
  /** Peer label sets computed (identity-cache misses). */
  readonly labelSetsBuilt: number;
  readonly requestSeries: number;
  readonly messageSeries: number;
  readonly tcpSeries: number;
}

/**
 * Istio's standard metrics for one proxy: hands out StreamMetrics and ConnectionMetrics and holds
 * every series for the exposition. One per proxy (per worker, once workers exist); it is built
 * in main and passed down, never a module global.
 */
export class IstioMetrics {
  readonly local: LocalWorkload;
  private readonly streams = new IdentityIndex<StreamMetrics>();
  private readonly connections = new IdentityIndex<ConnectionMetrics>();
  private readonly streamsByLabels = new Map<string, StreamMetrics>();
  private readonly requestsByLabels = new Map<string, RequestSeries>();
  private readonly messagesByLabels = new Map<string, MessageSeries>();
  private readonly tcpByLabels = new Map<string, ConnectionMetrics>();
  private labelSetsBuilt = 0;

  constructor(local: LocalWorkload) {
    this.local = local;
  }

  /** The metrics for a stream key; cheap to call per request (no allocation when cached). */
  forStream(ctx: StreamContext): StreamMetrics {
    const protocol = ctx.requestProtocol;
    const cached = this.streams.get(ctx, protocol);
    if (cached) return cached;
    const peerText = this.peerText(ctx);
    const prefix = `${peerText},request_protocol="${protocol}"`;
    const suffix = `,connection_security_policy="${connectionSecurityPolicy(ctx)}"`;
    const key = prefix + suffix;
    let metrics = this.streamsByLabels.get(key);
    if (!metrics) {
      metrics = new StreamMetrics(this, {
        protocol,
        prefix,
        suffix,
        ...(protocol === "grpc" ? { messages: this.messageSeriesFor(peerText) } : {}),
      });
      this.streamsByLabels.set(key, metrics);
    }
    this.streams.set(ctx, protocol, metrics);
    return metrics;
  }

  /** The TCP metrics for a connection key, with its response flags at the time of reporting. */
  forConnection(ctx: ConnectionContext): ConnectionMetrics {
    const flags = ctx.responseFlags ?? NO_RESPONSE_FLAGS;
    const cached = this.connections.get(ctx, flags);
    if (cached) return cached;
    const key =
      `${this.peerText(ctx)},request_protocol="tcp",response_flags="${escapeLabelValue(flags)}"` +
      `,connection_security_policy="${connectionSecurityPolicy(ctx)}"`;
    this.tcpSeriesFor(key);
    const metrics = this.tcpByLabels.get(key)!;
    this.connections.set(ctx, flags, metrics);
    return metrics;
  }

  /** @internal StreamMetrics' way to a shared request series. */
  requestSeriesFor(labels: string): RequestSeries {
    let series = this.requestsByLabels.get(labels);
    if (!series) {
      series = {
        labels,
        requests: 0,
        duration: new Histogram(),
        requestBytes: new Histogram(),
        responseBytes: new Histogram(),
      };
      this.requestsByLabels.set(labels, series);
    }
    return series;
  }

  /** @internal The gRPC message series of a label set (merging other threads' series too). */
  messageSeriesFor(labels: string): MessageSeries {
    let series = this.messagesByLabels.get(labels);
    if (!series) {
      series = { labels, request: 0, response: 0 };
      this.messagesByLabels.set(labels, series);
    }
    return series;
  }

  /** @internal The TCP series of a label set (merging other threads' series). */
  tcpSeriesFor(labels: string): TcpSeries {
    let metrics = this.tcpByLabels.get(labels);
    if (!metrics) {
      metrics = new ConnectionMetrics({ labels, opened: 0, closed: 0, sent: 0, received: 0 });
      this.tcpByLabels.set(labels, metrics);
    }
    return metrics.series;
  }

  private peerText(ctx: PeerContext): string {
    this.labelSetsBuilt++;
    return labelText(PEER_LABELS, peerLabelValues(this.local, ctx));
  }

  requestSeries(): IterableIterator<RequestSeries> {
    return this.requestsByLabels.values();
  }

  messageSeries(): IterableIterator<MessageSeries> {
    return this.messagesByLabels.values();
  }

  *tcpSeries(): IterableIterator<TcpSeries> {
    for (const metrics of this.tcpByLabels.values()) yield metrics.series;
  }

  counters(): RecorderCounters {
    return {
      labelSetsBuilt: this.labelSetsBuilt,
      requestSeries: this.requestsByLabels.size,
      messageSeries: this.messagesByLabels.size,
      tcpSeries: this.tcpByLabels.size,
    };
  }
}
