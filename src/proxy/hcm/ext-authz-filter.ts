// The HCM's `envoy.filters.http.ext_authz` filters: each asks an external authorizer (an HTTP
// service, or envoy.service.auth.v3.Authorization/Check over gRPC) whether a request may pass,
// only when its filter_enabled_metadata matches (Istio: the CUSTOM policy's RBAC marker). The
// answer becomes headers for the upstream and the client, or the authorizer's denial; a failure
// is status_on_error unless failure_mode_allow. Every outcome is reached within the timeout.
import type { HttpFilter } from "../listener/types.ts";
import type { MutableHeaders } from "../routing/types.ts";
import { clusterStats } from "../stats/stats-store.ts";
import type { Downstream, LocalReplyRequest } from "./downstream.ts";
import {
  decodeExtAuthz,
  EXT_AUTHZ_TYPE,
  type ExtAuthzConfig,
  type ExtAuthzHttpService,
  type HeaderList,
} from "./ext-authz-config.ts";
import { type CheckAnswer, GrpcAuthorizationClients } from "./ext-authz-grpc.ts";
import type { ConnectionState } from "./hcm-types.ts";
import type { RouterDeps } from "./router-types.ts";
import { upstreamTarget } from "./upstream-target.ts";
import type {
  UpstreamAttempt,
  UpstreamRequestHead,
  UpstreamTarget,
  WireHeaders,
} from "./upstream-types.ts";

export const isExtAuthzFilter = (filter: HttpFilter): boolean =>
  filter.typeUrl.endsWith(`/${EXT_AUTHZ_TYPE}`) || filter.typeUrl === EXT_AUTHZ_TYPE;

/** The authorizer's response body is read up to this many bytes; more is an error. */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** Envoy's details for %RESPONSE_CODE_DETAILS%. */
const DENIED_DETAILS = "ext_authz_denied";
const ERROR_DETAILS = "ext_authz_error";
/** What Envoy always sends an HTTP authorizer besides allowed_headers. */
const ALWAYS_SENT = new Set(["host", "authorization", "content-length"]);
/** Added to a denial's client headers whenever allowed_client_headers is set. */
const ALWAYS_TO_CLIENT = ["status", "content-length", "www-authenticate", "location", "path"];
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "te"]);

/** The request as the check sees it. */
export interface ExtAuthzRequest {
  method: string;
  authority: string;
  path: string;
  scheme: string;
  headers: MutableHeaders;
  connection: ConnectionState | undefined;
  downstream: Pick<Downstream, "info">;
}

export type ExtAuthzOutcome =
  | {
      allowed: true;
      /** Headers to set on (or, `append`, add to) the upstream request. */
      upstream: Array<{ name: string; value: string; append: boolean }>;
      removeFromUpstream: string[];
      /** Headers for the client's response. */
      downstream: Array<[string, string]>;
    }
  | { allowed: false; reply: LocalReplyRequest };

type HttpAnswer = { status: number; headers: WireHeaders; body: string } | { error: string };

const matches = (list: HeaderList | undefined, name: string): boolean =>
  list?.some((m) => m.match(name)) ?? false;

const first = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? value.join(",") : value;

export class ExtAuthzFilter {
  private readonly config: ExtAuthzConfig;
  private readonly deps: RouterDeps;
  private readonly statBase: string;
  private readonly grpc: GrpcAuthorizationClients | undefined;

  constructor(config: ExtAuthzConfig, deps: RouterDeps, hcmStatPrefix: string) {
    this.config = config;
    this.deps = deps;
    this.statBase = `http.${hcmStatPrefix}.ext_authz.${config.statPrefix}`;
    this.grpc = config.service.kind === "grpc" ? new GrpcAuthorizationClients() : undefined;
  }

  /** filter_enabled_metadata: skip the check unless the stream's dynamic metadata matches. */
  enabled(dynamicMetadata: Readonly<Record<string, Record<string, unknown>>>): boolean {
    const m = this.config.filterEnabledMetadata;
    if (!m) return true;
    let value: unknown = dynamicMetadata[m.filter];
    for (const key of m.path) {
      value =
        typeof value === "object" && value !== null
          ? (value as Record<string, unknown>)[key]
          : undefined;
    }
    return m.value(value) !== m.invert;
  }

  /** Never rejects: every failure is an outcome (an error under the filter's failure mode). */
  async check(request: ExtAuthzRequest): Promise<ExtAuthzOutcome> {
    let outcome: ExtAuthzOutcome | { error: string };
    try {
      outcome =
        this.config.service.kind === "http"
          ? await this.checkHttp(this.config.service, request)
          : await this.checkGrpc(request);
    } catch (error) {
      outcome = { error: error instanceof Error ? error.message : String(error) };
    }
    if ("error" in outcome) return this.failed();
    this.count(outcome.allowed ? "ok" : "denied");
    return outcome;
  }

