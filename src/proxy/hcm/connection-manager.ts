// The HTTP connection manager (envoy.filters.network.http_connection_manager): owns the codecs
// (node's HTTP/1.1 parser and HTTP/2 sessions, fed connections the listener accepted), and runs
// every request through Envoy's steps — path normalisation, request header mutation, route
// selection, the HTTP filters (fault, CORS, router) — plus WebSocket upgrades and CONNECT.
import {
  createServer as createHttp1Server,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import {
  createServer as createHttp2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
} from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../../base/logger.ts";
import { setTimeoutMs } from "../../base/timer.ts";
import {
  isGrpcContentType,
  LOCAL_REPLY_BODY,
  RESPONSE_CODE_DETAILS,
  upstreamResetReplyInput,
} from "../http/local-reply.ts";
import { normalizeRequestPath } from "../http/path-normalization.ts";
import type { ResponseFlag } from "../http/response-flags.ts";
import { routerFilterConfig } from "../listener/decode-http-filters.ts";
import type { ConnectionInfo, HcmConfig, RouterFilterConfig } from "../listener/types.ts";
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
import type { Downstream, LocalReplyRequest } from "./downstream.ts";
import { faultFor } from "./fault-filter.ts";
import { firstValue, forwardableRequestHeaders } from "./headers.ts";
import { mutateRequestHeaders } from "./mutate-request-headers.ts";
import { NodeDownstream } from "./node-downstream.ts";
import { writeRawLocalReply } from "./raw-reply.ts";
import { RequestBody } from "./request-body.ts";
import { type RouterDeps, routeToCluster, splitAuthority } from "./router.ts";
import { sniffTunnelPreface } from "./tunnel-preface.ts";
import { proxyUpgrade } from "./upgrade.ts";

const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

export interface HcmDeps extends RouterDeps {
  /** The current RDS route table of that name (undefined until it arrives). */
  routeConfig(name: string): CompiledRouteConfig | undefined;
  /** Relays a CONNECT tunnel as TCP to a cluster (original destination: the CONNECT target). */
  relayTcp(
    socket: Duplex,
    clusterName: string,
    target: { address: string; port: number },
    /** The CONNECT route's idle_timeout (the tunnel's TCP idle timeout); default 1 h. */
    idleTimeoutMs?: number,
    /** When the upstream connected, or why no upstream could be (the socket is left open). */
    events?: RelayEvents,
  ): void;
  logger: Logger;
}

export interface RelayEvents {
  onConnected(): void;
  onConnectFailure(flags: readonly ResponseFlag[]): void;
}

/** The local reply for a CONNECT whose upstream never connected, as Envoy's router answers it. */
function connectFailureReply(flags: readonly ResponseFlag[]): LocalReplyRequest {
  if (flags.includes("NC"))
    return { status: 503, flag: "NC", details: RESPONSE_CODE_DETAILS.clusterNotFound };
  if (flags.includes("UH"))
    return {
      status: 503,
      flag: "UH",
      details: RESPONSE_CODE_DETAILS.noHealthyUpstream,
      body: LOCAL_REPLY_BODY.noHealthyUpstream,
    };
  // The TCP proxy does not say whether a dial was refused or timed out: Envoy's body names the
  // reason, a refusal being the common case.
  return upstreamResetReplyInput(flags.includes("UO") ? "overflow" : "remote_connection_failure");
}

interface ConnectionState {
  info: ConnectionInfo;
  /** CONNECT target when this connection is a terminated CONNECT tunnel. */
  tunnelAuthority?: string;
  activeRequests: number;
}

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

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

export class HttpConnectionManager {
  private readonly config: HcmConfig;
  private readonly deps: HcmDeps;
  private readonly http1: Server;
  private readonly http2: Http2Server;
  private readonly inlineRoutes: CompiledRouteConfig | undefined;
  private readonly routerConfig: RouterFilterConfig;
  private readonly connections = new Map<Socket, ConnectionState>();
  private readonly sessions = new Set<Http2Session>();
  /** HTTP/2 requests see a proxy of the socket, so their connection is found by session. */
  private readonly sessionStates = new WeakMap<Http2Session, ConnectionState>();
  /** The connection being handed to the HTTP/2 server ("session" is emitted synchronously). */
  private pendingSessionState: ConnectionState | undefined;
  private draining = false;

  constructor(config: HcmConfig, deps: HcmDeps) {
    this.config = config;
    this.deps = deps;
    this.routerConfig = routerFilterConfig(config.httpFilters);
    if (config.routes.kind === "inline") {
      const compiled = decodeRouteConfiguration(config.routes.routeConfig);
      if (compiled.ok) this.inlineRoutes = compiled.value;
    }
    this.http1 = createHttp1Server({
      maxHeaderSize: config.maxRequestHeadersKb * 1024,
      joinDuplicateHeaders: true,
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: http1HeadersTimeoutMs(config),
      keepAliveTimeout: config.idleTimeoutMs,
      // Node enforces both timeouts only when it checks its connections: a short request_timeout
      // needs checks often enough to fire near its deadline, not 30 s late.
      connectionsCheckingInterval: Math.min(
        30_000,
        Math.max(100, Math.floor(http1HeadersTimeoutMs(config) / 2)),
      ),
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
      this.onClientError(err, socket),
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
      this.armIdleTimeout(session);
      if (this.draining) session.close();
    });
    this.http2.on("sessionError", () => {});
    this.http2.on("streamError", () => {});
  }

  /**
   * common_http_protocol_options.idle_timeout for an HTTP/2 connection: once no stream has been
   * active for that long, Envoy sends GOAWAY and closes it. (HTTP/1.1 gets node's keepAliveTimeout.)
   */
  private armIdleTimeout(session: Http2Session): void {
    let active = 0;
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      timer = setTimeoutMs(() => {
        // close() sends GOAWAY and ends the connection, as no stream is left to finish.
        if (active === 0 && !session.closed) session.close();
      }, this.config.idleTimeoutMs);
      timer?.unref();
    };
    session.on("stream", (stream) => {
      active++;
      if (timer) clearTimeout(timer);
      timer = undefined;
      stream.once("close", () => {
        if (--active === 0 && !session.closed && !session.destroyed) arm();
      });
    });
    session.once("close", () => {
      if (timer) clearTimeout(timer);
    });
    arm();
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

  private onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (
      !socket.writable ||
      (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent
    ) {
      socket.destroy();
      return;
    }
    if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      // request_timeout (or the headers timeout) expired: Envoy answers 408, not a codec error.
      writeRawLocalReply(socket, this.config, {
        status: 408,
        body: LOCAL_REPLY_BODY.requestTimeout,
        details: "request_overall_timeout",
      });
      return;
    }
    const tooLarge = err.code === "HPE_HEADER_OVERFLOW";
    writeRawLocalReply(socket, this.config, {
      status: tooLarge ? 431 : 400,
      // Envoy's HTTP/1 codec answers protocol errors with the status text as the body.
      body: tooLarge ? "Request Header Fields Too Large" : "Bad Request",
      details: "codec_error",
      flag: "DPE",
    });
  }

  /** The request's facts as routing sees them, or a reason to reject it. */
  private prepare(
    req: AnyRequest,
    http2: boolean,
    state: ConnectionState | undefined,
  ):
    | { ok: true; route: RouteRequest; headers: MutableHeaders; grpc: boolean; clientIp: string }
    | { ok: false; status: number; details: string; location?: string } {
    const headers = forwardableRequestHeaders(req.headers);
    const method = req.method ?? "GET";
    let path = (http2 ? (req.headers[":path"] as string | undefined) : req.url) ?? "";
    let authority =
      state?.tunnelAuthority ??
      (http2 ? (req.headers[":authority"] as string | undefined) : undefined) ??
      req.headers.host ??
      "";
    if (!http2 && path !== "" && path[0] !== "/" && path !== "*") {
      // Absolute form (a client using us as its HTTP proxy).
      try {
        const url = new URL(path);
        if (this.config.allowAbsoluteUrl && state?.tunnelAuthority === undefined)
          authority = url.host;
        path = `${url.pathname}${url.search}`;
      } catch {
        return { ok: false, status: 400, details: "absolute_path_rejected" };
      }
    }
    if ((req.rawHeaders?.length ?? 0) / 2 > this.config.maxHeadersCount) {
      return { ok: false, status: 431, details: "too_many_headers" };
    }
    const normalized = normalizeRequestPath(path, this.config);
    if (normalized.action === "reject") {
      return { ok: false, status: 400, details: RESPONSE_CODE_DETAILS.pathNormalizationFailed };
    }
    if (normalized.action === "redirect") {
      return {
        ok: false,
        status: 307,
        details: "path_normalization_redirect",
        location: normalized.path,
      };
    }
    path = normalized.path;
    const remoteIp = state?.info.sourceIp ?? req.socket?.remoteAddress ?? "";
    const { clientIp } = mutateRequestHeaders(this.config, {
      headers,
      remoteIp,
      scheme: "http",
      protocol: http2 ? "2" : "1.1",
    });
    const grpc = isGrpcContentType(firstValue(headers["content-type"]));
    return {
      ok: true,
      route: { authority, path, method, scheme: "http", headers, sourceIp: clientIp },
      headers,
      grpc,
      clientIp,
    };
  }

  private onRequest(req: AnyRequest, res: AnyResponse, http2: boolean): void {
    const state = this.connectionOf(req);
    if (state) {
      state.activeRequests++;
      res.once("close", () => {
        state.activeRequests--;
      });
    }
    if (this.draining && !http2) (res as ServerResponse).shouldKeepAlive = false;
    const prepared = this.prepare(req, http2, state);
    const grpc = prepared.ok
      ? prepared.grpc
      : isGrpcContentType(firstValue(req.headers["content-type"]));
    const downstream = new NodeDownstream(res, this.config, {
      http2,
      grpc,
      head: req.method === "HEAD",
    });
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
    if (!routeConfig || !selection || selection.noRoute) {
      downstream.sendLocalReply({
        status: 404,
        flag: "NR",
        details: RESPONSE_CODE_DETAILS.routeNotFound,
      });
      return;
    }
    this.runFilters(
      req,
      downstream,
      routeConfig,
      selection,
      prepared.route,
      prepared.headers,
      grpc,
    );
  }

  private runFilters(
    req: AnyRequest,
    downstream: Downstream,
    routeConfig: CompiledRouteConfig,
    selection: RouteMatchResult,
    route: RouteRequest,
    headers: MutableHeaders,
    grpc: boolean,
  ): void {
    for (const filter of this.config.httpFilters) {
      if (filter.disabled) continue;
      if (filter.typeUrl.endsWith(".HTTPFault")) {
        const fault = faultFor(filter, routeConfig, selection, route, this.deps.random);
        if (fault) {
          downstream.flags.push(...fault.flags);
          const proceed = (): void => {
            if (downstream.closed) return;
            if (fault.abort) {
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
            this.router(req, downstream, selection, route, headers, grpc);
          };
          if (fault.delayMs) setTimeout(proceed, fault.delayMs);
          else proceed();
          return;
        }
      }
    }
    this.router(req, downstream, selection, route, headers, grpc);
  }

  private router(
    req: AnyRequest,
    downstream: Downstream,
    selection: RouteMatchResult,
    route: RouteRequest,
    headers: MutableHeaders,
    grpc: boolean,
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
      headers["x-envoy-original-path"] = path;
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
      body: new RequestBody(req, limit),
      downstream,
      includeAttemptCount: selection.virtualHost.includeRequestAttemptCount,
      includeAttemptCountInResponse: selection.virtualHost.includeAttemptCountInResponse,
      routerConfig: this.routerConfig,
      mutateResponseHeaders: (response) =>
        applyResponseHeaderMutations(selection, response, { ...ctx, responseHeaders: response }),
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => {});
    const state = this.connectionOf(req);
    const upgradeType = String(req.headers.upgrade ?? "").toLowerCase();
    const allowed = this.config.upgradeConfigs.some(
      (u) => u.enabled && u.upgradeType.toLowerCase() === upgradeType,
    );
    const prepared = this.prepare(req, false, state);
    if (!prepared.ok || !allowed) {
      writeRawLocalReply(socket, this.config, {
        status: prepared.ok ? 403 : prepared.status,
        details: prepared.ok ? "upgrade_failed" : prepared.details,
      });
      return;
    }
    const routeConfig = this.routeTable();
    const selection = routeConfig
      ? selectRoute(routeConfig, prepared.route, this.deps.random)
      : undefined;
    if (!selection || selection.noRoute || selection.action.kind !== "route") {
      writeRawLocalReply(socket, this.config, {
        status: 404,
        flag: "NR",
        details: RESPONSE_CODE_DETAILS.routeNotFound,
      });
      return;
    }
    const routeUpgrades = selection.action.upgradeConfigs;
    const disabled = routeUpgrades.some(
      (u) => u.upgradeType.toLowerCase() === upgradeType && !u.enabled,
    );
    if (disabled) {
      writeRawLocalReply(socket, this.config, { status: 403, details: "upgrade_failed" });
      return;
    }
    applyRequestHeaderMutations(selection, prepared.headers, { requestHeaders: prepared.headers });
    proxyUpgrade(this.deps, this.config, {
      socket,
      head,
      selection,
      method: prepared.route.method,
      path: selection.pathAfterRewrite ?? prepared.route.path,
      authority: selection.hostRewrite ?? prepared.route.authority,
      headers: prepared.headers,
      upgrade: req.headers.upgrade ?? upgradeType,
    });
  }

  /** CONNECT on the local runtime's HTTP proxy listener: relay as TCP, or terminate and serve HTTP inside. */
  private onConnect(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on("error", () => {});
    const state = this.connectionOf(req);
    const authority = req.url ?? "";
    const connectAllowed = this.config.upgradeConfigs.some(
      (u) => u.enabled && u.upgradeType.toUpperCase() === "CONNECT",
    );
    const routeConfig = this.routeTable();
    if (!connectAllowed || !routeConfig || authority === "") {
      writeRawLocalReply(socket, this.config, {
        status: 404,
        flag: "NR",
        details: RESPONSE_CODE_DETAILS.routeNotFound,
      });
      return;
    }
    const headers = forwardableRequestHeaders(req.headers);
    const route: RouteRequest = {
      authority,
      path: "",
      method: "CONNECT",
      scheme: "http",
      headers,
      sourceIp: state?.info.sourceIp ?? socket.remoteAddress ?? "",
    };
    const selection = selectRoute(routeConfig, route, this.deps.random);
    const established = (): void => {
      socket.write("HTTP/1.1 200 OK\r\n\r\n");
      if (head.length > 0) socket.unshift(head);
    };
    if (!selection.noRoute) {
      const action = selection.action;
      if (action.kind === "route" && selection.clusterName) {
        const target = splitAuthority(authority, 443);
        if (!target) {
          socket.destroy();
          return;
        }
        if (head.length > 0) socket.unshift(head);
        // Envoy answers a CONNECT only once its upstream connection is up, and 503 when none
        // comes up: a client must not start its TLS handshake into a tunnel that goes nowhere.
        this.deps.relayTcp(socket, selection.clusterName, target, action.idleTimeoutMs, {
          onConnected: () => socket.write("HTTP/1.1 200 OK\r\n\r\n"),
          onConnectFailure: (flags) => {
            // Whatever the client sent already is discarded; its FIN then closes the socket.
            socket.allowHalfOpen = false;
            socket.resume();
            writeRawLocalReply(socket, this.config, connectFailureReply(flags));
          },
        });
        return;
      }
      if (action.kind === "direct_response") {
        writeRawLocalReply(socket, this.config, {
          status: action.status,
          details: "direct_response",
        });
        return;
      }
      writeRawLocalReply(socket, this.config, {
        status: 404,
        flag: "NR",
        details: RESPONSE_CODE_DETAILS.routeNotFound,
      });
      return;
    }
    if (selection.virtualHost === undefined) {
      writeRawLocalReply(socket, this.config, {
        status: 404,
        flag: "NR",
        details: RESPONSE_CODE_DETAILS.routeNotFound,
      });
      return;
    }
    // A known HTTP service: terminate the tunnel and run what arrives through this HCM.
    established();
    const info = state?.info ?? {
      destinationIp: socket.localAddress ?? "",
      destinationPort: socket.localPort ?? 0,
      transportProtocol: "raw_buffer",
      applicationProtocols: [],
      sourceIp: socket.remoteAddress ?? "",
      sourcePort: socket.remotePort ?? 0,
    };
    const tunnel: ConnectionState = { info, tunnelAuthority: authority, activeRequests: 0 };
    // gRPC and other HTTP/2 clients speak h2c with prior knowledge inside the tunnel.
    sniffTunnelPreface(socket, (h2c) => this.serve(socket, tunnel, h2c));
  }
}
