// Runs one application prober the way pilot-agent does for the kubelet: an HTTP(S) GET, a TCP
// connect or a gRPC health check against the app, turned into the status the kubelet sees —
// the app's own status for HTTP (any 3xx becomes 200), 200 or 500 for TCP and gRPC, 500 when
// the app cannot be reached or does not answer in time.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { nodeHttp } from "../../base/node-http.ts";
import type { AppProber, HttpGetProber } from "./app-probers.ts";
import { checkGrpcHealth } from "./grpc-health-probe.ts";

const { request: httpRequest } = nodeHttp;

/** pilot-agent returns at most this much of the app's body. */
export const MAX_PROBE_BODY_BYTES = 10 * 1024;
/** The kubelet's (and so pilot-agent's) redirect limit. */
const MAX_REQUESTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Request headers that belong to the kubelet's connection to the agent, not to the probe. */
const HOP_BY_HOP = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
  "content-length",
  "expect",
]);

export interface ProbeOutcome {
  /** What the status server answers. */
  readonly status: number;
  /** The app's body (HTTP, at most MAX_PROBE_BODY_BYTES) or why the probe failed. */
  readonly body: Buffer | string;
  /** Set when the probe failed without an answer from the app (for the log). */
  readonly failure?: string;
}

/** The request the kubelet sent to the agent's status port. */
export interface IncomingProbe {
  readonly headers: IncomingHttpHeaders;
  /** The status server's bound port: a Host naming it is rewritten to the app's port. */
  readonly statusPort: number;
}

/** Where the probes go: the address the sidecar forwards inbound traffic to. */
export interface ProbeContext {
  readonly appAddress: string;
  readonly incoming: IncomingProbe;
}

const failed = (reason: string): ProbeOutcome => ({
  status: 500,
  body: `${reason}\n`,
  failure: reason,
});

function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits `host:port`, `[v6]:port` or `host`; the port is undefined when absent. */
function splitHostPort(text: string): { host: string; port: string | undefined } {
  const match = /^(\[[^\]]*\]|[^:]*):(\d*)$/.exec(text);
  return match ? { host: match[1]!, port: match[2] } : { host: text, port: undefined };
}

/**
 * The Host the app sees: the probe's own `Host` header if it has one, else the kubelet's Host
 * with the status port swapped for the app's (pilot-agent's rule), else the app's address.
 */
export function probeHost(prober: HttpGetProber, context: ProbeContext): string {
  const own = prober.httpHeaders.find((h) => h.name.toLowerCase() === "host");
  if (own) return own.value;
  const incoming = context.incoming.headers.host;
  if (!incoming) return joinHostPort(context.appAddress, prober.port);
  const { host, port } = splitHostPort(incoming);
  return port !== undefined && Number(port) === context.incoming.statusPort
    ? joinHostPort(host, prober.port)
    : incoming;
}

/**
 * The headers sent to the app: the probe's `httpHeaders` (the kubelet sends them to the agent
 * too, so a local caller need not), overridden by the kubelet's request headers (pilot-agent
 * forwards them all: User-Agent `kube-probe/…`, Accept …) minus those of its own connection.
 * Like the kubelet, the probe does not keep its connection alive.
 */
export function probeHeaders(prober: HttpGetProber, context: ProbeContext): OutgoingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  for (const { name, value } of prober.httpHeaders) {
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key)) continue;
    const previous = headers[key];
    headers[key] = previous === undefined ? value : [previous, value].flat();
  }
  for (const [key, value] of Object.entries(context.incoming.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value;
  }
  return { ...headers, connection: "close" };
}

interface Answer {
  status: number;
  location: string | undefined;
  body: Buffer;
}

