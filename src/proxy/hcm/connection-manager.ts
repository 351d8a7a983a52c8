// The HTTP connection manager (envoy.filters.network.http_connection_manager): owns the codecs
// (node's HTTP/1.1 parser and HTTP/2 sessions, fed connections the listener accepted), and runs
// every request through Envoy's steps — path normalisation, request header mutation, route
// selection, the HTTP filters (fault, CORS, router) — and hands WebSocket upgrades to upgrade.ts
// and CONNECT to connect.ts.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import type { Socket } from "node:net";
import { nodeHttp } from "../../base/node-http.ts";
import { type AccessLogger, openAccessLoggers } from "../access-log/index.ts";
import {
  isGrpcContentType,
  LOCAL_REPLY_BODY,
  RESPONSE_CODE_DETAILS,
  ROUTE_NOT_FOUND_REPLY,
} from "../http/local-reply.ts";
import { newStreamInfo, type StreamInfo } from "../http/stream-info.ts";
import type { JwtAuthnFilter } from "../jwt/jwt-authn-filter.ts";
import { routerFilterConfig } from "../listener/decode-http-filters.ts";
import { typeName } from "../listener/decode-listener-filters.ts";
import type {
  ConnectionInfo,
  HcmConfig,
  HttpFilter,
  RouterFilterConfig,
  TrafficDirection,
} from "../listener/types.ts";
import { RBAC_DENIED_STATUS, type RbacFilterConfig } from "../rbac/index.ts";
import {
  applyRequestHeaderMutations,
  applyResponseHeaderMutations,
  decodeRouteConfiguration,
  directResponseHeaders,
  type RouteMatchResult,
  releaseRouteConfiguration,
  selectRoute,
} from "../routing/index.ts";
import type { CompiledRouteConfig, MutableHeaders, RouteRequest } from "../routing/types.ts";
import { GrpcMessageReports } from "../telemetry/grpc-message-reports.ts";
import type { Reporter } from "../telemetry/metric-definitions.ts";
import type { HttpStreamTelemetry, StatsFilter } from "../telemetry/proxy-telemetry.ts";
import {
  decodeStatsFilterConfig,
  ISTIO_STATS_TYPE,
  type StatsFilterConfig,
} from "../telemetry/stats-filter-config.ts";
import type { HcmTracer } from "../tracing/proxy-tracing.ts";
import type { StreamSpan } from "../tracing/stream-span.ts";
import { answerClientError } from "./client-error.ts";
import { handleConnect } from "./connect.ts";
import type { Downstream } from "./downstream.ts";
import {
  applyAllowedOutcome,
  compileExtAuthzFilters,
  type ExtAuthzFilter,
  releaseExtAuthzFilters,
} from "./ext-authz-filter.ts";
import { faultFor } from "./fault-filter.ts";
import { faultStats } from "./fault-stats.ts";
import { countsGrpcMessages, GrpcStatsStream } from "./grpc-stats-filter.ts";
import type { ConnectionState, HcmDeps, HcmEntry } from "./hcm-types.ts";
import { firstValue } from "./headers.ts";
import { armHttp2IdleTimeout } from "./http2-idle-timeout.ts";
import { compileJwtFilters, JWT_METADATA_NAMESPACE } from "./jwt-filter.ts";
import { NodeDownstream } from "./node-downstream.ts";
import { type AnyRequest, prepareRequest } from "./prepare-request.ts";
import { checkRbac, compileRbacFilters, releaseRbacFilters } from "./rbac-filter.ts";
import { RequestBody } from "./request-body.ts";
import { routeToCluster } from "./router.ts";
import { connectionStreamFields, finishStreamInfo } from "./stream-record.ts";
import { handleUpgrade } from "./upgrade.ts";

const { createServer: createHttp1Server } = nodeHttp;

const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

/**
 * Node's HTTP/1 headersTimeout for an HCM. Envoy disables request_headers_timeout by default, but
 * node has no "off" for it, so it falls back to request_timeout (or node's 60 s). Node's
 * createServer throws when headersTimeout exceeds a non-zero requestTimeout, so it is capped.
 */
