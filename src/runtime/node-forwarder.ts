// The local runtime's node-level forwarder — kube-proxy's job for pods without a sidecar. Such a
// pod's HTTP_PROXY is `http://<podIP>:15001` (free on its IP: no sidecar listens there). The
// forwarder reads one request head there — absolute-form `GET http://svc/path HTTP/1.1` (curl,
// Go, Python, Node's http) or `CONNECT svc:80` (Node's fetch) — resolves the Service to a ready
// endpoint, connects from the pod's own IP and from then on relays bytes unchanged, so whatever
// the endpoint does (a STRICT sidecar resetting a plaintext client) reaches the client as is.
//
// Deliberate differences from a cluster:
// - A name that is no Service is answered 502 with a plain-text body saying so, where a cluster
//   gives a DNS failure; a Service without a ready endpoint is answered 503 (a cluster refuses
//   the connection); a port the Service lacks is answered 502 (a cluster lets it time out).
// - Only the request line of the FIRST absolute-form request is rewritten to origin-form: later
//   requests on a kept-alive connection go, unchanged (still absolute-form, which HTTP/1.1
//   servers must accept), to the same endpoint, whatever host they name.
import { createServer, isIP, type Server, type Socket } from "node:net";
import type { Logger } from "../base/logger.ts";
import { connectAndRelay, resetSocket } from "./relay.ts";
import type { ServiceResolution } from "./service-resolver.ts";

/** Istio's outbound port; the pod's HTTP_PROXY names it. */
export const NODE_FORWARDER_PORT = 15001;
/** Request heads longer than this are refused with 431. */
export const MAX_HEAD_BYTES = 64 * 1024;

/** `resolveServiceEndpoints` over the live snapshot: (client namespace, host as written, Service port). */
export type ResolveService = (namespace: string, host: string, port: number) => ServiceResolution;

export interface NodeForwarderOptions {
  resolve: ResolveService;
  logger: Logger;
  /** Port bound on each pod IP (default 15001). */
  port?: number;
}

export interface NodeForwarder {
  /**
   * Forwards for the pod at `podIP` (binds `podIP:15001`); resolves once listening, rejects with
   * the listen error (EADDRINUSE …). For a pod already listening it only updates the namespace.
   */
  listen(podIP: string, namespace: string): Promise<void>;
  /** Stops listening on `podIP` and resets that pod's open connections (the pod is gone). */
  unlisten(podIP: string): Promise<void>;
  /** Stops every pod's listener and resets every connection. */
  close(): Promise<void>;
}

/** A request head read on the forwarder port. */
export type ProxyRequest =
  | { kind: "connect"; host: string; port: number }
  /** `head` is the whole head with its request line rewritten to origin-form (latin1). */
  | { kind: "absolute"; host: string; port: number; head: string };

export type ParsedHead = { ok: true; request: ProxyRequest } | { ok: false; reason: string };

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const REQUEST_LINE = new RegExp(`^(${TOKEN}) ([^ ]+) (HTTP/1\\.[01])$`);
const METHOD_PREFIX = new RegExp(`^(?:${TOKEN})?(?: |$)`);

