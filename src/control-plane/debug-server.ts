// The control plane's HTTP endpoints (--http-address, Istio's 15014): self-describing debug
// handlers under /debug, readiness, and Prometheus metrics. Read-only; every handler returns JSON.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../base/logger.ts";

export interface DebugHandler {
  path: string;
  description: string;
  /** Returns the JSON body, or undefined for 404 (e.g. an unknown proxy). */
  handle(query: URLSearchParams): unknown | Promise<unknown>;
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
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, '{"error":"only GET"}');
    if (url.pathname === "/ready")
      return options.ready()
        ? send(res, 200, "ready\n", "text/plain")
        : send(res, 503, "not ready\n", "text/plain");
    if (url.pathname === "/metrics" || url.pathname === "/stats/prometheus") {
      return send(res, 200, await options.metrics.metrics(), options.metrics.contentType);
    }
    const handler = byPath.get(url.pathname);
    if (!handler)
      return send(
        res,
        404,
        JSON.stringify({ error: `no endpoint ${url.pathname}; see /debug/list` }),
      );
    const body = await handler.handle(url.searchParams);
    if (body === undefined)
      return send(
        res,
        404,
        JSON.stringify({ error: "not found", query: Object.fromEntries(url.searchParams) }),
      );
    send(res, 200, `${JSON.stringify(body, null, 2)}\n`);
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
