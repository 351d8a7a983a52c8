// The router filter (envoy.filters.http.router): picks a host of the route's cluster, opens the
// upstream stream through the connection pools, enforces the global and per-try timeouts, retries
// under the route's retry policy with back-off and previous-host avoidance, sends request mirrors
// (mirror.ts), feeds outlier detection, load balancer and circuit breakers, and hands the response
// to stream-response.ts.
import { setTimeoutMs } from "../../base/timer.ts";
import { grpcStatusOf, grpcToHttpStatus } from "../http/grpc-status.ts";
import {
  LOCAL_REPLY_BODY,
  RESPONSE_CODE_DETAILS,
  upstreamResetReplyInput,
} from "../http/local-reply.ts";
import type { StreamResetReason } from "../http/reset-reason.ts";
import { createRetryState, RETRY_REQUEST_HEADERS, type RetryState } from "../http/retry-state.ts";
import { wireHeaders } from "../routing/select-route.ts";
import { type ClusterStats, clusterStats, countStatusClass } from "../stats/stats-store.ts";
import type { Cluster } from "../upstream/cluster-manager.ts";
import type { Host } from "../upstream/lb/host-set.ts";
import type { LocalReplyRequest } from "./downstream.ts";
import { requestHash } from "./hash-policy.ts";
import { forwardableResponseHeaders } from "./headers.ts";
import { sendMirrors } from "./mirror.ts";
import { originalDestinationHost } from "./original-destination.ts";
import type { BodySink } from "./request-body.ts";
import { resetKind, routerLocalReply, upstreamResetReply } from "./router-local-reply.ts";
import type { RouterDeps, RouterRequest } from "./router-types.ts";
import { type ResponseStreamHooks, streamResponse } from "./stream-response.ts";
import {
  expectedTimeoutMs,
  formatGrpcTimeout,
  requestTimeoutMs,
  rewritesGrpcTimeout,
  streamDurationMs,
} from "./timeouts.ts";
import { upstreamTarget } from "./upstream-target.ts";
import type { UpstreamAttempt, UpstreamResponse } from "./upstream-types.ts";

class RouterStream implements ResponseStreamHooks {
  private readonly deps: RouterDeps;
  private readonly req: RouterRequest;
  private readonly cluster: Cluster;
  private readonly stats: ClusterStats;
  private readonly retry: RetryState;
  private readonly hash: bigint | undefined;
  private readonly attempted = new Set<Host>();
  private attempt: UpstreamAttempt | undefined;
  /** The current attempt's end bookkeeping (active requests, LB); idempotent. */
  private endAttempt: (() => void) | undefined;
  private sink: BodySink | undefined;
  private host: Host | undefined;
  private globalTimer: NodeJS.Timeout | undefined;
  private streamDurationTimer: NodeJS.Timeout | undefined;
  private perTryTimer: NodeJS.Timeout | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;
  private releaseRequest: (() => void) | undefined;
  private releaseRetry: (() => void) | undefined;
  private done = false;
  private retried = false;
  private attemptCount = 0;
  /** The global timeout in ms (0 = none), from the route and the request's headers. */
  private timeoutMs = 0;
  /** The per-try timeout, unset when it is not below the global one (Envoy ignores it then). */
  private perTryTimeoutMs: number | undefined;
  /** When the whole request had arrived (Envoy's downstream_request_complete_time_). */
  private requestCompleteAt: number | undefined;
  /** Arms the current attempt's per-try timer once the request completes. */
  private armPerTryOnComplete: (() => void) | undefined;

  constructor(deps: RouterDeps, req: RouterRequest, cluster: Cluster) {
    this.deps = deps;
    this.req = req;
    this.cluster = cluster;
    this.stats = clusterStats(deps.stats, cluster.config.name);
    this.retry = createRetryState(req.action.retryPolicy, req.routeRequest, {
      random: deps.random,
      breakerAllowsRetry: () => {
        // Envoy holds a retry's slot from its retry decision through the back-off and the retried
        // attempt, until the next decision or the end of the request.
        this.releaseRetrySlot();
        const release = cluster.circuitBreakers.tryAcquire("retries");
        if (!release) return false;
        this.releaseRetry = release;
        return true;
      },
    });
    this.hash = requestHash(req.action.hashPolicies, req.routeRequest);
    for (const name of RETRY_REQUEST_HEADERS) delete req.headers[name];
    if (req.includeAttemptCountInResponse) {
      // On upstream responses and the router's local replies alike, after the route's mutations
      // (Envoy's modify_headers_), whatever suppress_envoy_headers says (as on the request).
      const routeMutations = req.downstream.mutateResponseHeaders;
      req.downstream.mutateResponseHeaders = (headers) => {
        routeMutations?.(headers);
        if (this.attemptCount > 0) headers["x-envoy-attempt-count"] = String(this.attemptCount);
      };
    }
  }