/** True when `text` holds a control character (none may appear in a request line). */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** host[:port] with optional userinfo; IPv6 literals in brackets. */
function parseAuthority(
  authority: string,
  defaultPort: number | undefined,
): { host: string; port: number } | undefined {
  const hostPort = authority.slice(authority.lastIndexOf("@") + 1);
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d{0,5}))?$/.exec(hostPort);
  if (!match) return undefined;
  const host = (match[1] ?? match[2]!).toLowerCase();
  if (match[1] !== undefined && isIP(host) !== 6) return undefined;
  const port = match[3] ? Number(match[3]) : defaultPort;
  if (port === undefined || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/**
 * Parses a complete request head (latin1, ending in CRLF CRLF) sent to the forwarder:
 * `CONNECT host:port` or an absolute-form `http://` request, rewritten to origin-form.
 */
export function parseProxyHead(head: string): ParsedHead {
  const lineEnd = head.indexOf("\r\n");
  const line = head.slice(0, lineEnd);
  const match = REQUEST_LINE.exec(line);
  if (!match || hasControl(line)) return { ok: false, reason: "malformed request line" };
  const method = match[1]!;
  const target = match[2]!;
  const version = match[3]!;
  if (method === "CONNECT") {
    const authority = parseAuthority(target, undefined);
    if (!authority) return { ok: false, reason: "CONNECT needs a host:port target" };
    return { ok: true, request: { kind: "connect", ...authority } };
  }
  if (!/^http:\/\//i.test(target))
    return { ok: false, reason: "this is a proxy: send absolute-form http:// requests or CONNECT" };
  const rest = target.slice("http://".length);
  const pathStart = rest.search(/[/?#]/);
  const authority = parseAuthority(pathStart < 0 ? rest : rest.slice(0, pathStart), 80);
  if (!authority) return { ok: false, reason: "bad host in request target" };
  let path = pathStart < 0 ? "/" : rest.slice(pathStart).replace(/#.*$/, "");
  if (!path.startsWith("/")) path = `/${path}`;
  return {
    ok: true,
    request: {
      kind: "absolute",
      ...authority,
      head: `${method} ${path} ${version}${head.slice(lineEnd)}`,
    },
  };
}

export type HeadScan =
  | { kind: "more" }
  | { kind: "refuse"; status: 400 | 431; reason: string }
  /** The head is complete: `end` is the offset just after its CRLF CRLF. */
  | { kind: "head"; end: number };

/**
 * Where a request head being received stands. Refuses early what cannot become a request line
 * (so a TLS ClientHello is answered, not left waiting) and heads over MAX_HEAD_BYTES.
 * `searchFrom` skips bytes already searched for the head's end.
 */
export function scanHead(received: string, searchFrom = 0): HeadScan {
  const lineEnd = received.indexOf("\r\n");
  const line = lineEnd < 0 ? received.replace(/\r$/, "") : received.slice(0, lineEnd);
  if (hasControl(line) || !METHOD_PREFIX.test(line) || (lineEnd >= 0 && !REQUEST_LINE.test(line)))
    return { kind: "refuse", status: 400, reason: "malformed request line" };
  const headEnd = received.indexOf("\r\n\r\n", searchFrom);
  const size = headEnd < 0 ? received.length : headEnd + 4;
  if (size > MAX_HEAD_BYTES)
    return {
      kind: "refuse",
      status: 431,
      reason: `request head longer than ${MAX_HEAD_BYTES} bytes`,
    };
  return headEnd < 0 ? { kind: "more" } : { kind: "head", end: headEnd + 4 };
}

const REASONS: Record<number, string> = {
  400: "Bad Request",
  431: "Request Header Fields Too Large",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** Answers `status` with a plain-text body and half-closes; later client bytes are discarded. */
function reply(socket: Socket, status: number, body: string): void {
  if (socket.destroyed) return;
  const text = `crema node forwarder: ${body}\n`;
  socket.resume();
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

type Destination =
  | { ok: true; address: string; port: number }
  | { ok: false; status: number; body: string };

function destinationOf(
  resolve: ResolveService,
  namespace: string,
  host: string,
  port: number,
): Destination {
  const result = resolve(namespace, host, port);
  switch (result.kind) {
    case "unknown-host":
      // kube-proxy leaves traffic to pod IPs alone: connect to the address as written.
      if (isIP(host) !== 0) return { ok: true, address: host, port };
      return {
        ok: false,
        status: 502,
        body: `"${host}" does not resolve: no Kubernetes Service by that name from namespace "${namespace}"`,
      };
    case "unknown-port":
      return { ok: false, status: 502, body: `Service ${result.hostname} has no port ${port}` };
    case "no-ready-endpoints":
      return { ok: false, status: 503, body: `no ready endpoint for ${result.hostname}:${port}` };
    case "endpoints": {
      const pick = result.endpoints[Math.floor(Math.random() * result.endpoints.length)]!;
      return { ok: true, address: pick.address, port: pick.port };
    }
  }
}

interface PodListener {
  namespace: string;
  readonly server: Server;
  readonly ready: Promise<void>;
  /** Client and upstream sockets, reset by unlisten. */
  readonly sockets: Set<Socket>;
}

export function startNodeForwarder(options: NodeForwarderOptions): NodeForwarder {
  const { resolve, logger } = options;
  const listenPort = options.port ?? NODE_FORWARDER_PORT;
  const pods = new Map<string, PodListener>();
  /** Listeners being closed, so that listening again on the same IP waits for the port. */
  const closing = new Map<string, Promise<void>>();

  const track = (pod: PodListener, socket: Socket): void => {
    pod.sockets.add(socket);
    socket.once("close", () => pod.sockets.delete(socket));
  };

  /** Connects from the pod's IP and relays once connected; `rest` (bytes after the head) follows. */
  function forward(
    client: Socket,
    pod: PodListener,
    podIP: string,
    request: ProxyRequest,
    rest: Buffer,
  ): void {
    let destination: Destination;
    try {
      destination = destinationOf(resolve, pod.namespace, request.host, request.port);
    } catch (error) {
      logger.error({ err: error, host: request.host }, "node forwarder: resolve failed");
      destination = { ok: false, status: 502, body: `cannot resolve "${request.host}"` };
    }
    if (!destination.ok) {
      reply(client, destination.status, destination.body);
      return;
    }
    const { address, port } = destination;
    const upstream = connectAndRelay({
      client,
      target: { host: address, port, localAddress: podIP },
      backlog: [
        ...(request.kind === "absolute" ? [Buffer.from(request.head, "latin1")] : []),
        ...(rest.length > 0 ? [rest] : []),
      ],
      onConnect: () => {
        if (request.kind === "connect") client.write("HTTP/1.1 200 Connection established\r\n\r\n");
      },
      onConnectError: (error) => {
        logger.debug(
          { pod: podIP, host: request.host, upstream: `${address}:${port}`, code: error.code },
          "node forwarder: upstream connect failed",
        );
        if (request.kind === "connect")
          reply(
            client,
            502,
            `cannot connect to ${address}:${port}: ${error.code ?? error.message}`,
          );
        // What the client would see in a cluster: the connection it opened is refused.
        else resetSocket(client);
      },
    });
    track(pod, upstream);
  }

  /** Reads the request head of a new client connection, then forwards or refuses it. */
  function serve(client: Socket, pod: PodListener, podIP: string): void {
    track(pod, client);
    client.on("error", ignore);
    let received = "";
    let searchFrom = 0;
    const stop = (): void => {
      client.off("data", onData);
      client.off("end", onEnd);
    };
    const onEnd = (): void => {
      stop();
      if (received.length > 0) reply(client, 400, "connection ended inside the request head");
      else client.end();
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.toString("latin1");
      const scan = scanHead(received, searchFrom);
      if (scan.kind === "more") {
        searchFrom = Math.max(0, received.length - 3);
        return;
      }
      stop();
      client.pause();
      if (scan.kind === "refuse") {
        reply(client, scan.status, scan.reason);
        return;
      }
      const parsed = parseProxyHead(received.slice(0, scan.end));
      if (!parsed.ok) {
        reply(client, 400, parsed.reason);
        return;
      }
      const rest = Buffer.from(received.slice(scan.end), "latin1");
      forward(client, pod, podIP, parsed.request, rest);
    };
    client.on("data", onData);
    client.on("end", onEnd);
  }

  async function shutDown(pod: PodListener): Promise<void> {
    await pod.ready.catch(() => {});
    for (const socket of pod.sockets) resetSocket(socket);
    if (pod.server.listening) await new Promise<void>((done) => pod.server.close(() => done()));
  }

  function unlisten(podIP: string): Promise<void> {
    const pod = pods.get(podIP);
    if (!pod) return closing.get(podIP) ?? Promise.resolve();
    pods.delete(podIP);
    const stopped = shutDown(pod).finally(() => {
      if (closing.get(podIP) === stopped) closing.delete(podIP);
    });
    closing.set(podIP, stopped);
    return stopped;
  }

  return {
    async listen(podIP, namespace) {
      const existing = pods.get(podIP);
      if (existing) {
        existing.namespace = namespace;
        return existing.ready;
      }
      const server = createServer({ allowHalfOpen: true }, (socket) => serve(socket, pod, podIP));
      const previous = closing.get(podIP) ?? Promise.resolve();
      const ready = previous.then(
        () =>
          new Promise<void>((done, fail) => {
            server.once("error", fail);
            server.listen({ host: podIP, port: listenPort }, () => {
              server.off("error", fail);
              server.on("error", (error) =>
                logger.warn({ err: error, pod: podIP }, "node forwarder: listener error"),
              );
              done();
            });
          }),
      );
      const pod: PodListener = { namespace, server, ready, sockets: new Set() };
      pods.set(podIP, pod);
      try {
        await ready;
      } catch (error) {
        if (pods.get(podIP) === pod) pods.delete(podIP);
        logger.warn({ err: error, pod: podIP }, "node forwarder: cannot listen");
        throw error;
      }
      logger.debug({ pod: podIP, namespace, port: listenPort }, "node forwarder: listening");
    },
    unlisten,
    async close() {
      await Promise.all([...pods.keys()].map(unlisten));
    },
  };
}

function ignore(): void {}
