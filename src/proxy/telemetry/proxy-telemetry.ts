// Istio's standard metrics as one proxy thread produces them: the peer-metadata exchange on each
// HTTP stream (Istio's metadata-exchange filter) and the frame of the TCP exchange, and the
// record of each finished stream and TCP connection where the chain has Istio's stats filter,
// shaped by that filter's config. One per thread, built from the proxy's xDS node.

import type { JsonObject } from "../../xds/proto-json.ts";
import { formatResponseFlags } from "../http/response-flags.ts";
import type { StreamInfo } from "../http/stream-info.ts";
import type { Reporter } from "./metric-definitions.ts";
import {
  buildPeerMetadataHeaders,
  PEER_METADATA_HEADER,
  PEER_METADATA_ID_HEADER,
  PeerMetadataCache,
  type PeerMetadataHeaders,
  peerFromEndpointMetadata,
  skipPeerMetadataExchange,
} from "./peer-metadata.ts";
import {
  type ConnectionMetrics,
  IstioMetrics,
  type IstioStatsScope,
  type StreamMetrics,
} from "./request-metrics.ts";
import type { StatsFilterConfig } from "./stats-filter-config.ts";
import {
  ExchangePayloadDecoder,
  ExchangeReader,
  encodeExchangeFrame,
} from "./tcp-metadata-exchange.ts";
import {
  type ClusterLike,
  DestinationServiceCache,
  localWorkloadFromNode,
  type WorkloadMetadata,
} from "./workload-labels.ts";

type Headers = Record<string, string | string[] | undefined>;
type Metadata = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

function headerValue(value: string | readonly string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : (value as string | undefined);
}

/** What the stats filter knows of a finished HTTP stream beyond its StreamInfo. */
export interface HttpStreamTelemetry {
  readonly reporter: Reporter;
  /** The other side's workload, from the exchange (or the endpoint's metadata at the source). */
  readonly peer: WorkloadMetadata | undefined;
  /** The cluster the stream went to (at the destination, the inbound cluster). */
  readonly cluster: ClusterLike | undefined;
  readonly grpc: boolean;
}

/**
 * What one stats filter has added so far of a gRPC stream's messages: Istio's filter keeps the
 * same per stream, so each report adds only what is new.
 */
export interface MessagesReported {
  request: number;
  response: number;
}

/** One `istio.stats` filter config at work on this thread. */
export interface StatsFilter {
  readonly config: StatsFilterConfig;
  readonly scope: IstioStatsScope;
}

export class ProxyTelemetry {
  readonly metrics: IstioMetrics;
  /** The frame this proxy opens every TCP metadata exchange with. */
  readonly exchangeFrame: Buffer;
  private readonly exchange: PeerMetadataHeaders;
  private readonly exchangePayloads = new ExchangePayloadDecoder();
  private readonly peers = new PeerMetadataCache();
  private readonly services = new DestinationServiceCache();
  /** Endpoint metadata → its workload, decoded once per host (the recorder keys on identity). */
  private readonly endpointPeers = new WeakMap<Metadata, WorkloadMetadata | null>();
  private readonly filters = new WeakMap<StatsFilterConfig, StatsFilter>();

  constructor(node: JsonObject) {
    const local = localWorkloadFromNode(node);
    this.metrics = new IstioMetrics(local);
    this.exchange = buildPeerMetadataHeaders(local);
    this.exchangeFrame = encodeExchangeFrame(local);
  }

  /** Reads the peer's frame of a TCP metadata exchange off one direction of a connection. */
  exchangeReader(onSettled: (peer: WorkloadMetadata | undefined) => void): ExchangeReader {
    return new ExchangeReader(this.exchangePayloads, onSettled);
  }

  /**
   * At the destination: the client proxy's workload from the request, whose exchange headers
   * never reach the app. True in `announced` when the client sent them (the response then
   * carries this proxy's own, as Istio answers only a client that takes part).
   */
  takeRequestPeer(headers: Headers): { peer: WorkloadMetadata | undefined; announced: boolean } {
    const value = headerValue(headers[PEER_METADATA_HEADER]);
    const announced = value !== undefined || headers[PEER_METADATA_ID_HEADER] !== undefined;
    delete headers[PEER_METADATA_HEADER];
    delete headers[PEER_METADATA_ID_HEADER];
    return { peer: this.peers.decode(value), announced };
  }

  /** This proxy's exchange headers, on a request to `cluster` or on an inbound response. */
  announce(headers: Headers, cluster?: ClusterLike): void {
    if (cluster && skipPeerMetadataExchange(cluster, true)) return;
    headers[PEER_METADATA_ID_HEADER] = this.exchange.id;
    headers[PEER_METADATA_HEADER] = this.exchange.value;
  }

  /**
   * At the source: the server proxy's workload from the response, else the endpoint's
   * `istio.workload` metadata; the exchange headers are not forwarded to the app.
   */
  takeResponsePeer(
    headers: Headers,
    endpointMetadata: Metadata | undefined,
  ): WorkloadMetadata | undefined {
    const value = headerValue(headers[PEER_METADATA_HEADER]);
    delete headers[PEER_METADATA_HEADER];
    delete headers[PEER_METADATA_ID_HEADER];
    return this.peers.decode(value) ?? this.endpointPeer(endpointMetadata);
  }