export function http1HeadersTimeoutMs(config: {
  requestTimeoutMs: number;
  requestHeadersTimeoutMs: number;
}): number {
  const wanted = config.requestHeadersTimeoutMs || config.requestTimeoutMs || 60_000;
  return config.requestTimeoutMs > 0 ? Math.min(wanted, config.requestTimeoutMs) : wanted;
}

type AnyResponse = ServerResponse | Http2ServerResponse;

/**
 * The HCM's `istio.stats` filters, decoded for its lifetime (they were checked with the listener).
 * A filter disabled by default records nothing: crema enables no filter per route.
 */
function compileStatsFilters(filters: readonly HttpFilter[]): StatsFilterConfig[] {
  const out: StatsFilterConfig[] = [];
  for (const filter of filters) {
    if (filter.disabled || typeName(filter.typeUrl) !== ISTIO_STATS_TYPE) continue;
    const decoded = decodeStatsFilterConfig(filter.config);
    if (decoded.ok) out.push(decoded.config);
  }
  return out;
}

const HTTP_LOG = { kind: "http" } as const;

/** One request as the HTTP filters see it, carried across a filter that waits. */
interface FilterStream {
  req: AnyRequest;
  downstream: Downstream;
  routeConfig: CompiledRouteConfig;
  selection: RouteMatchResult;
  route: RouteRequest;
  headers: MutableHeaders;
  grpc: boolean;
  startedAt: number;
  onStreamEnd: (listener: () => void) => void;
  /** Filters' dynamic metadata (filter namespace → values). */
  dynamicMetadata: Record<string, Record<string, unknown>>;
  /** The stream's tracing span; undefined unless the HCM has a `tracing` config. */
  span: StreamSpan | undefined;
}

export class HttpConnectionManager {
  private readonly config: HcmConfig;
  private readonly deps: HcmDeps;
  private readonly http1: Server;
  private readonly http2: Http2Server;
  private readonly inlineRoutes: CompiledRouteConfig | undefined;
  private readonly routerConfig: RouterFilterConfig;
  private readonly rbacFilters: Map<HttpFilter, RbacFilterConfig>;
  private readonly jwtFilters: Map<HttpFilter, JwtAuthnFilter>;
  private readonly extAuthzFilters: Map<HttpFilter, ExtAuthzFilter>;
  private readonly connections = new Map<Socket, ConnectionState>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/2 requests see a proxy of the socket, so their connection is found by session. */
  private readonly sessionStates = new WeakMap<Http2Session, ConnectionState>();
  /** The connection being handed to the HTTP/2 server ("session" is emitted synchronously). */
  private pendingSessionState: ConnectionState | undefined;
  private draining = false;
  /** Istio's reporter for this HCM's streams: `destination` on a sidecar's inbound listener. */
  private readonly reporter: Reporter;
  private readonly accessLoggers: readonly AccessLogger[];
  /** The HCM's `istio.stats` filters (Istio's metrics are recorded only through them). */
  private readonly statsConfigs: readonly StatsFilterConfig[];
  private readonly statsFilters: readonly StatsFilter[];
  /** The chain has a grpc_stats filter keeping message counts in filter state. */
  private readonly countGrpcMessages: boolean;
  /** Set only when the HCM has a `tracing` config: otherwise streams allocate nothing for it. */
  private readonly tracer: HcmTracer | undefined;