  finished(): boolean {
    return this.done;
  }

  start(): void {
    const { req } = this;
    const release = this.cluster.circuitBreakers.tryAcquire("requests");
    if (!release) {
      this.stats.upstreamRqPendingOverflow.inc();
      this.fail(upstreamResetReplyInput("overflow"));
      return;
    }
    this.releaseRequest = release;
    this.timeoutMs = requestTimeoutMs(req.action, req.headers, req.grpc, req.routerConfig);
    this.armStreamDuration();
    const perTry = this.retry.perTryTimeoutMs;
    if (perTry && (this.timeoutMs === 0 || perTry < this.timeoutMs)) this.perTryTimeoutMs = perTry;
    // The HCM records the client's disconnect (DC) as the stream closes.
    req.downstream.onClose(() => {
      if (this.done) return;
      this.cleanup();
      this.abortAttempt();
    });
    // Mirrors copy the headers now, so they carry the expected timeout as Envoy's shadows do.
    this.setExpectedTimeoutHeader();
    sendMirrors(this.deps, this.req);
    this.startAttempt();
    req.body.onComplete(() => this.onRequestComplete());
  }

  /**
   * The HCM's max stream duration (Envoy's refreshDurationTimeout), counted from the stream's
   * start; a route with max_stream_duration relies on it instead of a router timeout.
   */
  private armStreamDuration(): void {
    const { req } = this;
    const duration = streamDurationMs(req.action, req.maxStreamDurationMs, req.headers, req.grpc);
    if (duration === undefined) return;
    const used = req.startedAt === undefined ? 0 : performance.now() - req.startedAt;
    const left = duration - used;
    // Spent (or a 0 deadline, as Envoy arms it): the timer fires at once.
    this.streamDurationTimer =
      left > 0
        ? setTimeoutMs(() => this.onStreamDurationReached(), left)
        : setTimeout(() => this.onStreamDurationReached(), 0);
  }

  private onStreamDurationReached(): void {
    this.streamDurationTimer = undefined;
    if (this.done) return;
    this.detachAttempt();
    this.abortAttempt();
    if (this.req.downstream.headersSent) {
      this.complete();
      this.req.downstream.reset();
      return;
    }
    // Envoy's maybeRequestTimeoutCode: 504 once the whole request arrived, else 408.
    this.fail({
      status: this.req.body.complete ? 504 : 408,
      details: "max_duration_timeout",
      body: "downstream duration timeout",
      grpcStatus: 4, // DEADLINE_EXCEEDED
    });
  }

  /**
   * Envoy's onRequestComplete: the route timeout (and the first attempt's per-try timeout) run from
   * the end of the request, so a slow upload is not cut short by them.
   */
  private onRequestComplete(): void {
    if (this.done) return;
    this.requestCompleteAt = performance.now();
    this.globalTimer = setTimeoutMs(() => this.onGlobalTimeout(), this.timeoutMs);
    const arm = this.armPerTryOnComplete;
    this.armPerTryOnComplete = undefined;
    arm?.();
  }

  /** Envoy's setTimeoutHeaders: what is left of the global timeout, or the per-try one if less. */
  private setExpectedTimeoutHeader(): void {
    const elapsed =
      this.requestCompleteAt === undefined ? 0 : performance.now() - this.requestCompleteAt;
    const expected = expectedTimeoutMs(this.timeoutMs, this.perTryTimeoutMs, elapsed);
    if (expected === undefined) return;
    if (!this.req.routerConfig.suppressEnvoyHeaders) {
      this.req.headers["x-envoy-expected-rq-timeout-ms"] = String(expected);
    }
    // Whatever suppress_envoy_headers says: the gRPC server learns the deadline it really has.
    if (rewritesGrpcTimeout(this.req.action, this.req.grpc)) {
      this.req.headers["grpc-timeout"] = formatGrpcTimeout(expected);
    }
  }