  /** The workload an endpoint's `istio.workload` metadata names (the source's TCP peer too). */
  endpointPeer(metadata: Metadata | undefined): WorkloadMetadata | undefined {
    if (!metadata) return undefined;
    let peer = this.endpointPeers.get(metadata);
    if (peer === undefined) {
      peer = peerFromEndpointMetadata(metadata) ?? null;
      this.endpointPeers.set(metadata, peer);
    }
    return peer ?? undefined;
  }

  /** The stats filter of a decoded config (one per config for the life of its chain). */
  statsFilter(config: StatsFilterConfig): StatsFilter {
    let filter = this.filters.get(config);
    if (!filter) {
      filter = { config, scope: this.metrics.scope(config.overrides) };
      this.filters.set(config, filter);
    }
    return filter;
  }

  /**
   * Counts a finished HTTP stream for `filter`: istio_requests_total and the three histograms,
   * and for gRPC the messages the grpc_stats filter counted that `reported` does not hold yet.
   */
  recordStream(
    info: StreamInfo,
    stream: HttpStreamTelemetry,
    filter: StatsFilter,
    reported?: MessagesReported,
  ): void {
    const trailers = info.responseTrailers ?? info.responseHeaders;
    const grpcStatus = stream.grpc ? grpcStatusFrom(trailers, info.responseHeaders) : undefined;
    const authority = headerValue(info.requestHeaders[":authority"]) ?? "";
    const metrics = this.streamMetrics(info, stream, filter, authority);
    if (stream.grpc) addNewMessages(metrics, info, reported);
    metrics.record(
      {
        responseCode: info.responseCode,
        responseFlags: formatResponseFlags(info.responseFlags),
        grpcStatus,
        durationMs: info.durationMs,
        requestBytes: info.wireBytesReceived,
        responseBytes: info.wireBytesSent,
      },
      info,
    );
  }

  /**
   * A gRPC stream's messages while it lasts (Istio reports them every tcp_reporting_duration once
   * the peer is known): what the grpc_stats filter counted beyond `reported`. `authority` is the
   * request's, which the stream info holds only once the stream is over.
   */
  reportMessages(
    info: StreamInfo,
    stream: HttpStreamTelemetry,
    filter: StatsFilter,
    reported: MessagesReported,
    authority: string,
  ): void {
    if (info.grpcStats === undefined) return;
    addNewMessages(this.streamMetrics(info, stream, filter, authority), info, reported);
  }

  private streamMetrics(
    info: StreamInfo,
    stream: HttpStreamTelemetry,
    filter: StatsFilter,
    authority: string,
  ): StreamMetrics {
    // Without the fallback (inbound, gateways) the Host header never names the service.
    const host = filter.config.disableHostHeaderFallback ? "" : authority;
    const source = stream.reporter === "source";
    return filter.scope.forStream({
      reporter: stream.reporter,
      peer: stream.peer,
      destinationService: this.services.resolve(stream.cluster, info.routeName ?? "", host),
      peerPrincipal: source ? info.upstreamPeerUriSan : info.downstreamPeerUriSan,
      localPrincipal: source ? info.upstreamLocalUriSan : info.downstreamLocalUriSan,
      requestProtocol: stream.grpc ? "grpc" : "http",
    });
  }

  /** The TCP metrics of a connection for `filter`, once its peer and flags are known. */
  forConnection(
    info: StreamInfo,
    reporter: Reporter,
    peer: WorkloadMetadata | undefined,
    cluster: ClusterLike | undefined,
    filter: StatsFilter,
  ): ConnectionMetrics {
    const source = reporter === "source";
    return filter.scope.forConnection(
      {
        reporter,
        peer,
        destinationService: this.services.resolve(cluster),
        peerPrincipal: source ? info.upstreamPeerUriSan : info.downstreamPeerUriSan,
        localPrincipal: source ? info.upstreamLocalUriSan : info.downstreamLocalUriSan,
        responseFlags: formatResponseFlags(info.responseFlags),
      },
      info,
    );
  }
}

/**
 * Istio adds messages only where the grpc_stats filter state exists, i.e. once the filter has
 * counted one: a gRPC stream without the filter, or without messages, leaves the counters alone.
 */
function addNewMessages(
  metrics: StreamMetrics,
  info: StreamInfo,
  reported: MessagesReported | undefined,
): void {
  const state = info.grpcStats;
  if (state === undefined) return;
  const request = state.requestMessageCount;
  const response = state.responseMessageCount;
  metrics.addMessages(
    request - (reported?.request ?? 0),
    response - (reported?.response ?? 0),
    info,
  );
  if (reported) {
    reported.request = request;
    reported.response = response;
  }
}

function grpcStatusFrom(
  trailers: StreamInfo["responseTrailers"],
  headers: StreamInfo["responseHeaders"],
): number | undefined {
  const value = headerValue(trailers?.["grpc-status"]) ?? headerValue(headers?.["grpc-status"]);
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