  constructor(
    config: HcmConfig,
    deps: HcmDeps,
    options: { trafficDirection?: TrafficDirection | undefined } = {},
  ) {
    this.config = config;
    this.deps = deps;
    this.reporter = options.trafficDirection === "INBOUND" ? "destination" : "source";
    this.accessLoggers = deps.accessLogFiles
      ? openAccessLoggers(config.accessLogs, deps.accessLogFiles, deps.logger)
      : [];
    this.tracer =
      config.tracing && deps.tracing
        ? deps.tracing.hcmTracer(config.tracing, options.trafficDirection === "INBOUND")
        : undefined;
    this.statsConfigs = compileStatsFilters(config.httpFilters);
    const telemetry = deps.telemetry;
    this.statsFilters = telemetry ? this.statsConfigs.map((c) => telemetry.statsFilter(c)) : [];
    this.countGrpcMessages = countsGrpcMessages(config.httpFilters);
    this.routerConfig = routerFilterConfig(config.httpFilters);
    this.rbacFilters = compileRbacFilters(config.httpFilters, config.statPrefix);
    this.jwtFilters = compileJwtFilters(config.httpFilters);
    this.extAuthzFilters = compileExtAuthzFilters(config.httpFilters, deps, config.statPrefix);
    if (config.routes.kind === "inline") {
      const compiled = decodeRouteConfiguration(config.routes.routeConfig);
      if (compiled.ok) this.inlineRoutes = compiled.value;
    }
    const headersTimeout = http1HeadersTimeoutMs(config);
    this.http1 = createHttp1Server({
      maxHeaderSize: config.maxRequestHeadersKb * 1024,
      joinDuplicateHeaders: true,
      requestTimeout: config.requestTimeoutMs,
      headersTimeout,
      keepAliveTimeout: config.idleTimeoutMs,
      // Node enforces both timeouts only when it checks its connections: a short request_timeout
      // needs checks often enough to fire near its deadline, not 30 s late.
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(headersTimeout / 2))),
    });
    this.http1.maxHeadersCount = config.maxHeadersCount + 1;
    this.http1.timeout = 0;
    // The server never listens (it is fed accepted sockets), and node starts the connection
    // checks that enforce request_timeout and the headers timeout only on "listening".
    this.http1.emit("listening");
    this.http1.on("request", (req, res) => this.onRequest(req, res, false));
    this.http1.on("checkContinue", (req, res) => {
      // Envoy answers 100-continue itself and does not forward the expectation.
      res.writeContinue();
      delete req.headers.expect;
      this.onRequest(req, res, false);
    });
    this.http1.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket as Socket, head));
    this.http1.on("connect", (req, socket, head) => this.onConnect(req, socket as Socket, head));
    this.http1.on("clientError", (err: NodeJS.ErrnoException, socket) =>
      answerClientError(err, socket, this.config),
    );
    this.http2 = createHttp2Server({
      maxHeaderListPairs: config.maxHeadersCount + 4,
      maxSessionInvalidFrames: 1000,
      settings: { enablePush: false },
    });
    this.http2.on("request", (req, res) => this.onRequest(req, res, true));
    this.http2.on("session", (session) => {
      this.sessions.add(session);
      if (this.pendingSessionState) this.sessionStates.set(session, this.pendingSessionState);
      session.once("close", () => this.sessions.delete(session));
      session.on("error", () => {});
      armHttp2IdleTimeout(session, this.config.idleTimeoutMs);
      if (this.draining) session.close();
    });
    this.http2.on("sessionError", () => {});
    this.http2.on("streamError", () => {});
  }

  /** Serves one accepted connection; `http2` when the preface (or codec_type) says so. */
  handle(socket: Socket, info: ConnectionInfo, http2: boolean): void {
    socket.on("error", () => {});
    this.serve(socket, { info, activeRequests: 0 }, http2);
  }

  private serve(socket: Socket, state: ConnectionState, http2: boolean): void {
    this.connections.set(socket, state);
    socket.once("close", () => this.connections.delete(socket));
    const useHttp2 =
      this.config.codecType === "HTTP2" || (this.config.codecType !== "HTTP1" && http2);
    if (useHttp2) {
      // A connection handed over unread (codec_type HTTP2 needs no preface sniff) was accepted
      // paused and its handle never started reading; the session reads the handle natively, so
      // reading starts here. (Sniffed connections read already; read(0) leaves their bytes.)
      if (socket.readableLength === 0) socket.read(0);
      // node's HTTP/2 server refuses a TLS connection whose ALPN is not `h2`; Envoy also serves
      // HTTP/2 over TLS by prior knowledge (codec_type HTTP2, or the preface without ALPN).
      const tls = socket as Socket & { alpnProtocol?: string | false };
      if (tls.alpnProtocol === false || tls.alpnProtocol === "http/1.1") tls.alpnProtocol = "h2";
      this.pendingSessionState = state;
      try {
        this.http2.emit("connection", socket);
      } finally {
        this.pendingSessionState = undefined;
      }
      // No resume: the session reads the socket natively and takes the bytes already buffered
      // on the next tick; a flowing socket would hand them to no one.
      return;
    }
    this.http1.emit("connection", socket);
    socket.resume();
  }

  /**
   * Graceful drain: HTTP/2 GOAWAY, HTTP/1.1 `connection: close` on each next response; idle
   * HTTP/1.1 connections stay until close() (closing one a client is writing to would fail it).
   */
  drain(): void {
    this.draining = true;
    for (const session of this.sessions) session.close();
  }

  close(): void {
    this.draining = true;
    // Stops the connection checks "listening" started (the socket itself was never bound).
    this.http1.close();
    for (const session of this.sessions) session.destroy();
    for (const socket of this.connections.keys()) socket.destroy();
    this.connections.clear();
    if (this.inlineRoutes) releaseRouteConfiguration(this.inlineRoutes);
    releaseRbacFilters(this.rbacFilters);
    releaseExtAuthzFilters(this.extAuthzFilters);
  }

  get activeConnections(): number {
    return this.connections.size + this.sessions.size;
  }

  private routeTable(): CompiledRouteConfig | undefined {
    const routes = this.config.routes;
    return routes.kind === "inline"
      ? this.inlineRoutes
      : this.deps.routeConfig(routes.routeConfigName);
  }

  private connectionOf(req: AnyRequest): ConnectionState | undefined {
    if ("stream" in req) return this.sessionStates.get(req.stream.session as Http2Session);
    const socket = (req as IncomingMessage).socket as Socket | undefined;
    if (!socket) return undefined;
    return (
      this.connections.get(socket) ??
      this.connections.get((socket as unknown as { _parent?: Socket })._parent!)
    );
  }

  private onRequest(req: AnyRequest, res: AnyResponse, http2: boolean): void {
    const startedAt = performance.now();
    const state = this.connectionOf(req);
    if (state) state.activeRequests++;
    if (this.draining && !http2) (res as ServerResponse).shouldKeepAlive = false;
    const prepared = prepareRequest(this.config, req, http2, state);
    const grpc = prepared.ok
      ? prepared.grpc
      : isGrpcContentType(firstValue(req.headers["content-type"]));
    const info = newStreamInfo({
      protocol: http2 ? "HTTP/2" : `HTTP/${(req as IncomingMessage).httpVersion}`,
      ...connectionStreamFields(state?.info),
    });
    const downstream = new NodeDownstream(
      res,
      this.config,
      { http2, grpc, head: req.method === "HEAD" },
      info,
    );
    const telemetry = this.deps.telemetry;
    if (telemetry) downstream.telemetry = { reporter: this.reporter, peer: undefined };
    if (grpc && this.countGrpcMessages) downstream.grpcStats = new GrpcStatsStream(info);
    // Tracing hook: set once the route is known, ended with the stream.
    let span: StreamSpan | undefined;
    let dynamicMetadata: FilterStream["dynamicMetadata"] | undefined;
    let messageReports: GrpcMessageReports | undefined;
    res.once("close", () => {
      if (state) state.activeRequests--;
      messageReports?.stop();
      // Before the record is written: other close listeners (the router's) run after this one.
      if (downstream.peerDisconnected()) downstream.flags.push("DC");
      const route = prepared.ok ? prepared.route : undefined;
      const recorded = this.endStream(req, downstream, startedAt, grpc, route, messageReports);
      if (span)
        this.endSpan(span, { req, downstream, startedAt, route, recorded, dynamicMetadata });
    });
    if (telemetry && prepared.ok && this.reporter === "destination") {
      const { peer, announced } = telemetry.takeRequestPeer(prepared.headers);
      downstream.telemetry!.peer = peer;
      if (announced) downstream.announce = (headers) => telemetry.announce(headers);
    }
    if (!prepared.ok) {
      downstream.sendLocalReply({
        status: prepared.status,
        details: prepared.details,
        ...(prepared.location ? { headers: { location: prepared.location } } : {}),
      });
      return;
    }
    const routeConfig = this.routeTable();
    const selection = routeConfig
      ? selectRoute(routeConfig, prepared.route, this.deps.random)
      : undefined;
    // Envoy's traceRequest: after route selection (a 404 is traced too), before the filters, so
    // the context the router injects is this span's.
    if (this.tracer)
      span = this.tracer.start({
        headers: prepared.headers,
        route: prepared.route,
        info,
        decorator: selection && !selection.noRoute ? selection.route.decorator : undefined,
      });
    if (!routeConfig || !selection || selection.noRoute) {
      downstream.sendLocalReply(ROUTE_NOT_FOUND_REPLY);
      return;
    }
    if (selection.route.name !== "") downstream.info.routeName = selection.route.name;
    // Envoy knows the route's cluster once the route is picked (a fault abort still names it).
    if (selection.clusterName !== undefined)
      downstream.info.upstreamCluster = selection.clusterName;
    if (selection.action.kind === "route") {
      // Envoy's filter manager finalizes every response of a routed stream with the route's
      // mutations, local replies included (fault aborts, the router's); a redirect's or direct
      // response's own are added where they are built (directResponseHeaders).
      const { route, headers } = prepared;
      downstream.mutateResponseHeaders = (response) =>
        applyResponseHeaderMutations(selection, response, {
          downstreamRemoteAddress: route.sourceIp ?? "",
          requestHeaders: headers,
          responseHeaders: response,
        });
    }
    if (downstream.grpcStats && telemetry && this.statsFilters.length > 0)
      messageReports = new GrpcMessageReports(
        telemetry,
        this.statsFilters,
        info,
        prepared.route.authority,
        () => this.liveStreamTelemetry(downstream),
      );
    dynamicMetadata = {};
    this.runFilters(
      {
        req,
        downstream,
        routeConfig,
        selection,
        route: prepared.route,
        headers: prepared.headers,
        grpc,
        startedAt,
        onStreamEnd: (listener) => res.once("close", listener),
        dynamicMetadata,
        span,
      },
      0,
    );
  }

  /**
   * The stream is over: its record goes to Istio's metrics and the access logs. True when the
   * record was completed (finishStreamInfo ran).
   */
  private endStream(
    req: AnyRequest,
    downstream: NodeDownstream,
    startedAt: number,
    grpc: boolean,
    route: RouteRequest | undefined,
    messageReports: GrpcMessageReports | undefined,
  ): boolean {
    const telemetry = this.deps.telemetry;
    const stream = downstream.telemetry;
    const loggers = this.accessLoggers;
    const filters = this.statsFilters;
    const recording = telemetry !== undefined && stream !== undefined && filters.length > 0;
    if (!recording && loggers.length === 0) return false;
    const info: StreamInfo = downstream.info;
    finishStreamInfo(info, req, startedAt, route);
    for (const logger of loggers) logger.log(info, HTTP_LOG);
    if (!recording) return true;
    const cluster = info.upstreamCluster
      ? this.deps.clusters.cluster(info.upstreamCluster)?.config
      : undefined;
    const record = { reporter: stream.reporter, peer: stream.peer, cluster, grpc };
    const reported = messageReports?.reported;
    for (let i = 0; i < filters.length; i++)
      telemetry.recordStream(info, record, filters[i]!, reported?.[i]);
    return true;
  }

  /** A gRPC stream's telemetry mid-stream, once its peer is known (else undefined). */
  private liveStreamTelemetry(downstream: NodeDownstream): HttpStreamTelemetry | undefined {
    const stream = downstream.telemetry;
    if (stream?.peer === undefined) return undefined;
    const clusterName = downstream.info.upstreamCluster;
    const cluster = clusterName ? this.deps.clusters.cluster(clusterName)?.config : undefined;
    return { reporter: stream.reporter, peer: stream.peer, cluster, grpc: true };
  }

  /** Ends the stream's span with its record (completed here unless endStream did). */
  private endSpan(
    span: StreamSpan,
    stream: {
      req: AnyRequest;
      downstream: NodeDownstream;
      startedAt: number;
      route: RouteRequest | undefined;
      recorded: boolean;
      dynamicMetadata: FilterStream["dynamicMetadata"] | undefined;
    },
  ): void {
    const info: StreamInfo = stream.downstream.info;
    if (span.sampled && !stream.recorded)
      finishStreamInfo(info, stream.req, stream.startedAt, stream.route);
    span.end(info, stream.dynamicMetadata);
  }

  /** A filter that throws fails its request, never the proxy. */
  private filterFailed(downstream: Downstream, error: unknown): void {
    this.deps.logger.error({ err: error }, "HTTP filter failed");
    if (!downstream.closed) downstream.sendLocalReply({ status: 500, details: "filter_error" });
  }

  /**
   * Runs the HTTP filters from `from` on, then the router. Synchronous unless a filter must wait
   * (jwt_authn verifying, a fault delay): it then resumes the chain after that filter.
   */
  private runFilters(stream: FilterStream, from: number): void {
    const { req, downstream, routeConfig, selection, route, headers, grpc, startedAt } = stream;
    const { onStreamEnd, dynamicMetadata, span } = stream;
    const filters = this.config.httpFilters;
    for (let i = from; i < filters.length; i++) {
      const filter = filters[i]!;
      if (filter.disabled) continue;
      const jwt = this.jwtFilters.get(filter);
      if (jwt) {
        jwt
          .authenticate({
            method: route.method,
            authority: route.authority,
            path: route.path,
            scheme: route.scheme,
            headers,
          })
          .then((outcome) => {
            if (downstream.closed) return;
            if (!outcome.allowed) {
              downstream.sendLocalReply(outcome.reply);
              return;
            }
            // What is forwarded: the token removed unless `forward`, claims copied to headers.
            for (const name of Object.keys(headers)) delete headers[name];
            Object.assign(headers, outcome.headers);
            route.path = outcome.path;
            if (outcome.metadata) dynamicMetadata[JWT_METADATA_NAMESPACE] = outcome.metadata;
            this.runFilters(stream, i + 1);
          })
          .catch((error: unknown) => this.filterFailed(downstream, error));
        return;
      }
      const extAuthz = this.extAuthzFilters.get(filter);
      if (extAuthz?.enabled(dynamicMetadata)) {
        extAuthz
          .check({ ...route, headers, connection: this.connectionOf(req), downstream })
          .then((outcome) => {
            if (downstream.closed) return;
            if (!outcome.allowed) {
              downstream.sendLocalReply(outcome.reply);
              return;
            }
            applyAllowedOutcome(outcome, headers, downstream);
            this.runFilters(stream, i + 1);
          })
          .catch((error: unknown) => this.filterFailed(downstream, error));
        return;
      }
      if (extAuthz) continue;
      const rbac = this.rbacFilters.get(filter);
      if (rbac) {
        const connection = this.connectionOf(req);
        const decision = checkRbac(rbac, { route, connection, dynamicMetadata }, this.deps.stats);
        if (!decision.allowed) {
          downstream.sendLocalReply({
            status: RBAC_DENIED_STATUS,
            details: decision.details ?? "rbac_access_denied",
            body: LOCAL_REPLY_BODY.rbacDenied,
          });
          return;
        }
        continue;
      }
      if (filter.typeUrl.endsWith(".HTTPFault")) {
        const fault = faultFor(filter, routeConfig, selection, route, this.deps.random);
        if (fault) {
          downstream.flags.push(...fault.flags);
          // Envoy's active_faults counts the stream until it is destroyed, one per stream.
          const stats = faultStats(this.deps.stats, this.config.statPrefix);
          stats.activeFaults.inc();
          onStreamEnd(() => stats.activeFaults.dec());
          if (fault.delayMs) stats.delaysInjected.inc();
          const proceed = (): void => {
            if (downstream.closed) return;
            if (fault.abort) {
              stats.abortsInjected.inc();
              downstream.sendLocalReply({
                status: fault.abort.status,
                details: RESPONSE_CODE_DETAILS.faultAbort,
                body: LOCAL_REPLY_BODY.faultAbort,
                ...(fault.abort.grpcStatus !== undefined
                  ? { grpcStatus: fault.abort.grpcStatus }
                  : {}),
              });
              return;
            }
            this.router(req, downstream, selection, route, headers, grpc, startedAt, span);
          };
          if (fault.delayMs) setTimeout(proceed, fault.delayMs);
          else proceed();
          return;
        }
      }
    }
    this.router(req, downstream, selection, route, headers, grpc, startedAt, span);
  }

  private router(
    req: AnyRequest,
    downstream: Downstream,
    selection: RouteMatchResult,
    route: RouteRequest,
    headers: MutableHeaders,
    grpc: boolean,
    startedAt: number,
    span: StreamSpan | undefined,
  ): void {
    const action = selection.action;
    const ctx = { downstreamRemoteAddress: route.sourceIp ?? "", requestHeaders: headers };
    if (action.kind === "redirect") {
      downstream.sendLocalReply({
        status: action.responseCode,
        details: "direct_response",
        headers: directResponseHeaders(selection, { location: selection.redirectUrl ?? "/" }, ctx),
      });
      return;
    }
    if (action.kind === "direct_response") {
      const body =
        action.body === undefined
          ? ""
          : typeof action.body === "string"
            ? action.body
            : Buffer.from(action.body).toString();
      downstream.sendLocalReply({
        status: action.status,
        details: "direct_response",
        body,
        headers: directResponseHeaders(selection, {}, ctx),
      });
      return;
    }
    applyRequestHeaderMutations(selection, headers, ctx);
    let path = route.path;
    if (selection.pathAfterRewrite !== undefined && selection.pathAfterRewrite !== path) {
      // Envoy's rewritePathHeader(headers, !suppress_envoy_headers).
      if (!this.routerConfig.suppressEnvoyHeaders) headers["x-envoy-original-path"] = path;
      path = selection.pathAfterRewrite;
    }
    let authority = route.authority;
    if (selection.hostRewrite !== undefined) {
      if (action.appendXForwardedHost) headers["x-forwarded-host"] = authority;
      authority = selection.hostRewrite;
    }
    const limit = selection.virtualHost.perRequestBufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES;
    routeToCluster(this.deps, {
      action,
      clusterName: selection.clusterName,
      routeRequest: route,
      method: route.method,
      authority,
      path,
      scheme: route.scheme,
      headers,
      grpc,
      body: new RequestBody(req, limit, downstream.info, downstream.grpcStats),
      downstream,
      includeAttemptCount: selection.virtualHost.includeRequestAttemptCount,
      includeAttemptCountInResponse: selection.virtualHost.includeAttemptCountInResponse,
      routerConfig: this.routerConfig,
      maxStreamDurationMs: this.config.maxStreamDurationMs,
      startedAt,
      span,
    });
  }

  /** What an upgrade or CONNECT request, handed over as a raw socket, sees of this HCM. */
  private entry(req: IncomingMessage): HcmEntry {
    return {
      config: this.config,
      deps: this.deps,
      routeTable: () => this.routeTable(),
      connection: this.connectionOf(req),
      stats: this.statsConfigs,
    };
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    handleUpgrade(this.entry(req), req, socket, head);
  }

  private onConnect(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const serve = (tunnel: Socket, state: ConnectionState, h2c: boolean): void =>
      this.serve(tunnel, state, h2c);
    handleConnect({ ...this.entry(req), serve }, req, socket, head);
  }
}