  private pickHost(): Host | undefined {
    const cluster = this.cluster;
    // ORIGINAL_DST (PassthroughCluster): the request's own destination.
    if (cluster.config.lbPolicy === "CLUSTER_PROVIDED") {
      return originalDestinationHost(cluster, this.req);
    }
    const excluded = this.retried && this.attempted.size > 0 ? this.attempted : undefined;
    const context = {
      ...(this.hash !== undefined ? { hash: this.hash } : {}),
      ...(excluded ? { excluded } : {}),
      hostSelectionRetryMaxAttempts: this.retry.hostSelectionMaxAttempts,
    };
    if (!cluster.hostSet) return undefined;
    return cluster.lb?.pick(context);
  }

  private startAttempt(): void {
    const { req, cluster } = this;
    if (this.done) return;
    const host = this.pickHost();
    if (!host) {
      this.fail({
        status: 503,
        flag: "UH",
        details: RESPONSE_CODE_DETAILS.noHealthyUpstream,
        body: LOCAL_REPLY_BODY.noHealthyUpstream,
      });
      return;
    }
    this.host = host;
    const info = req.downstream.info;
    info.upstreamCluster = cluster.config.name;
    info.upstreamHost = `${host.address}:${host.port}`;
    // Istio's stats name the upstream host's workload (its istio.workload metadata) when no
    // response says who answered: a timeout, a reset, a client that left. A response's peer
    // metadata replaces it (forwardResponse).
    const stream = req.downstream.telemetry;
    if (stream?.reporter === "source" && this.deps.telemetry)
      stream.peer = this.deps.telemetry.endpointPeer(host.metadata);
    this.attempted.add(host);
    this.retry.onHostAttempted(`${host.address}:${host.port}`);
    this.attemptCount++;
    this.stats.upstreamRqTotal.inc();
    this.stats.upstreamRqActive.inc();
    cluster.lb?.onRequestStart(host);
    // start() set it for the first attempt; a retry's reflects the time gone since.
    if (this.retried) this.setExpectedTimeoutHeader();
    const headers = wireHeaders(req.headers);
    if (req.includeAttemptCount) headers["x-envoy-attempt-count"] = String(this.attemptCount);
    // Tracing hook: Envoy's UpstreamRequest injects the span context into each attempt.
    req.span?.inject(headers, cluster.config.name);
    if (req.downstream.telemetry?.reporter === "source")
      this.deps.telemetry?.announce(headers, cluster.config);
    const target = upstreamTarget(
      cluster,
      host,
      req.downstream.protocol,
      this.deps.sourceAddress,
      this.stats,
      this.deps.upstreamTls,
      req.authority,
    );
    let ended = false;
    const endAttempt = (): void => {
      if (ended) return;
      ended = true;
      this.stats.upstreamRqActive.dec();
      cluster.lb?.onRequestEnd(host);
    };
    const attempt = this.deps.pools.start(
      target,
      { method: req.method, path: req.path, authority: req.authority, scheme: req.scheme, headers },
      {
        // Envoy's upstream SSL info: the connection this attempt went out on (the source
        // reporter's principals come from it).
        onConnected: (ssl, localAddress) => {
          info.upstreamPeerUriSan = ssl?.peerUriSan;
          info.upstreamLocalUriSan = ssl?.localUriSan;
          info.upstreamLocalAddress = localAddress;
        },
        onResponse: (response) => {
          if (this.attempt !== attempt) {
            response.body.resume();
            return;
          }
          this.onResponse(response, host, endAttempt);
        },
        onReset: (reason, transportFailureReason) => {
          endAttempt();
          if (this.attempt !== attempt) return;
          this.onReset(reason, host, transportFailureReason);
        },
      },
    );
    this.attempt = attempt;
    this.endAttempt = endAttempt;
    this.sink = attempt;
    req.body.attach(attempt);
    if (this.perTryTimeoutMs === undefined) return;
    const armPerTry = (): void => {
      this.perTryTimer = setTimeoutMs(() => {
        this.perTryTimer = undefined;
        endAttempt();
        this.onPerTryTimeout(host);
      }, this.perTryTimeoutMs);
    };
    // A retry of a complete request starts its per-try timer at once; the first attempt's waits
    // for the request to complete (Envoy's createPerTryTimeoutOnRequestComplete).
    if (req.body.complete) armPerTry();
    else this.armPerTryOnComplete = armPerTry;
  }

