// The recorder behind Istio's standard metrics, as one stats filter config shapes them. The
// labels that name the peers (20 of them, plus protocol and security policy) are resolved once
// per stream key — reporter, destination service, peer, principals, protocol — and cached by
// object identity, so a request only walks three small maps keyed by its response code, response
// flags and gRPC status, then bumps plain numbers. Label text is built once per series. Only a
// metric whose tag overrides carry CEL expressions costs more: the expressions are evaluated for
// the finished stream and its label text built for it, as Istio's filter does on its slow path.
import { celString } from "../cel/index.ts";
import { httpToGrpcStatus } from "../http/grpc-status.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import {
  type ConnectionSecurityPolicy,
  HTTP_LABELS,
  ISTIO_REQUEST_BYTES,
  ISTIO_REQUEST_DURATION_MILLISECONDS,
  ISTIO_REQUEST_MESSAGES_TOTAL,
  ISTIO_REQUESTS_TOTAL,
  ISTIO_RESPONSE_BYTES,
  ISTIO_RESPONSE_MESSAGES_TOTAL,
  ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL,
  ISTIO_TCP_CONNECTIONS_OPENED_TOTAL,
  ISTIO_TCP_RECEIVED_BYTES_TOTAL,
  ISTIO_TCP_SENT_BYTES_TOTAL,
  type IstioMetricDefinition,
  LATEST,
  NO_RESPONSE_FLAGS,
  PEER_LABELS,
  type Reporter,
  type RequestProtocol,
  TCP_LABELS,
  UNKNOWN,
} from "./metric-definitions.ts";
import { type LabelPlan, type MetricOverrides, NO_OVERRIDES } from "./metric-overrides.ts";
import {
  type CounterSeries,
  DynamicSeries,
  escapeLabelValue,
  type HistogramSeries,
  labelText,
  plannedLabelText,
  SeriesStore,
} from "./metric-series.ts";
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
  /**
   * The peer certificate's URI SAN, on an mTLS connection: the downstream one at the destination,
   * the upstream one at the source.
   */
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
 * A metric's series for a label set: the series itself, a DynamicSeries when its labels come from
 * the stream's expressions, or null when the config drops the metric.
 */
type Slot<S> = S | DynamicSeries<S> | null;

/** The series a slot stands for, given the stream's expression values. */
function resolve<S>(slot: Slot<S>, expressions: readonly string[] | undefined): S | null {
  return slot instanceof DynamicSeries ? slot.get(expressions ?? []) : slot;
}

/** A request's series for one (code, flags, gRPC status) of a stream key. */
interface RequestCells {
  readonly requests: Slot<CounterSeries>;
  readonly duration: Slot<HistogramSeries>;
  readonly requestBytes: Slot<HistogramSeries>;
  readonly responseBytes: Slot<HistogramSeries>;
}

/** The cells of a scope none of whose HTTP metrics reads an expression. */
interface StaticCells {
  readonly requests: CounterSeries | null;
  readonly duration: HistogramSeries | null;
  readonly requestBytes: HistogramSeries | null;
  readonly responseBytes: HistogramSeries | null;
}

/**
 * The metrics of one stream key. Get it from `IstioStatsScope.forStream` once the peer is known
 * and call `record` when each request completes.
 */
export class StreamMetrics {
  readonly protocol: RequestProtocol;
  private readonly scope: IstioStatsScope;
  /** The 20 peer label values. */
  private readonly peerValues: readonly string[];
  private readonly policy: ConnectionSecurityPolicy;
  /** Label text through request_protocol. */
  private readonly prefix: string;
  /** `,connection_security_policy="…"` */
  private readonly suffix: string;
  private readonly byCode = new Map<number, Map<string, Map<number, RequestCells>>>();
  private readonly peerText: string;
  /**
   * The gRPC message counters' series, made when messages are first reported: Istio's filter adds
   * to them only for streams whose grpc_stats filter state exists, so they appear no sooner.
   */
  private messages: readonly [Slot<CounterSeries>, Slot<CounterSeries>] | undefined = undefined;

  constructor(
    scope: IstioStatsScope,
    init: {
      protocol: RequestProtocol;
      peerValues: readonly string[];
      peerText: string;
      policy: ConnectionSecurityPolicy;
    },
  ) {
    this.scope = scope;
    this.protocol = init.protocol;
    this.peerValues = init.peerValues;
    this.policy = init.policy;
    this.peerText = init.peerText;
    this.prefix = `${init.peerText},request_protocol="${init.protocol}"`;
    this.suffix = `,connection_security_policy="${init.policy}"`;
  }