  close(): void {
    this.grpc?.close();
    this.config.regexes.release();
  }

  private count(name: string): void {
    this.deps.stats.counter(`${this.statBase}${name}`).inc();
  }

  private failed(): ExtAuthzOutcome {
    this.count("error");
    if (this.config.failureModeAllow) {
      this.count("failure_mode_allowed");
      const upstream = this.config.failureModeAllowHeaderAdd
        ? [{ name: "x-envoy-auth-failure-mode-allowed", value: "true", append: false }]
        : [];
      return { allowed: true, upstream, removeFromUpstream: [], downstream: [] };
    }
    return {
      allowed: false,
      reply: { status: this.config.statusOnError, flag: "UAEX", details: ERROR_DETAILS },
    };
  }

  /** The request headers the authorizer may see (allowed_headers, minus disallowed_headers). */
  private checkHeaders(request: ExtAuthzRequest, always: ReadonlySet<string>): WireHeaders {
    const { allowedHeaders } = this.config.service;
    const out: WireHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value === undefined || name.startsWith(":") || HOP_BY_HOP.has(name)) continue;
      const allowed = !allowedHeaders || always.has(name) || matches(allowedHeaders, name);
      if (allowed && !matches(this.config.disallowedHeaders, name)) out[name] = value;
    }
    return out;
  }

  private pick(clusterName: string) {
    const cluster = this.deps.clusters.cluster(clusterName);
    const picked = this.deps.clusters.pick(clusterName);
    if (!cluster || !("host" in picked)) return undefined;
    return { cluster, host: picked.host };
  }

  private async checkHttp(
    service: ExtAuthzHttpService,
    request: ExtAuthzRequest,
  ): Promise<ExtAuthzOutcome | { error: string }> {
    const picked = this.pick(service.cluster);
    if (!picked) return { error: `no host in cluster ${service.cluster}` };
    const headers = this.checkHeaders(request, ALWAYS_SENT);
    headers["content-length"] = "0";
    for (const [name, value] of service.headersToAdd) headers[name] = value;
    const stats = clusterStats(this.deps.stats, service.cluster);
    const target = upstreamTarget(
      picked.cluster,
      picked.host,
      "http1",
      this.deps.sourceAddress,
      stats,
      this.deps.upstreamTls,
      request.authority,
    );
    const head = {
      method: request.method,
      path: service.pathPrefix + request.path,
      authority: request.authority,
      scheme: "http",
      headers,
    };
    const answer = await new Promise<HttpAnswer>((resolve) => {
      let done = false;
      const finish = (value: HttpAnswer) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(value);
      };
      let attempt: UpstreamAttempt | undefined;
      const timer = setTimeout(() => {
        attempt?.abort();
        finish({ error: "timeout" });
      }, service.timeoutMs);
      // A pool that throws (a closed pool, a full circuit breaker) is an error, not a crash.
      try {
        attempt = this.startCheck(target, head, finish, () => attempt?.abort());
        attempt.end();
      } catch (error) {
        finish({ error: error instanceof Error ? error.message : String(error) });
      }
    });
    if ("error" in answer) return answer;
    const pairs = Object.entries(answer.headers).flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) => [name, v] as [string, string]),
    );
    // Envoy's raw HTTP client: 200 is OK, any other status is the authorizer's denial.
    if (answer.status === 200) {
      const upstream = pairs.flatMap(([name, value]) =>
        matches(service.allowedUpstreamHeaders, name)
          ? [{ name, value, append: false }]
          : matches(service.allowedUpstreamHeadersToAppend, name)
            ? [{ name, value, append: true }]
            : [],
      );
      const downstream = pairs.filter(([name]) =>
        matches(service.allowedClientHeadersOnSuccess, name),
      );
      return { allowed: true, upstream, removeFromUpstream: [], downstream };
    }
    const toClient = pairs.filter(([name]) =>
      service.allowedClientHeaders
        ? ALWAYS_TO_CLIENT.includes(name) || matches(service.allowedClientHeaders, name)
        : name !== "host" && !HOP_BY_HOP.has(name),
    );
    return this.denied(answer.status, toClient, answer.body);
  }

  /** One check request on the pools; `finish` gets the authorizer's answer or the failure. */
  private startCheck(
    target: UpstreamTarget,
    head: UpstreamRequestHead,
    finish: (answer: HttpAnswer) => void,
    abort: () => void,
  ): UpstreamAttempt {
    return this.deps.pools.start(target, head, {
      onReset: (reason) => finish({ error: reason }),
      onResponse: (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.body.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            abort();
            finish({ error: "authorizer response too large" });
          } else chunks.push(chunk);
        });
        response.body.on("error", () => finish({ error: "authorizer reset" }));
        response.body.on("end", () =>
          finish({
            status: response.status,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    });
  }

  private denied(status: number, headers: Array<[string, string]>, body: string): ExtAuthzOutcome {
    const reply: Record<string, string | string[]> = {};
    for (const [name, value] of headers) {
      if (name === "content-length" || name === "status" || HOP_BY_HOP.has(name)) continue;
      const prev = reply[name];
      reply[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [prev]), value];
    }
    return {
      allowed: false,
      reply: {
        // Envoy turns a status it cannot send into 403.
        status: status >= 200 && status <= 599 ? status : 403,
        flag: "UAEX",
        details: DENIED_DETAILS,
        body,
        headers: reply,
      },
    };
  }

  private async checkGrpc(request: ExtAuthzRequest): Promise<ExtAuthzOutcome | { error: string }> {
    const service = this.config.service;
    if (service.kind !== "grpc" || !this.grpc) return { error: "not a gRPC service" };
    const picked = this.pick(service.cluster);
    if (!picked) return { error: `no host in cluster ${service.cluster}` };
    const info = request.connection?.info;
    const answer: CheckAnswer = await this.grpc.check(
      { address: picked.host.address, port: picked.host.port, authority: service.authority },
      {
        source: info ? { ip: info.sourceIp, port: info.sourcePort } : undefined,
        destination: info ? { ip: info.destinationIp, port: info.destinationPort } : undefined,
        principal: info?.tls?.uriSans[0] ?? "",
        method: request.method,
        path: request.path,
        host: request.authority,
        scheme: request.scheme,
        protocol: request.downstream.info.protocol ?? "",
        headers: Object.fromEntries(
          Object.entries(this.checkHeaders(request, new Set())).map(([k, v]) => [k, first(v)!]),
        ),
      },
      { timeoutMs: service.timeoutMs, metadata: service.initialMetadata },
    );
    if (answer.kind === "error") return { error: answer.message };
    if (answer.kind === "ok")
      return {
        allowed: true,
        upstream: answer.headers,
        removeFromUpstream: answer.headersToRemove,
        downstream: answer.responseHeaders,
      };
    return this.denied(answer.status, answer.headers, answer.body);
  }
}