  /** Resets the current attempt and ends its bookkeeping: an aborted attempt gets no callback. */
  abortAttempt(): void {
    const attempt = this.attempt;
    const end = this.endAttempt;
    this.attempt = undefined;
    this.endAttempt = undefined;
    attempt?.abort();
    end?.();
  }

  private detachAttempt(): void {
    if (this.sink) this.req.body.detach(this.sink);
    this.sink = undefined;
    this.clearPerTryTimer();
  }

  private clearPerTryTimer(): void {
    if (this.perTryTimer) clearTimeout(this.perTryTimer);
    this.perTryTimer = undefined;
    this.armPerTryOnComplete = undefined;
  }

  private onResponse(response: UpstreamResponse, host: Host, endAttempt: () => void): void {
    const { req } = this;
    this.clearPerTryTimer();
    if (response.status < 100 || response.status > 599) {
      // Envoy's codec client rejects a response head without a valid status: an upstream protocol
      // error (reset, retried under retry_on reset, else 502 UPE), never a head to forward.
      response.body.on("error", () => {});
      this.abortAttempt();
      this.onReset("protocol_error", host);
      return;
    }
    this.reportOutlierStatus(response, host);
    countStatusClass(this.stats, response.status);
    const canRetry = req.body.replayable && !req.downstream.headersSent;
    if (canRetry) {
      const decision = this.retry.onResponse({
        status: response.status,
        headers: response.headers,
      });
      if (decision !== "return") {
        if (response.endStream && req.body.complete) {
          endAttempt();
        } else {
          // Envoy resets a retried attempt unless both directions ended: an unfinished upload
          // would otherwise hold the HTTP/1.1 connection (or leave the HTTP/2 stream half-open).
          response.body.on("error", () => {});
          this.abortAttempt();
        }
        this.scheduleRetry(decision.retryAfterMs);
        return;
      }
    }
    if (this.retry.flag) req.downstream.flags.push(this.retry.flag);
    this.forwardResponse(response, endAttempt);
  }

  /**
   * Outlier detection hears a gRPC response by the grpc-status of its head mapped to HTTP (a
   * trailers-only UNAVAILABLE counts as a 503), as Envoy's router reports it in onUpstreamHeaders;
   * a status carried in the trailers reaches only the host's success stats there, never outlier
   * detection.
   */
  private reportOutlierStatus(response: UpstreamResponse, host: Host): void {
    const grpcStatus = this.req.grpc ? grpcStatusOf(response.headers) : undefined;
    this.cluster.outlierDetector?.onResult(host, {
      status: grpcStatus === undefined ? response.status : grpcToHttpStatus(grpcStatus),
    });
  }

  private forwardResponse(response: UpstreamResponse, endAttempt: () => void): void {
    const headers = forwardableResponseHeaders(response.headers);
    const { info, telemetry } = this.req.downstream;
    info.responseCodeDetails = RESPONSE_CODE_DETAILS.viaUpstream;
    if (telemetry?.reporter === "source" && this.deps.telemetry)
      telemetry.peer = this.deps.telemetry.takeResponsePeer(headers, this.host?.metadata);
    // Envoy measures from the end of the request, and only for a response to a complete request.
    if (this.requestCompleteAt !== undefined) {
      info.upstreamServiceTimeMs = Math.floor(performance.now() - this.requestCompleteAt);
      if (!this.req.routerConfig.suppressEnvoyHeaders)
        headers["x-envoy-upstream-service-time"] = String(info.upstreamServiceTimeMs);
    }
    this.req.downstream.mutateResponseHeaders?.(headers);
    streamResponse(this.req.downstream, response, headers, this, endAttempt);
  }