  /**
   * Counts a finished request: istio_requests_total, the duration and both size histograms, as
   * the config keeps them. `info` is what the config's CEL expressions read.
   */
  record(outcome: RequestOutcome, info?: StreamInfo): void {
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
    let cells = byGrpc.get(grpc);
    if (cells === undefined) {
      cells = this.cells(code, flags, grpc);
      byGrpc.set(grpc, cells);
    }
    const duration = outcome.durationMs;
    const ms = duration === undefined ? -1 : duration > 0 ? Math.floor(duration) : 0;
    if (!this.scope.httpDynamic) {
      // No expressions: every slot is a series or null (the per-request path stays this short).
      const fixed = cells as StaticCells;
      if (fixed.requests) fixed.requests.value++;
      if (ms >= 0) fixed.duration?.histogram.observe(ms);
      fixed.requestBytes?.histogram.observe(outcome.requestBytes);
      fixed.responseBytes?.histogram.observe(outcome.responseBytes);
      return;
    }
    const expressions = this.scope.httpExpressionValues(info);
    const requests = resolve(cells.requests, expressions);
    if (requests) requests.value++;
    if (ms >= 0) resolve(cells.duration, expressions)?.histogram.observe(ms);
    resolve(cells.requestBytes, expressions)?.histogram.observe(outcome.requestBytes);
    resolve(cells.responseBytes, expressions)?.histogram.observe(outcome.responseBytes);
  }

  /**
   * Adds gRPC messages counted since the last call (Istio reports them every
   * tcp_reporting_duration and at the end). Only gRPC stream keys have message counters.
   */
  addMessages(request: number, response: number, info?: StreamInfo): void {
    if (this.protocol !== "grpc") return;
    let messages = this.messages;
    if (messages === undefined) {
      const slot = (metric: IstioMetricDefinition) =>
        this.scope.counterSlot(metric, PEER_LABELS, this.peerValues, this.peerText);
      messages = [slot(ISTIO_REQUEST_MESSAGES_TOTAL), slot(ISTIO_RESPONSE_MESSAGES_TOTAL)];
      this.messages = messages;
    }
    const expressions = this.scope.httpExpressionValues(info);
    const sent = resolve(messages[0], expressions);
    if (sent) sent.value += request;
    const received = resolve(messages[1], expressions);
    if (received) received.value += response;
  }

  private cells(code: number, flags: string, grpc: number): RequestCells {
    const outcome = [String(code), grpc < 0 ? "" : String(grpc), flags];
    const identityText = `${this.prefix},${labelText(HTTP_LABELS, outcome, CODE_INDEX)}${this.suffix}`;
    const values = [...this.peerValues, this.protocol, ...outcome, this.policy];
    const scope = this.scope;
    return {
      requests: scope.counterSlot(ISTIO_REQUESTS_TOTAL, HTTP_LABELS, values, identityText),
      duration: scope.histogramSlot(
        ISTIO_REQUEST_DURATION_MILLISECONDS,
        HTTP_LABELS,
        values,
        identityText,
      ),
      requestBytes: scope.histogramSlot(ISTIO_REQUEST_BYTES, HTTP_LABELS, values, identityText),
      responseBytes: scope.histogramSlot(ISTIO_RESPONSE_BYTES, HTTP_LABELS, values, identityText),
    };
  }
}

/** The TCP metrics of one connection (shared by every connection with the same labels). */
export class ConnectionMetrics {
  private readonly openedSeries: CounterSeries | null;
  private readonly closedSeries: CounterSeries | null;
  private readonly sentSeries: CounterSeries | null;
  private readonly receivedSeries: CounterSeries | null;

  constructor(series: {
    opened: CounterSeries | null;
    closed: CounterSeries | null;
    sent: CounterSeries | null;
    received: CounterSeries | null;
  }) {
    this.openedSeries = series.opened;
    this.closedSeries = series.closed;
    this.sentSeries = series.sent;
    this.receivedSeries = series.received;
  }

  /** Istio counts the open once the peer is known, or at close when it never was. */
  opened(): void {
    if (this.openedSeries) this.openedSeries.value++;
  }