/**
 * An allowed check's effects: header mutations on the request forwarded upstream, and the
 * authorizer's response headers on whatever answer the client gets.
 */
export function applyAllowedOutcome(
  outcome: Extract<ExtAuthzOutcome, { allowed: true }>,
  headers: MutableHeaders,
  downstream: Pick<Downstream, "mutateResponseHeaders">,
): void {
  if (outcome.downstream.length > 0) {
    const mutate = downstream.mutateResponseHeaders;
    downstream.mutateResponseHeaders = (response) => {
      for (const [name, value] of outcome.downstream) response[name] = value;
      mutate?.(response);
    };
  }
  for (const name of outcome.removeFromUpstream) {
    // Envoy never lets the authorizer remove pseudo headers or Host.
    if (!name.startsWith(":") && name !== "host") delete headers[name.toLowerCase()];
  }
  for (const { name, value, append } of outcome.upstream) {
    const key = name.toLowerCase();
    if (key.startsWith(":") || key === "host") continue;
    const prev = headers[key];
    if (!append || prev === undefined) headers[key] = value;
    else headers[key] = [...(Array.isArray(prev) ? prev : [prev]), value];
  }
}

/** The compiled ext_authz filters of a chain, by filter. */
export function compileExtAuthzFilters(
  filters: readonly HttpFilter[],
  deps: RouterDeps,
  hcmStatPrefix: string,
): Map<HttpFilter, ExtAuthzFilter> {
  const out = new Map<HttpFilter, ExtAuthzFilter>();
  for (const filter of filters) {
    if (!isExtAuthzFilter(filter)) continue;
    // Checked when the listener was accepted; the same input decodes the same way.
    const decoded = decodeExtAuthz(filter.config);
    if (decoded.ok) out.set(filter, new ExtAuthzFilter(decoded.config, deps, hcmStatPrefix));
  }
  return out;
}

export function releaseExtAuthzFilters(compiled: Map<HttpFilter, ExtAuthzFilter>): void {
  for (const filter of compiled.values()) filter.close();
  compiled.clear();
}