  private onReset(reason: StreamResetReason, host: Host, transportFailureReason?: string): void {
    if (this.done) return;
    this.detachAttempt();
    const kind = resetKind(reason);
    const connectFailure = kind === "connect-failure";
    if (connectFailure) {
      this.stats.upstreamCxConnectFail.inc();
      if (reason === "connection_timeout") this.stats.upstreamCxConnectTimeout.inc();
    }
    if (kind === "overflow") {
      // The pool refused a pending request; it says nothing about the host, so outlier
      // detection does not hear of it (Envoy's router, envoyproxy/envoy#25487).
      this.stats.upstreamRqPendingOverflow.inc();
    } else {
      this.cluster.outlierDetector?.onResult(host, {
        localOriginFailure: connectFailure ? "connect" : "reset",
      });
    }
    if (this.req.body.replayable) {
      const decision = this.retry.onReset(kind, { requestStarted: !connectFailure });
      if (decision !== "fail") {
        this.scheduleRetry(decision.retryAfterMs);
        return;
      }
    }
    if (this.retry.flag) this.req.downstream.flags.push(this.retry.flag);
    if (transportFailureReason)
      this.req.downstream.info.upstreamTransportFailureReason = transportFailureReason;
    this.fail(upstreamResetReply(reason, this.retried, transportFailureReason));
  }

  private onPerTryTimeout(host: Host): void {
    if (this.done) return;
    this.detachAttempt();
    this.abortAttempt();
    this.stats.upstreamRqTimeout.inc();
    this.cluster.outlierDetector?.onResult(host, { localOriginFailure: "timeout" });
    if (this.req.body.replayable) {
      const decision = this.retry.onReset("timeout-per-try");
      if (decision !== "fail") {
        this.scheduleRetry(decision.retryAfterMs);
        return;
      }
    }
    this.timeoutReply();
  }

  private onGlobalTimeout(): void {
    this.globalTimer = undefined;
    if (this.done) return;
    this.stats.upstreamRqTimeout.inc();
    this.detachAttempt();
    this.abortAttempt();
    if (this.host)
      this.cluster.outlierDetector?.onResult(this.host, { localOriginFailure: "timeout" });
    if (this.req.downstream.headersSent) {
      this.req.downstream.flags.push("UT");
      this.complete();
      this.req.downstream.reset();
      return;
    }
    this.timeoutReply();
  }

  private timeoutReply(): void {
    this.fail({
      status: 504,
      flag: "UT",
      details: RESPONSE_CODE_DETAILS.upstreamTimeout,
      body: LOCAL_REPLY_BODY.upstreamTimeout,
    });
  }

  private scheduleRetry(delayMs: number): void {
    this.detachAttempt();
    // The previous attempt ends on its own (reset, timeout, or its drained body).
    this.attempt = undefined;
    this.endAttempt = undefined;
    this.retried = true;
    this.stats.upstreamRqRetry.inc();
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      this.startAttempt();
    }, delayMs);
  }

  private fail(reply: LocalReplyRequest): void {
    if (this.done) return;
    this.complete();
    this.req.downstream.sendLocalReply(
      routerLocalReply(reply, this.req.routerConfig.suppressEnvoyHeaders),
    );
  }

  complete(): void {
    this.done = true;
    this.cleanup();
    this.req.body.discard();
  }

  private cleanup(): void {
    this.done = true;
    if (this.globalTimer) clearTimeout(this.globalTimer);
    if (this.streamDurationTimer) clearTimeout(this.streamDurationTimer);
    this.streamDurationTimer = undefined;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.globalTimer = undefined;
    this.backoffTimer = undefined;
    this.detachAttempt();
    this.releaseRequest?.();
    this.releaseRequest = undefined;
    this.releaseRetrySlot();
  }

  private releaseRetrySlot(): void {
    this.releaseRetry?.();
    this.releaseRetry = undefined;
  }
}

/** Routes one request whose route action forwards to a cluster. */
export function routeToCluster(deps: RouterDeps, req: RouterRequest): void {
  const name = req.clusterName;
  const cluster = name ? deps.clusters.cluster(name) : undefined;
  if (!cluster) {
    req.downstream.sendLocalReply({
      status: req.action.clusterNotFoundResponseCode,
      flag: "NC",
      details: RESPONSE_CODE_DETAILS.clusterNotFound,
    });
    return;
  }
  new RouterStream(deps, req, cluster).start();
}
