// The control plane's HTTP endpoints (--http-address, Istio's 15014): self-describing debug
// handlers under /debug, readiness, and Prometheus metrics. Read-only; every handler returns JSON.
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../base/logger.ts";
import { nodeHttp } from "../base/node-http.ts";

const { createServer } = nodeHttp;

export interface DebugHandler {
  path: string;
  description: string;
  /** GET (default) for read-only endpoints; POST for the configuration API. */
  method?: "GET" | "POST";
  /** Returns the JSON body, or undefined for 404 (e.g. an unknown proxy). */
  handle(query: URLSearchParams, body: string): unknown | Promise<unknown>;
  /** The HTTP status for a result (default 200). */
  status?(result: unknown): number;
}

/** Request bodies (configuration given to POST endpoints) are capped like config files. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export interface DebugServerOptions {
  address: string;
  handlers: readonly DebugHandler[];
  metrics: Registry;
  ready: () => boolean;
  logger: Logger;
}

export interface DebugServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, type = "application/json"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

export function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "");
  return { host: host || "127.0.0.1", port: Number(address.slice(at + 1)) };
}

export async function startDebugServer(options: DebugServerOptions): Promise<DebugServer> {
  const byPath = new Map(options.handlers.map((h) => [h.path, h]));
  const list: DebugHandler = {
    path: "/debug/list",
    description: "Every debug endpoint with what it shows.",
    handle: () =>
      [...byPath.values(), list].map(({ path, description }) => ({ path, description })),
  };
  byPath.set(list.path, list);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const handler = byPath.get(url.pathname);
    const method = handler?.method ?? "GET";
    const allowed =
      method === "GET" ? req.method === "GET" || req.method === "HEAD" : req.method === method;
    if (handler && !allowed)
      return send(res, 405, JSON.stringify({ error: `use ${method} for ${url.pathname}` }));
    if (!handler && req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, '{"error":"only GET"}');
    if (url.pathname === "/ready")
      return options.ready()
        ? send(res, 200, "ready\n", "text/plain")
        : send(res, 503, "not ready\n", "text/plain");
    if (url.pathname === "/metrics" || url.pathname === "/stats/prometheus") {
      return send(res, 200, await options.metrics.metrics(), options.metrics.contentType);
    }
    if (!handler)
      return send(
        res,
        404,
        JSON.stringify({ error: `no endpoint ${url.pathname}; see /debug/list` }),
      );
    const requestBody = method === "POST" ? await readBody(req) : "";
    if (requestBody === undefined)
      return send(res, 413, JSON.stringify({ error: `body over ${MAX_BODY_BYTES} bytes` }));
    const body = await handler.handle(url.searchParams, requestBody);
    if (body === undefined)
      return send(
        res,
        404,
        JSON.stringify({ error: "not found", query: Object.fromEntries(url.searchParams) }),
      );
    const status = handler.status?.(body) ?? 200;
    send(res, status, `${JSON.stringify(body, null, 2)}\n`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      options.logger.error({ err: error, url: req.url }, "debug handler failed");
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: String(error) }));
      else res.destroy();
    });
  });
  const { host, port } = splitHostPort(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