function exchange(url: URL, headers: OutgoingHttpHeaders, signal: AbortSignal): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const options = {
      method: "GET",
      headers,
      agent: false as const,
      signal,
      // The kubelet skips certificate checks for HTTPS probes; so does pilot-agent. No SNI: the
      // URL names an IP, as the kubelet's does.
      rejectUnauthorized: false,
      servername: "",
    };
    const req = url.protocol === "https:" ? httpsRequest(url, options) : httpRequest(url, options);
    req.on("error", reject);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        res.destroy();
        const location = res.headers.location;
        resolve({ status: res.statusCode ?? 0, location, body: Buffer.concat(chunks) });
      };
      res.on("data", (chunk: Buffer) => {
        if (size >= MAX_PROBE_BODY_BYTES) return;
        const part = chunk.subarray(0, MAX_PROBE_BODY_BYTES - size);
        chunks.push(part);
        size += part.length;
        if (size >= MAX_PROBE_BODY_BYTES) done();
      });
      res.once("end", done);
      res.on("error", reject);
    });
    req.end();
  });
}

function reasonOf(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
    return `no answer within ${timeoutMs} ms`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * GETs the prober's path from the app, following redirects to the same host (at most 10
 * requests) as the kubelet does; a redirect elsewhere, or one it does not follow, passes as 200.
 */
async function probeHttpGet(prober: HttpGetProber, context: ProbeContext): Promise<ProbeOutcome> {
  const scheme = prober.scheme === "HTTPS" ? "https" : "http";
  let url: URL;
  try {
    url = new URL(`${scheme}://${joinHostPort(context.appAddress, prober.port)}${prober.path}`);
  } catch {
    return failed(`cannot make a URL of the probe's path ${JSON.stringify(prober.path)}`);
  }
  const firstHost = url.hostname;
  const headers = probeHeaders(prober, context);
  let host = probeHost(prober, context);
  const signal = AbortSignal.timeout(prober.timeoutMs);
  try {
    for (let requests = 1; ; requests++) {
      const answer = await exchange(url, { ...headers, host }, signal);
      const redirect = REDIRECT_STATUSES.has(answer.status) ? answer.location : undefined;
      if (redirect === undefined) {
        if (answer.status >= 300 && answer.status < 400) return { status: 200, body: "" };
        return { status: answer.status, body: answer.body };
      }
      const next = new URL(redirect, url);
      if (next.hostname !== firstHost) return { status: 200, body: "" };
      if (requests >= MAX_REQUESTS) return failed(`stopped after ${MAX_REQUESTS} redirects`);
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        return failed(`cannot follow a redirect to ${next.protocol} ${next.href}`);
      }
      // A Host of the probe's own survives a relative redirect only (Go's client's rule).
      if (URL.canParse(redirect)) host = next.host;
      url = next;
    }
  } catch (error) {
    return failed(`probe to ${url.href} failed: ${reasonOf(error, prober.timeoutMs)}`);
  }
}

function probeTcpSocket(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const target = joinHostPort(host, port);
    const socket = connect({ host, port });
    const timer = setTimeout(
      () => finish(failed(`no connection to ${target} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    function finish(outcome: ProbeOutcome): void {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    }
    socket.once("connect", () => finish({ status: 200, body: "" }));
    socket.on("error", (error) => finish(failed(`cannot connect to ${target}: ${error.message}`)));
  });
}

/** Performs `prober` against the app and says what the kubelet gets back. Never rejects. */
export async function probeApp(prober: AppProber, context: ProbeContext): Promise<ProbeOutcome> {
  switch (prober.kind) {
    case "httpGet":
      return probeHttpGet(prober, context);
    case "tcpSocket":
      return probeTcpSocket(context.appAddress, prober.port, prober.timeoutMs);
    case "grpc": {
      const userAgent = context.incoming.headers["user-agent"];
      const result = await checkGrpcHealth({
        host: context.appAddress,
        port: prober.port,
        service: prober.service,
        timeoutMs: prober.timeoutMs,
        ...(userAgent ? { userAgent } : {}),
      });
      return result === true ? { status: 200, body: "" } : failed(result);
    }
  }
}