  /** Bytes since the last call: sent to and received from the downstream. */
  addBytes(sent: number, received: number): void {
    if (this.sentSeries) this.sentSeries.value += sent;
    if (this.receivedSeries) this.receivedSeries.value += received;
  }

  closed(): void {
    if (this.closedSeries) this.closedSeries.value++;
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

const HTTP_METRICS = [
  ISTIO_REQUESTS_TOTAL,
  ISTIO_REQUEST_DURATION_MILLISECONDS,
  ISTIO_REQUEST_BYTES,
  ISTIO_RESPONSE_BYTES,
  ISTIO_REQUEST_MESSAGES_TOTAL,
  ISTIO_RESPONSE_MESSAGES_TOTAL,
];
const TCP_METRICS = [
  ISTIO_TCP_CONNECTIONS_OPENED_TOTAL,
  ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL,
  ISTIO_TCP_SENT_BYTES_TOTAL,
  ISTIO_TCP_RECEIVED_BYTES_TOTAL,
];

/** The expressions the given metrics' plans read. */
function expressionsRead(plans: readonly (LabelPlan | undefined)[]): number[] {
  const ids = new Set<number>();
  for (const plan of plans) {
    if (!plan?.dynamic) continue;
    for (const source of plan.standard) if (source >= 0) ids.add(source);
    for (const [, id] of plan.added) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/**
 * Istio's metrics as one stats filter config records them: its plans (drops, removed and
 * replaced labels, added ones) over the proxy thread's shared series. One per config and thread.
 */
export class IstioStatsScope {
  private readonly owner: IstioMetrics;
  private readonly store: SeriesStore;
  private readonly overrides: MetricOverrides;
  private readonly plans = new Map<IstioMetricDefinition, LabelPlan | undefined>();
  private readonly httpIds: readonly number[];
  private readonly tcpIds: readonly number[];
  /** True when some HTTP metric's labels come from expressions. */
  readonly httpDynamic: boolean;
  private readonly tcpDynamic: boolean;
  private readonly streams = new IdentityIndex<StreamMetrics>();
  private readonly connections = new IdentityIndex<ConnectionMetrics>();
  private readonly streamsByLabels = new Map<string, StreamMetrics>();

  constructor(owner: IstioMetrics, store: SeriesStore, overrides: MetricOverrides) {
    this.owner = owner;
    this.store = store;
    this.overrides = overrides;
    for (const metric of [...HTTP_METRICS, ...TCP_METRICS])
      this.plans.set(metric, overrides.plan(metric));
    this.httpIds = expressionsRead(HTTP_METRICS.map((m) => this.plans.get(m)));
    this.tcpIds = expressionsRead(TCP_METRICS.map((m) => this.plans.get(m)));
    this.httpDynamic = this.httpIds.length > 0;
    this.tcpDynamic = this.tcpIds.length > 0;
  }

  /** The metrics for a stream key; cheap to call per request (no allocation when cached). */
  forStream(ctx: StreamContext): StreamMetrics {
    const protocol = ctx.requestProtocol;
    const cached = this.streams.get(ctx, protocol);
    if (cached) return cached;
    const peerValues = this.owner.peerValues(ctx);
    const peerText = labelText(PEER_LABELS, peerValues);
    const policy = connectionSecurityPolicy(ctx);
    const key = `${peerText},request_protocol="${protocol}",connection_security_policy="${policy}"`;
    let metrics = this.streamsByLabels.get(key);
    if (!metrics) {
      metrics = new StreamMetrics(this, { protocol, peerValues, peerText, policy });
      this.streamsByLabels.set(key, metrics);
    }
    this.streams.set(ctx, protocol, metrics);
    return metrics;
  }

  /**
   * The TCP metrics for a connection key, with its response flags at the time of reporting.
   * With expressions in the labels, `info` is evaluated now, once, as Istio does for TCP.
   */
  forConnection(ctx: ConnectionContext, info?: StreamInfo): ConnectionMetrics {
    const flags = ctx.responseFlags ?? NO_RESPONSE_FLAGS;
    if (!this.tcpDynamic) {
      const cached = this.connections.get(ctx, flags);
      if (cached) return cached;
    }
    const peerValues = this.owner.peerValues(ctx);
    const policy = connectionSecurityPolicy(ctx);
    const identityText =
      `${labelText(PEER_LABELS, peerValues)},request_protocol="tcp"` +
      `,response_flags="${escapeLabelValue(flags)}",connection_security_policy="${policy}"`;
    const values = [...peerValues, "tcp", flags, policy];
    const expressions = this.tcpDynamic ? this.evaluate(this.tcpIds, info) : undefined;
    const series = (metric: IstioMetricDefinition) =>
      resolve(this.counterSlot(metric, TCP_LABELS, values, identityText), expressions);
    const metrics = new ConnectionMetrics({
      opened: series(ISTIO_TCP_CONNECTIONS_OPENED_TOTAL),
      closed: series(ISTIO_TCP_CONNECTIONS_CLOSED_TOTAL),
      sent: series(ISTIO_TCP_SENT_BYTES_TOTAL),
      received: series(ISTIO_TCP_RECEIVED_BYTES_TOTAL),
    });
    if (!this.tcpDynamic) this.connections.set(ctx, flags, metrics);
    return metrics;
  }

  /** @internal The values of the expressions HTTP metrics read, for one finished stream. */
  httpExpressionValues(info: StreamInfo | undefined): readonly string[] | undefined {
    return this.httpDynamic ? this.evaluate(this.httpIds, info) : undefined;
  }

  /** An expression that errors, or has no text, gives `unknown` (Istio's filter does the same). */
  private evaluate(ids: readonly number[], info: StreamInfo | undefined): string[] {
    const programs = this.overrides.expressions;
    const out: string[] = new Array(programs.length);
    for (const id of ids) out[id] = info ? (celString(programs[id]!, info) ?? UNKNOWN) : UNKNOWN;
    return out;
  }

  /** @internal A counter's series for a label set `values` (names: the metric's labels). */
  counterSlot(
    metric: IstioMetricDefinition,
    names: readonly string[],
    values: readonly string[],
    identityText: string,
  ): Slot<CounterSeries> {
    const plan = this.plans.get(metric);
    if (plan === undefined) return null;
    const store = this.store;
    if (plan.dynamic)
      return new DynamicSeries(plan, names, values, (labels) => store.counter(metric.name, labels));
    const labels = plan.identity ? identityText : plannedLabelText(plan, names, values);
    return store.counter(metric.name, labels);
  }

  /** @internal The same for a histogram. */
  histogramSlot(
    metric: IstioMetricDefinition,
    names: readonly string[],
    values: readonly string[],
    identityText: string,
  ): Slot<HistogramSeries> {
    const plan = this.plans.get(metric);
    if (plan === undefined) return null;
    const store = this.store;
    if (plan.dynamic)
      return new DynamicSeries(plan, names, values, (labels) =>
        store.histogram(metric.name, labels),
      );
    const labels = plan.identity ? identityText : plannedLabelText(plan, names, values);
    return store.histogram(metric.name, labels);
  }
}

/** Work the recorder did, for tests and the admin server's curiosity. */
export interface RecorderCounters {
  /** Peer label sets computed (identity-cache misses). */
  readonly labelSetsBuilt: number;
  /** Series of every family together. */
  readonly series: number;
}

/**
 * Istio's standard metrics for one proxy thread: the series every stats filter shares, and one
 * IstioStatsScope per filter config. Built in main and passed down, never a module global.
 */
export class IstioMetrics {
  readonly local: LocalWorkload;
  readonly store = new SeriesStore();
  private readonly scopes = new WeakMap<MetricOverrides, IstioStatsScope>();
  private labelSetsBuilt = 0;

  constructor(local: LocalWorkload) {
    this.local = local;
  }

  /** The recorder of one stats filter config (the default: no overrides). */
  scope(overrides: MetricOverrides = NO_OVERRIDES): IstioStatsScope {
    let scope = this.scopes.get(overrides);
    if (!scope) {
      scope = new IstioStatsScope(this, this.store, overrides);
      this.scopes.set(overrides, scope);
    }
    return scope;
  }

  /** A stream key's metrics with no overrides. */
  forStream(ctx: StreamContext): StreamMetrics {
    return this.scope().forStream(ctx);
  }

  /** A connection key's metrics with no overrides. */
  forConnection(ctx: ConnectionContext): ConnectionMetrics {
    return this.scope().forConnection(ctx);
  }

  /** @internal The 20 peer label values of a key (the work the identity caches spare). */
  peerValues(ctx: PeerContext): string[] {
    this.labelSetsBuilt++;
    return peerLabelValues(this.local, ctx);
  }

  counters(): RecorderCounters {
    return { labelSetsBuilt: this.labelSetsBuilt, series: this.store.size };
  }
}
